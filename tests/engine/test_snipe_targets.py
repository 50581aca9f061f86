"""``"SnipeTarget"`` on SQLite and PostgreSQL (migrated with Alembic): scoping, CAS, expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sniper_bot.domain.entities import OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import SnipeStatus, SnipeTarget
from sniper_bot.domain.orders import OrderSide
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.storage import Database, NotFound, Repositories, StaleSnipeState
from sniper_bot.storage.repositories.snipes import SnipeNotArmed, SnipeTargetRepository

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MINT = "So11111111111111111111111111111111111111112"
OTHER_MINT = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'snipes.sqlite'}"
    pg: str = request.getfixturevalue("clean_pg_url")
    return pg


@pytest.fixture
async def db(url: str) -> AsyncIterator[Database]:
    database = Database(url, pool_size=5)
    await database.connect(attempts=1)
    if database.backend == "sqlite":
        await database.upgrade()
    yield database
    await database.dispose()


class Owners:
    def __init__(self, repos: Repositories) -> None:
        self.repos = repos

    async def wallet(self, telegram_id: int) -> tuple[int, int]:
        user = await self.repos.users.get_or_create(telegram_id, f"u{telegram_id}")
        wallet = await self.repos.wallets.create(
            user.id, f"Pk{telegram_id}", SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "w"
        )
        return user.id, wallet.id


async def arm(
    repo: SnipeTargetRepository, user_id: int, wallet_id: int, mint: str = MINT, ttl_s: int = 60
) -> SnipeTarget:
    return await repo.arm(
        user_id=user_id,
        wallet_id=wallet_id,
        token_mint=mint,
        amount_lamports=250_000_000,
        slippage_bps=1_500,
        priority_fee=FeeLevel.HIGH,
        expires_at=NOW + timedelta(seconds=ttl_s),
    )


@pytest.fixture
def repo(db: Database) -> SnipeTargetRepository:
    return SnipeTargetRepository(db, lambda: NOW)


@pytest.fixture
def owners(db: Database) -> Owners:
    return Owners(Repositories.build(db, lambda: NOW))


async def test_arm_stores_every_field_and_reads_are_scoped_by_user(
    repo: SnipeTargetRepository, owners: Owners
) -> None:
    alice, alice_wallet = await owners.wallet(1)
    bob, bob_wallet = await owners.wallet(2)
    target = await arm(repo, alice, alice_wallet)
    assert target.status is SnipeStatus.ARMED
    assert (target.amount_lamports, target.slippage_bps) == (250_000_000, 1_500)
    assert target.priority_fee is FeeLevel.HIGH
    assert target.created_at == NOW
    assert target.expires_at == NOW + timedelta(seconds=60)
    assert await repo.get(alice, target.id) == target
    assert await repo.get(bob, target.id) is None
    assert await repo.list_for_user(bob) == []
    with pytest.raises(NotFound):
        await repo.cancel(bob, target.id)
    with pytest.raises(NotFound):  # a snipe with someone else's wallet
        await arm(repo, alice, bob_wallet)
    cancelled = await repo.cancel(alice, target.id)
    assert cancelled.status is SnipeStatus.CANCELLED
    with pytest.raises(SnipeNotArmed) as excinfo:
        await repo.cancel(alice, target.id)
    assert "cancelled" in excinfo.value.user_message


async def test_two_replicas_claiming_one_target_fire_it_once(
    repo: SnipeTargetRepository, owners: Owners
) -> None:
    user, wallet = await owners.wallet(1)
    target = await arm(repo, user, wallet)
    claims = await asyncio.gather(
        *(repo.mark_fired(target.id, now=NOW) for _ in range(6)), return_exceptions=True
    )
    winners = [c for c in claims if isinstance(c, SnipeTarget)]
    losers = [c for c in claims if isinstance(c, StaleSnipeState)]
    assert len(winners) == 1
    assert len(losers) == 5
    assert all((c.expected, c.actual) == (SnipeStatus.ARMED, SnipeStatus.FIRED) for c in losers)
    assert winners[0].status is SnipeStatus.FIRED
    assert winners[0].fired_at == NOW
    assert await repo.list_armed_for_mint(MINT, NOW) == []
    assert [t.id for t in await repo.list_fired_without_order()] == [target.id]


async def test_fired_targets_record_their_order_and_failure(
    repo: SnipeTargetRepository, owners: Owners, db: Database
) -> None:
    user, wallet = await owners.wallet(1)
    repos = Repositories.build(db, lambda: NOW)
    target = await arm(repo, user, wallet)
    with pytest.raises(StaleSnipeState):  # only FIRED targets take orders
        await repo.attach_order(target.id, "nope")
    await repo.mark_fired(target.id)
    order, _ = await repos.orders.create(
        user_id=user, wallet_id=wallet, kind=OrderKind.SNIPE, token_mint=MINT,
        side=OrderSide.BUY, amount=1, slippage_bps=100, priority_fee=FeeLevel.LOW,
        idempotency_key=f"snipe:{target.id}",
    )  # fmt: skip
    attached = await repo.attach_order(target.id, order.id)
    assert attached.order_id == order.id
    assert await repo.list_fired_without_order() == []
    failed = await repo.mark_failed(target.id, "honeypot_blocked" + "!" * 900)
    assert failed.status is SnipeStatus.FAILED
    assert failed.error is not None
    assert len(failed.error) == 500
    with pytest.raises(StaleSnipeState) as lost:
        await repo.mark_failed(target.id, "again")
    assert (lost.value.expected, lost.value.actual) == (SnipeStatus.FIRED, SnipeStatus.FAILED)
    with pytest.raises(NotFound):
        await repo.mark_fired(target.id + 1_000)


async def test_expiry_moves_only_due_armed_targets(
    repo: SnipeTargetRepository, owners: Owners
) -> None:
    user, wallet = await owners.wallet(1)
    soon = await arm(repo, user, wallet, ttl_s=10)
    later = await arm(repo, user, wallet, ttl_s=100)
    other = await arm(repo, user, wallet, mint=OTHER_MINT, ttl_s=10)
    await repo.cancel(user, other.id)
    assert {t.id for t in await repo.list_armed_for_mint(MINT, NOW)} == {soon.id, later.id}
    assert await repo.armed_mints(NOW) == {MINT}
    at = NOW + timedelta(seconds=10)
    assert [t.id for t in await repo.list_armed_for_mint(MINT, at)] == [later.id]
    expired = await repo.expire_due(at)
    assert [(t.id, t.status) for t in expired] == [(soon.id, SnipeStatus.EXPIRED)]
    assert await repo.expire_due(at) == []
    with pytest.raises(StaleSnipeState):
        await repo.mark_fired(soon.id)
    statuses = {t.id: t.status for t in await repo.list_for_user(user)}
    assert statuses == {
        soon.id: SnipeStatus.EXPIRED,
        later.id: SnipeStatus.ARMED,
        other.id: SnipeStatus.CANCELLED,
    }
    assert [t.id for t in await repo.list_for_user(user, (SnipeStatus.ARMED,))] == [later.id]


async def test_arm_refuses_amounts_and_slippage_out_of_range(
    repo: SnipeTargetRepository, owners: Owners
) -> None:
    user, wallet = await owners.wallet(1)
    with pytest.raises(ValueError, match="positive"):
        await repo.arm(
            user_id=user, wallet_id=wallet, token_mint=MINT, amount_lamports=0,
            slippage_bps=100, priority_fee=FeeLevel.LOW, expires_at=NOW,
        )  # fmt: skip
    with pytest.raises(ValueError, match="slippage"):
        await repo.arm(
            user_id=user, wallet_id=wallet, token_mint=MINT, amount_lamports=1,
            slippage_bps=0, priority_fee=FeeLevel.LOW, expires_at=NOW,
        )  # fmt: skip
