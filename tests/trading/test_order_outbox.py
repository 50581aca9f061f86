"""The owner-notified marker on PostgreSQL: one sender wins, a failed send gives it back, the
outbox lists only final orders nobody told (after a grace), and a born-leased order is not
claimable by a claimer until its lease lapses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.storage import Database, Repositories


@pytest.fixture
async def repos(pg_url: str) -> AsyncIterator[tuple[Repositories, int, int]]:
    db = Database(pg_url, pool_size=5)
    await db.connect(attempts=1)
    await db.upgrade()
    repos = Repositories.build(db)
    user = await repos.users.get_or_create(7001, "owner")
    wallet = await repos.wallets.create(
        user.id, "So11111111111111111111111111111111111111112",
        SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "main",
    )  # fmt: skip
    try:
        yield repos, user.id, wallet.id
    finally:
        await db.dispose()


async def _order(
    repos: Repositories, user_id: int, wallet_id: int, key: str, **lease: object
) -> Order:
    order, _ = await repos.orders.create(
        user_id=user_id,
        wallet_id=wallet_id,
        kind=OrderKind.MANUAL,
        token_mint="So11111111111111111111111111111111111111112",
        side=OrderSide.BUY,
        amount=10_000_000,
        slippage_bps=100,
        priority_fee=FeeLevel.LOW,
        idempotency_key=key,
        **lease,  # type: ignore[arg-type]
    )
    return order


async def _finish(repos: Repositories, order: Order) -> Order:
    return await repos.orders.transition(order.id, order.status, OrderStatus.CANCELLED)


async def test_of_two_concurrent_senders_exactly_one_claims_the_marker(
    repos: tuple[Repositories, int, int],
) -> None:
    r, user_id, wallet_id = repos
    order = await _finish(r, await _order(r, user_id, wallet_id, "race"))
    now = datetime.now(UTC)
    wins = await asyncio.gather(*(r.orders.mark_notified(order.id, now) for _ in range(8)))
    assert sorted(wins) == [False] * 7 + [True]
    assert await r.orders.is_notified(order.id)


async def test_a_non_final_order_or_another_users_order_cannot_be_marked(
    repos: tuple[Repositories, int, int],
) -> None:
    r, user_id, wallet_id = repos
    order = await _order(r, user_id, wallet_id, "live")
    now = datetime.now(UTC)
    assert not await r.orders.mark_notified(order.id, now)  # still PENDING: nothing to tell yet
    await _finish(r, order)
    assert not await r.orders.mark_notified(order.id, now, user_id=user_id + 1)
    assert await r.orders.mark_notified(order.id, now, user_id=user_id)


async def test_the_outbox_lists_untold_final_orders_after_the_grace_and_a_failed_send_returns(
    repos: tuple[Repositories, int, int],
) -> None:
    r, user_id, wallet_id = repos
    untold = await _finish(r, await _order(r, user_id, wallet_id, "untold"))
    told = await _finish(r, await _order(r, user_id, wallet_id, "told"))
    await _order(r, user_id, wallet_id, "running")
    now = datetime.now(UTC)
    assert await r.orders.mark_notified(told.id, now)

    assert await r.orders.list_unnotified(untold.updated_at) == []  # within the grace
    later = now + timedelta(seconds=1)
    assert [o.id for o in await r.orders.list_unnotified(later)] == [untold.id]

    sent_at = datetime.now(UTC)
    assert await r.orders.mark_notified(untold.id, sent_at)
    assert await r.orders.list_unnotified(later) == []
    assert await r.orders.unmark_notified(untold.id, sent_at)  # the send failed: owed again
    assert [o.id for o in await r.orders.list_unnotified(later)] == [untold.id]


async def test_an_order_born_leased_is_left_to_its_creator_until_the_lease_lapses(
    repos: tuple[Repositories, int, int],
) -> None:
    r, user_id, wallet_id = repos
    born = await _order(r, user_id, wallet_id, "born", locked_by="creator", lease_s=60.0)
    loose = await _order(r, user_id, wallet_id, "loose")
    now = datetime.now(UTC)
    claimed = await r.orders.claim_batch("claimer", 30.0, now)
    assert [o.id for o in claimed] == [loose.id]
    assert await r.orders.claim(born.id, "creator", 60.0, now)  # its creator runs it
    later = now + timedelta(seconds=61)  # the creator died: both leases lapsed
    lapsed = await r.orders.claim_batch("claimer", 30.0, later)
    assert {o.id for o in lapsed} == {born.id, loose.id}
