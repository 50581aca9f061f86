"""``"SnipeTarget"`` selectors (mint, creator, launch filter) and durable nonce columns, on SQLite
and PostgreSQL: the CHECK, the rebuild read, fire by CAS with the fired mint, nonce CAS."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import (
    LaunchFilter,
    NonceStatus,
    SelectorKind,
    SnipeStatus,
    SnipeTarget,
)
from sniper_bot.ports.stores import StaleNonceValue
from sniper_bot.storage import Database, NotFound, Repositories, StaleSnipeState

from .conftest import START, make_user, make_wallet


def addr(tag: str) -> str:
    """A base58 string of 44 characters starting with ``tag``."""
    return (tag + "1" * 44)[:44]


MINT = addr("Mint")
DEV = addr("Dev")
NONCE_A = addr("NonceA")
NONCE_B = addr("NonceB")
HASH_1 = addr("Hash1")
HASH_2 = addr("Hash2")
PEPE = LaunchFilter(name_contains=("pepe",), sources=("pumpfun",))


async def arm(repos: Repositories, user_id: int, wallet_id: int, **selector: object) -> SnipeTarget:
    args: dict[str, object] = {
        "user_id": user_id,
        "wallet_id": wallet_id,
        "amount_lamports": 100_000_000,
        "slippage_bps": 1_000,
        "priority_fee": FeeLevel.HIGH,
        "expires_at": START + timedelta(hours=1),
    }
    return await repos.snipes.arm(**(args | selector))  # type: ignore[arg-type]


async def owner(repos: Repositories, telegram_id: int = 7) -> tuple[int, int]:
    user = await make_user(repos, telegram_id)
    wallet = await make_wallet(repos, user)
    return user.id, wallet.id


async def test_each_selector_round_trips_and_reads_back_equal(repos: Repositories) -> None:
    user, wallet = await owner(repos)
    by_mint = await arm(repos, user, wallet, token_mint=MINT)
    by_dev = await arm(repos, user, wallet, creator=DEV, nonce_account=NONCE_A)
    by_filter = await arm(
        repos, user, wallet, launch_filter=PEPE, nonce_account=NONCE_B, nonce_value=HASH_1
    )
    assert (by_mint.selector, by_mint.token_mint, by_mint.creator) == (
        SelectorKind.MINT,
        MINT,
        None,
    )
    assert (by_dev.selector, by_dev.token_mint, by_dev.creator) == (SelectorKind.CREATOR, "", DEV)
    assert (by_dev.nonce_account, by_dev.nonce_value) == (NONCE_A, None)
    assert by_dev.nonce_status is NonceStatus.PENDING
    assert by_filter.selector is SelectorKind.FILTER
    assert by_filter.launch_filter == PEPE
    assert (by_filter.nonce_value, by_filter.nonce_status) == (HASH_1, NonceStatus.READY)
    for target in (by_mint, by_dev, by_filter):
        assert await repos.snipes.get_by_id(target.id) == target
    armed = await repos.snipes.list_armed(START)
    assert [t.id for t in armed] == [by_mint.id, by_dev.id, by_filter.id]
    assert armed == [by_mint, by_dev, by_filter]
    assert await repos.snipes.armed_mints(START) == {MINT}  # the engine's filter: mints only
    assert await repos.snipes.list_armed_for_mint(MINT, START) == [by_mint]
    assert [t.id for t in await repos.snipes.list_armed(START, limit=2)] == [by_mint.id, by_dev.id]
    assert await repos.snipes.count_armed_for_user(user, START) == 3


async def test_arm_needs_exactly_one_valid_selector(repos: Repositories) -> None:
    user, wallet = await owner(repos)
    with pytest.raises(ValueError, match=r"exactly one .* got 0 \(none\)"):
        await arm(repos, user, wallet)
    with pytest.raises(ValueError, match=r"got 2 \(mint, creator\)"):
        await arm(repos, user, wallet, token_mint=MINT, creator=DEV)
    with pytest.raises(ValueError, match="creator must be a base58 address"):
        await arm(repos, user, wallet, creator="not-a-key")
    with pytest.raises(ValueError, match="nonce account must be a base58"):
        await arm(repos, user, wallet, creator=DEV, nonce_account="0OIl" * 10)
    with pytest.raises(ValueError, match="nonce value needs its nonce account"):
        await arm(repos, user, wallet, creator=DEV, nonce_value=HASH_1)
    assert await repos.snipes.list_armed(START) == []


async def test_the_check_refuses_a_row_without_any_selector(db: Database) -> None:
    """The database itself keeps one selector per row (not only the repository)."""
    repos = Repositories.build(db, lambda: START)
    user, wallet = await owner(repos)
    insert = (
        'INSERT INTO "SnipeTarget" ("userId", "walletId", "amountLamports", "slippageBps", '
        '"priorityFee", "expiresAt") VALUES (:u, :w, 1, 100, \'LOW\', :e)'
    )
    with pytest.raises(IntegrityError, match=r"(?i)check|ck_SnipeTarget_selector"):
        async with db.engine.begin() as conn:
            await conn.execute(text(insert), {"u": user, "w": wallet, "e": START})


async def test_creator_target_fires_once_and_records_the_mint_it_fired_on(
    repos: Repositories,
) -> None:
    user, wallet = await owner(repos)
    target = await arm(repos, user, wallet, creator=DEV)
    claims = await asyncio.gather(
        *(repos.snipes.mark_fired(target.id, mint=MINT) for _ in range(5)),
        return_exceptions=True,
    )
    winners = [c for c in claims if isinstance(c, SnipeTarget)]
    assert len(winners) == 1
    assert sum(isinstance(c, StaleSnipeState) for c in claims) == 4
    fired = winners[0]
    assert (fired.status, fired.token_mint, fired.creator) == (SnipeStatus.FIRED, MINT, DEV)
    assert fired.selector is SelectorKind.CREATOR
    assert await repos.snipes.list_armed(START) == []
    # A mint target keeps its own mint whatever the caller passes.
    other = await arm(repos, user, wallet, token_mint=MINT)
    fired_other = await repos.snipes.mark_fired(other.id, mint=addr("Xyz"))
    assert fired_other.token_mint == MINT
    with pytest.raises(ValueError, match="fired mint"):
        await repos.snipes.mark_fired(other.id, mint="bad")


async def test_list_armed_skips_expired_cancelled_and_fired(repos: Repositories) -> None:
    user, wallet = await owner(repos)
    soon = await arm(repos, user, wallet, creator=DEV, expires_at=START + timedelta(seconds=5))
    kept = await arm(repos, user, wallet, launch_filter=PEPE)
    cancelled = await arm(repos, user, wallet, token_mint=MINT)
    await repos.snipes.cancel(user, cancelled.id)
    fired = await arm(repos, user, wallet, creator=addr("Dev2"))
    await repos.snipes.mark_fired(fired.id, mint=MINT)
    later = START + timedelta(seconds=6)
    assert [t.id for t in await repos.snipes.list_armed(later)] == [kept.id]
    assert [t.id for t in await repos.snipes.list_armed(START)] == [soon.id, kept.id]


async def test_set_nonce_is_a_compare_and_set_on_the_stored_value(repos: Repositories) -> None:
    user, wallet = await owner(repos)
    target = await arm(repos, user, wallet, creator=DEV, nonce_account=NONCE_A)
    ready = await repos.snipes.set_nonce(
        target.id, account=NONCE_A, value=HASH_1, status=NonceStatus.READY, expected_value=None
    )
    assert (ready.nonce_value, ready.nonce_status) == (HASH_1, NonceStatus.READY)
    with pytest.raises(StaleNonceValue) as lost:  # a replica that read the old (empty) value
        await repos.snipes.set_nonce(
            target.id, account=NONCE_A, value=HASH_2, status=NonceStatus.READY, expected_value=None
        )
    assert (lost.value.expected, lost.value.actual) == (None, HASH_1)
    refreshes = await asyncio.gather(
        *(
            repos.snipes.set_nonce(
                target.id,
                account=NONCE_A,
                value=addr(f"Hash{i + 3}"),
                status=NonceStatus.READY,
                expected_value=HASH_1,
            )
            for i in range(4)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, SnipeTarget) for r in refreshes) == 1
    assert sum(isinstance(r, StaleNonceValue) for r in refreshes) == 3
    current = await repos.snipes.get_by_id(target.id)
    assert current is not None
    advanced = await repos.snipes.set_nonce(
        target.id,
        account=NONCE_A,
        value=HASH_2,
        status=NonceStatus.ADVANCED,
        expected_value=current.nonce_value,
    )
    assert advanced.nonce_status is NonceStatus.ADVANCED
    with pytest.raises(ValueError, match="READY nonce needs its value"):
        await repos.snipes.set_nonce(
            target.id, account=NONCE_A, value=None, status=NonceStatus.READY, expected_value=HASH_2
        )
    with pytest.raises(NotFound):
        await repos.snipes.set_nonce(
            target.id + 99, account=NONCE_A, value=HASH_1, status=NonceStatus.READY,
            expected_value=None,
        )  # fmt: skip


async def test_one_nonce_account_serves_one_armed_target_at_a_time(repos: Repositories) -> None:
    user, wallet = await owner(repos)
    first = await arm(repos, user, wallet, creator=DEV, nonce_account=NONCE_A)
    with pytest.raises(ValueError, match="already serves another armed snipe"):
        await arm(repos, user, wallet, token_mint=MINT, nonce_account=NONCE_A)
    second = await arm(repos, user, wallet, token_mint=MINT, nonce_account=NONCE_B)
    with pytest.raises(ValueError, match="already serves another armed snipe"):
        await repos.snipes.set_nonce(
            second.id, account=NONCE_A, value=None, status=NonceStatus.PENDING,
            expected_value=None,
        )  # fmt: skip
    await repos.snipes.cancel(user, first.id)  # once it is no longer armed, the account is free
    reused = await arm(repos, user, wallet, launch_filter=PEPE, nonce_account=NONCE_A)
    assert reused.nonce_account == NONCE_A
