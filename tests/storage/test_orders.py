"""Contract: the persisted order state machine on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sniper_bot.domain.entities import Order
from sniper_bot.domain.orders import (
    InvalidTransition,
    OrderError,
    OrderErrorType,
    OrderSide,
    OrderStatus,
)
from sniper_bot.storage import NotFound, Repositories, StaleOrderState, WalletBusy

from .conftest import ORDER_DEFAULTS, START, make_user, make_wallet

S = OrderStatus


async def new_order(repos: Repositories, key: str = "tap-1", telegram_id: int = 1001) -> Order:
    user = await make_user(repos, telegram_id)
    wallet = await repos.wallets.get_active(user.id) or await make_wallet(repos, user)
    order, created = await repos.orders.create(
        user_id=user.id, wallet_id=wallet.id, idempotency_key=key, **ORDER_DEFAULTS
    )
    assert created
    return order


async def test_create_stores_a_pending_order_with_its_inputs(repos: Repositories) -> None:
    order = await new_order(repos)
    assert order.status is S.PENDING
    assert order.side is OrderSide.BUY
    assert order.amount == 500_000_000
    assert order.attempts == 0
    assert order.signature is None
    assert await repos.orders.get(order.user_id, order.id) == order


async def test_same_idempotency_key_returns_the_existing_order(repos: Repositories) -> None:
    order = await new_order(repos)
    again, created = await repos.orders.create(
        user_id=order.user_id,
        wallet_id=order.wallet_id or 0,
        idempotency_key="tap-1",
        **{**ORDER_DEFAULTS, "amount": 1},
    )
    assert created is False
    assert again == order


async def test_concurrent_creates_with_one_key_make_one_order(repos: Repositories) -> None:
    user = await make_user(repos)
    wallet = await make_wallet(repos, user)
    results = await asyncio.gather(
        *(
            repos.orders.create(
                user_id=user.id, wallet_id=wallet.id, idempotency_key="double-tap", **ORDER_DEFAULTS
            )
            for _ in range(8)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({order.id for order, _ in results}) == 1
    assert len(await repos.orders.list_for_user(user.id)) == 1


async def test_the_same_key_for_two_users_makes_two_orders(repos: Repositories) -> None:
    first = await new_order(repos, "k", telegram_id=1)
    second = await new_order(repos, "k", telegram_id=2)
    assert first.id != second.id


async def test_an_order_on_another_users_wallet_is_refused(repos: Repositories) -> None:
    alice = await make_user(repos, 1)
    mallory = await make_user(repos, 2)
    wallet = await make_wallet(repos, alice)
    with pytest.raises(NotFound):
        await repos.orders.create(
            user_id=mallory.id, wallet_id=wallet.id, idempotency_key="x", **ORDER_DEFAULTS
        )


async def test_another_users_order_is_not_found(repos: Repositories) -> None:
    order = await new_order(repos, telegram_id=1)
    mallory = await make_user(repos, 2)
    assert await repos.orders.get(mallory.id, order.id) is None
    assert await repos.orders.list_for_user(mallory.id) == []


async def test_happy_path_records_signature_before_send_and_actuals_after(
    repos: Repositories,
) -> None:
    order = await new_order(repos)
    quoted = await repos.orders.transition(order.id, S.PENDING, S.QUOTED, quote={"outAmount": "9"})
    assert quoted.quote == {"outAmount": "9"}
    signed = await repos.orders.transition(
        order.id,
        S.QUOTED,
        S.SIGNED,
        signature="5ig",
        last_valid_block_height=123_456,
        signed_tx=b"\x01\x02signed",
    )
    assert (signed.signature, signed.last_valid_block_height) == ("5ig", 123_456)
    assert signed.signed_tx == b"\x01\x02signed"
    sent = await repos.orders.transition(order.id, S.SIGNED, S.SENT, attempts=1)
    done = await repos.orders.transition(
        order.id, S.SENT, S.CONFIRMED, in_amount=500_000_000, out_amount=42, fee_lamports=15_000
    )
    assert (done.in_amount, done.out_amount, done.fee_lamports) == (500_000_000, 42, 15_000)
    assert done.is_final
    assert done.updated_at > sent.updated_at > order.created_at
    assert await repos.orders.get_by_signature("5ig") == done


async def test_an_edge_the_state_machine_lacks_is_refused(repos: Repositories) -> None:
    order = await new_order(repos)
    with pytest.raises(InvalidTransition):
        await repos.orders.transition(order.id, S.PENDING, S.CONFIRMED)
    stored = await repos.orders.get_by_id(order.id)
    assert stored is not None
    assert stored.status is S.PENDING


async def test_stale_expected_state_raises_and_changes_nothing(repos: Repositories) -> None:
    order = await new_order(repos)
    await repos.orders.transition(order.id, S.PENDING, S.QUOTED)
    with pytest.raises(StaleOrderState) as info:
        await repos.orders.transition(order.id, S.PENDING, S.CANCELLED)
    assert (info.value.expected, info.value.actual) == (S.PENDING, S.QUOTED)
    with pytest.raises(NotFound):
        await repos.orders.transition("no-such-order", S.PENDING, S.QUOTED)


async def test_two_workers_racing_one_transition_exactly_one_wins(repos: Repositories) -> None:
    order = await new_order(repos)
    targets = [S.QUOTED, S.CANCELLED, S.FAILED, S.QUOTED, S.CANCELLED, S.FAILED]
    results = await asyncio.gather(
        *(repos.orders.transition(order.id, S.PENDING, t) for t in targets),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Order)]
    losers = [r for r in results if isinstance(r, StaleOrderState)]
    assert len(winners) == 1
    assert len(losers) == len(targets) - 1
    stored = await repos.orders.get_by_id(order.id)
    assert stored is not None
    assert stored.status is winners[0].status


async def test_errors_are_stored_as_json_and_come_back_classified(repos: Repositories) -> None:
    order = await new_order(repos)
    error = OrderError(OrderErrorType.SLIPPAGE_EXCEEDED, "0x1771", {"code": 6001})
    failed = await repos.orders.transition(order.id, S.PENDING, S.FAILED, error=error)
    assert failed.error == error
    assert failed.error is not None
    assert "slippage" in failed.error.user_message
    assert [o.id for o in await repos.orders.list_failed(10)] == [order.id]


async def test_update_fields_is_guarded_by_status_and_field_names(repos: Repositories) -> None:
    order = await new_order(repos)
    bumped = await repos.orders.update_fields(order.id, S.PENDING, attempts=3)
    assert bumped.attempts == 3
    with pytest.raises(StaleOrderState):
        await repos.orders.update_fields(order.id, S.SENT, attempts=4)
    with pytest.raises(TypeError):
        await repos.orders.update_fields(order.id, S.PENDING, status=S.CONFIRMED)
    with pytest.raises(TypeError):
        await repos.orders.update_fields(order.id, S.PENDING, user_id=99)


async def test_a_signature_belongs_to_one_order(repos: Repositories) -> None:
    first = await new_order(repos, "a")
    second = await new_order(repos, "b")
    for order in (first, second):
        await repos.orders.transition(order.id, S.PENDING, S.QUOTED)
    await repos.orders.transition(first.id, S.QUOTED, S.SIGNED, signature="dup")
    with pytest.raises(ValueError, match="signature"):
        await repos.orders.transition(second.id, S.QUOTED, S.SIGNED, signature="dup")


async def test_lease_is_exclusive_until_it_expires(repos: Repositories) -> None:
    order = await new_order(repos)
    assert await repos.orders.claim(order.id, "w1", 30, START) is True
    assert await repos.orders.claim(order.id, "w2", 30, START + timedelta(seconds=29)) is False
    assert await repos.orders.claim(order.id, "w1", 30, START + timedelta(seconds=29)) is True
    assert await repos.orders.claim(order.id, "w2", 30, START + timedelta(seconds=60)) is True
    assert await repos.orders.release(order.id, "w1") is False
    assert await repos.orders.release(order.id, "w2") is True
    await repos.orders.transition(order.id, S.PENDING, S.CANCELLED)
    assert await repos.orders.claim(order.id, "w3", 30, START + timedelta(seconds=90)) is False


async def test_concurrent_claims_of_one_order_have_one_winner(repos: Repositories) -> None:
    order = await new_order(repos)
    wins = await asyncio.gather(
        *(repos.orders.claim(order.id, f"w{i}", 30, START) for i in range(6))
    )
    assert sum(wins) == 1


async def test_concurrent_batch_claims_split_the_work(repos: Repositories) -> None:
    for i in range(12):
        await new_order(repos, f"k{i}")
    batches = await asyncio.gather(
        *(repos.orders.claim_batch(f"w{i}", 30, START, limit=5) for i in range(4))
    )
    ids = [o.id for batch in batches for o in batch]
    assert len(ids) == len(set(ids)) == 12
    for batch, worker in zip(batches, ("w0", "w1", "w2", "w3"), strict=True):
        assert all(o.locked_by == worker for o in batch)
    assert await repos.orders.claim_batch("late", 30, START, limit=5) == []


async def test_listings_and_counts(repos: Repositories) -> None:
    orders = [await new_order(repos, f"k{i}") for i in range(4)]
    await repos.orders.transition(orders[0].id, S.PENDING, S.FAILED)
    await repos.orders.transition(orders[1].id, S.PENDING, S.CANCELLED)
    user_id = orders[0].user_id
    assert [o.id for o in await repos.orders.list_non_final()] == [o.id for o in orders[2:]]
    newest_first = [o.id for o in reversed(orders)]
    assert [o.id for o in await repos.orders.list_for_user(user_id)] == newest_first
    assert [o.id for o in await repos.orders.list_for_user(user_id, limit=2)] == newest_first[:2]
    pending = await repos.orders.list_for_user(user_id, statuses=[S.PENDING])
    assert [o.id for o in pending] == newest_first[:2]
    assert await repos.orders.count_by_status() == {S.PENDING: 2, S.FAILED: 1, S.CANCELLED: 1}


async def test_wallet_with_orders_in_flight_cannot_be_deleted(repos: Repositories) -> None:
    order = await new_order(repos)
    assert order.wallet_id is not None
    with pytest.raises(WalletBusy):
        await repos.wallets.delete(order.user_id, order.wallet_id)
    await repos.orders.transition(order.id, S.PENDING, S.CANCELLED)
    assert await repos.wallets.delete(order.user_id, order.wallet_id) is True
    kept = await repos.orders.get(order.user_id, order.id)
    assert kept is not None
    assert kept.wallet_id is None
