"""The "Withdrawal" repository on SQLite and PostgreSQL, and the pure withdrawal values.

The state machine and the amount parser are property-tested (hypothesis).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniper_bot.domain.orders import InvalidTransition
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.domain.withdrawal import (
    FINAL_WITHDRAWAL_STATES,
    WITHDRAWAL_TRANSITIONS,
    WithdrawalErrorType,
    WithdrawalFailure,
    WithdrawalRecord,
    WithdrawalStatus,
    check_withdrawal_transition,
    parse_amount_request,
)
from sniper_bot.storage import Database, NotFound, Repositories, StaleWithdrawalState
from sniper_bot.storage.repositories.withdrawals import WithdrawalRepository

from .conftest import TestClock, open_db

SEALED = SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80)
S = WithdrawalStatus
PROPERTY = settings(max_examples=200, deadline=None)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite'}"
    pg: str = request.getfixturevalue("pg_url")
    return pg


@pytest.fixture
async def db(url: str) -> AsyncIterator[Database]:
    database = await open_db(url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def repo(db: Database, clock: TestClock) -> WithdrawalRepository:
    return WithdrawalRepository(db, clock)


async def _wallet(db: Database, clock: TestClock, telegram_id: int, key: str) -> tuple[int, int]:
    repos = Repositories.build(db, clock)
    user = await repos.users.get_or_create(telegram_id, None)
    wallet = await repos.wallets.create(user.id, key, SEALED, "main")
    return user.id, wallet.id


async def _create(
    repo: WithdrawalRepository, user_id: int, wallet_id: int, key: str, amount: int = 5
) -> tuple[WithdrawalRecord, bool]:
    return await repo.create(
        user_id=user_id,
        wallet_id=wallet_id,
        asset="SOL",
        token_program=None,
        destination="Dest1111111111111111111111111111111111111111",
        amount=amount,
        decimals=9,
        fee_lamports=15_000,
        rent_lamports=0,
        idempotency_key=key,
    )


async def test_create_is_idempotent_per_user_even_when_racing(
    repo: WithdrawalRepository, db: Database, clock: TestClock
) -> None:
    alice, alice_wallet = await _wallet(db, clock, 1, "A" * 44)
    bob, bob_wallet = await _wallet(db, clock, 2, "B" * 44)
    results = await asyncio.gather(*(_create(repo, alice, alice_wallet, "tap") for _ in range(5)))
    assert sum(created for _, created in results) == 1
    assert len({r.id for r, _ in results}) == 1
    _, bob_created = await _create(repo, bob, bob_wallet, "tap")  # same key, other user: new
    assert bob_created
    assert len(await repo.list_for_user(alice)) == 1


async def test_reads_are_scoped_by_user_and_foreign_wallets_are_refused(
    repo: WithdrawalRepository, db: Database, clock: TestClock
) -> None:
    alice, alice_wallet = await _wallet(db, clock, 1, "A" * 44)
    bob, _ = await _wallet(db, clock, 2, "B" * 44)
    with pytest.raises(NotFound):
        await _create(repo, bob, alice_wallet, "steal")
    record, _ = await repo.create(
        user_id=alice,
        wallet_id=alice_wallet,
        asset="Mint111111111111111111111111111111111111111",
        token_program="TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
        destination="Dest1111111111111111111111111111111111111111",
        amount=2**63 - 1,
        decimals=6,
        fee_lamports=65_000,
        rent_lamports=2_074_080,
        idempotency_key="k",
    )
    assert await repo.get(bob, record.id) is None
    assert await repo.get_by_idempotency_key(bob, "k") is None
    assert await repo.list_for_user(bob) == []
    mine = await repo.get(alice, record.id)
    assert mine == record
    assert mine.amount == 2**63 - 1
    assert await repo.user_id_for_telegram(1) == alice
    assert await repo.user_id_for_telegram(999) is None


async def test_transitions_are_compare_and_set_and_carry_the_signed_bytes(
    repo: WithdrawalRepository, db: Database, clock: TestClock
) -> None:
    user, wallet = await _wallet(db, clock, 1, "A" * 44)
    record, _ = await _create(repo, user, wallet, "k")
    rid = record.id
    signed = await repo.transition(
        rid, S.PENDING, S.SIGNED, signature="sig1", last_valid_block_height=321, signed_tx=b"\x01tx"
    )
    assert (signed.signature, signed.last_valid_block_height, signed.signed_tx) == (
        "sig1",
        321,
        b"\x01tx",
    )
    with pytest.raises(StaleWithdrawalState) as lost:  # lost the race
        await repo.transition(rid, S.PENDING, S.FAILED)
    assert (lost.value.withdrawal_id, lost.value.expected, lost.value.actual) == (
        rid,
        S.PENDING,
        S.SIGNED,
    )
    assert (await repo.get_by_id(rid)) == signed  # the loser changed nothing
    with pytest.raises(NotFound):
        await repo.transition("no-such-withdrawal", S.PENDING, S.SIGNED)
    failure = WithdrawalFailure(WithdrawalErrorType.REJECTED, "frozen", {"custom": 17})
    failed = await repo.transition(rid, S.SIGNED, S.FAILED, error=failure, fee_lamports=5_000)
    assert failed.error == failure
    assert failed.fee_lamports == 5_000
    assert failed.is_final
    assert await repo.list_non_final() == []
    with pytest.raises(InvalidTransition):
        await repo.transition(rid, S.FAILED, S.CONFIRMED)
    with pytest.raises(TypeError):
        await repo.transition(rid, S.SIGNED, S.SENT, amount=1)


async def test_a_signature_belongs_to_one_withdrawal_and_recovery_lists_oldest_first(
    repo: WithdrawalRepository, db: Database, clock: TestClock
) -> None:
    user, wallet = await _wallet(db, clock, 1, "A" * 44)
    first, _ = await _create(repo, user, wallet, "k1")
    clock.advance(1)
    second, _ = await _create(repo, user, wallet, "k2")
    ids = [first.id, second.id]
    assert [r.id for r in await repo.list_non_final()] == ids
    assert [r.id for r in await repo.list_for_user(user)] == ids[::-1]
    await repo.transition(ids[0], S.PENDING, S.SIGNED, signature="same", signed_tx=b"x")
    with pytest.raises(ValueError, match="one withdrawal only"):
        await repo.transition(ids[1], S.PENDING, S.SIGNED, signature="same", signed_tx=b"y")
    with pytest.raises(ValueError, match="positive"):
        await _create(repo, user, wallet, "k3", amount=0)


# -- pure values ---------------------------------------------------------------------------------


@PROPERTY
@given(st.lists(st.sampled_from(list(WithdrawalStatus)), max_size=8))
def test_every_walk_of_the_state_machine_stops_at_a_final_state(steps: list[S]) -> None:
    state = S.PENDING
    for target in steps:
        if target in WITHDRAWAL_TRANSITIONS[state]:
            check_withdrawal_transition(state, target)
            state = target
        else:
            with pytest.raises(InvalidTransition):
                check_withdrawal_transition(state, target)
    assert (state in FINAL_WITHDRAWAL_STATES) == (not WITHDRAWAL_TRANSITIONS[state])
    assert S.SENT not in WITHDRAWAL_TRANSITIONS[S.PENDING]  # never sent before SIGNED


@PROPERTY
@given(st.integers(0, 2**64 - 1).filter(bool), st.integers(0, 12))
def test_an_amount_written_with_its_decimals_parses_back_exactly(units: int, decimals: int) -> None:
    text = format(Decimal(units).scaleb(-decimals), "f")
    assert parse_amount_request(text, decimals).exact == units
    assert parse_amount_request(text.replace(".", ","), decimals).exact == units


@PROPERTY
@given(st.integers(1, 10_000), st.integers(0, 2**64 - 1))
def test_a_share_never_exceeds_the_maximum(bps: int, maximum: int) -> None:
    text = format(Decimal(bps) / 100, "f") + "%"
    request = parse_amount_request(text, 9)
    assert request.percent_bps == bps
    assert 0 <= request.resolve(maximum) <= maximum
    assert (request.resolve(maximum) == maximum) == (bps == 10_000 or maximum == 0)


@PROPERTY
@given(st.text(max_size=20))
def test_any_text_either_parses_to_a_positive_request_or_raises_a_sentence(text: str) -> None:
    try:
        request = parse_amount_request(text, 6)
    except ValueError as exc:
        message = str(exc)
    else:
        assert request.is_all or (request.exact or 0) > 0 or (request.percent_bps or 0) > 0
        return
    assert message[0].isupper()
    assert message.endswith(".")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all", (None, None)),
        (" MAX ", (None, None)),
        ("100%", (None, 10_000)),
        ("12.5%", (None, 1_250)),
        ("0.5 SOL", (500_000_000, None)),
        ("1", (1_000_000_000, None)),
    ],
)
def test_amount_forms(text: str, expected: tuple[int | None, int | None]) -> None:
    request = parse_amount_request(text, 9)
    assert (request.exact, request.percent_bps) == expected


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("-1", "greater than 0"),
        ("0", "greater than 0"),
        ("nan", "not an amount"),
        ("1e999999", "too large"),
        ("100.001%", "at most 100%"),
        ("0.001%", "two decimals"),
        ("0.0000001", "decimal places"),
    ],
)
def test_bad_amounts_say_what_to_do(text: str, sentence: str) -> None:
    with pytest.raises(ValueError, match=sentence):
        parse_amount_request(text, 6)
