"""Withdrawals end to end: real wallets (sealed keys, PIN gate), the real SolanaRpc over HTTP to
localnet's LiteSVM, and the "Withdrawal" table on SQLite and PostgreSQL.

Every assertion on money reads the chain itself (LiteSVM accounts), not our own bookkeeping.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.market import instructions as ix
from localnet.node import Localnet
from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import endpoints_from_urls
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.withdrawal import WithdrawalErrorType, WithdrawalRecord, WithdrawalStatus
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.solana.pda import associated_token_address
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.repositories.withdrawals import WithdrawalRepository
from sniper_bot.wallet.crypto import Keyring
from sniper_bot.wallet.pin import PinLockedError, WrongPinError
from sniper_bot.wallet.service import WalletNotFoundError, WalletService
from sniper_bot.wallet.withdraw import WithdrawalError
from sniper_bot.wallet.withdrawals import Boundary, WithdrawalConfig, WithdrawalService

from .conftest import TestClock, build_service, open_db

SOL = 1_000_000_000
PIN = "482916"
ALICE, BOB = 1001, 2002
SLOT_MS = 20
MASTER_SECRET = "9f2c4e71b05a3d86e1c7f04a92b35d6c8e0f17a4b29c5d3e6f8012a7c4b9e5d1"


class Crash(Exception):
    """The process dies at a boundary (the test stops the service there)."""


@dataclass
class Env:
    net: Localnet
    rpc: SolanaRpc
    repo: WithdrawalRepository
    wallets: WalletService
    metrics: Metrics
    clock: TestClock

    def service(self, boundary: Boundary | None = None) -> WithdrawalService:
        config = WithdrawalConfig(poll_interval_s=0.02, resend_interval_s=0.1, land_deadline_s=15)
        return WithdrawalService(
            self.rpc,
            self.wallets,
            self.repo,
            self.metrics,
            self.clock,
            config=config,
            boundary=boundary,
        )

    def balance(self, pubkey: Pubkey | str) -> int:
        key = pubkey if isinstance(pubkey, Pubkey) else Pubkey.from_string(pubkey)
        return int(self.net.cluster.get_balance(key))

    def token_balance(self, owner: Pubkey | str, mint: Pubkey, program: Pubkey) -> int:
        key = owner if isinstance(owner, Pubkey) else Pubkey.from_string(owner)
        account = self.net.cluster.get_account(associated_token_address(key, mint, program))
        return 0 if account is None else int(struct.unpack_from("<Q", bytes(account.data), 64)[0])

    def account_lamports(self, owner: Pubkey, mint: Pubkey, program: Pubkey) -> int:
        account = self.net.cluster.get_account(associated_token_address(owner, mint, program))
        return 0 if account is None else int(account.lamports)

    async def funded_wallet(self, telegram_id: int, lamports: int = 2 * SOL) -> Pubkey:
        view = await self.wallets.create_wallet(telegram_id)
        await self.wallets.set_pin(telegram_id, PIN)
        owner = Pubkey.from_string(view.public_key)
        self.net.cluster.airdrop(owner, lamports)
        return owner

    def give_tokens(self, mint: Pubkey, owner: Pubkey, amount: int) -> None:
        """The token's creator transfers ``amount`` to ``owner``'s associated token account."""
        token = self.net.factory.get(mint)
        program, creator = token.info.token_program, token.creator
        self.net.market.send(
            [
                ix.create_associated_token_account_idempotent(
                    creator.pubkey(), owner, mint, program
                ),
                ix.transfer_checked(
                    program,
                    ix.associated_token_address(creator.pubkey(), mint, program),
                    mint,
                    ix.associated_token_address(owner, mint, program),
                    creator.pubkey(),
                    amount,
                    6,
                ),
            ],
            [creator],
        )

    def freeze(self, mint: Pubkey, owner: Pubkey) -> None:
        """The token's freeze authority freezes ``owner``'s account (kind "freeze_authority")."""
        token = self.net.factory.get(mint)
        program, creator = token.info.token_program, token.creator
        ata = ix.associated_token_address(owner, mint, program)
        self.net.market.send([ix.freeze_account(program, ata, mint, creator.pubkey())], [creator])


def _rpc(net: Localnet, session: aiohttp.ClientSession, metrics: Metrics) -> SolanaRpc:
    urls = net.urls
    assert urls is not None
    endpoints = endpoints_from_urls(
        urls.rpc["helius"]["http"],
        urls.rpc["quicknode"]["http"],
        None,
        None,
        rates={"helius": 10_000, "quicknode": 10_000},
    )
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
    return SolanaRpc(RpcPool(endpoints, breakers, metrics, session, default_timeout_s=5.0))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'withdrawals.sqlite'}"
    url: str = request.getfixturevalue("pg_url")
    return url


async def _env(url: str) -> AsyncIterator[Env]:
    async with (
        running_localnet(seed=7, slot_ms=SLOT_MS) as net,
        aiohttp.ClientSession() as session,
    ):
        db: Database = await open_db(url)
        clock, metrics = TestClock(), Metrics()
        repos = Repositories.build(db, clock)
        wallets = build_service(repos, Keyring.from_settings(MASTER_SECRET), clock, metrics)
        rpc = _rpc(net, session, metrics)
        try:
            yield Env(net, rpc, WithdrawalRepository(db, clock), wallets, metrics, clock)
        finally:
            await rpc.pool.close()
            await db.dispose()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    """SQLite only: the behaviour tests that do not depend on the database backend."""
    async for e in _env(f"sqlite+aiosqlite:///{tmp_path / 'withdrawals.sqlite'}"):
        yield e


@pytest.fixture
async def both_env(backend_url: str) -> AsyncIterator[Env]:
    async for e in _env(backend_url):
        yield e


async def test_sol_withdrawal_lands_and_moves_exactly_amount_plus_fee(both_env: Env) -> None:
    env = both_env
    owner = await env.funded_wallet(ALICE)
    to = Keypair().pubkey()
    service = env.service()
    plan = await service.preview(ALICE, str(to), "0.5")
    assert (plan.asset, plan.amount, plan.decimals) == ("SOL", SOL // 2, 9)
    assert plan.destination == str(to)
    assert not plan.creates_token_account

    before = env.balance(owner)
    record = await service.execute(ALICE, str(to), "0.5", None, PIN, "tap-1")

    assert record.status is WithdrawalStatus.CONFIRMED, record.error
    assert env.balance(to) == SOL // 2
    assert (
        before - env.balance(owner)
        == SOL // 2 + plan.fee_lamports
        == SOL // 2 + record.fee_lamports
    )
    stored = await service.get(ALICE, record.id)
    assert stored is not None
    assert stored.signature == record.signature
    assert stored.signed_tx is not None
    assert stored.last_valid_block_height is not None
    assert [r.id for r in await service.list_recent(ALICE)] == [record.id]


@pytest.mark.parametrize("program", ["spl-token", "token-2022"])
async def test_token_withdrawal_creates_the_recipient_account_once_and_pays_its_rent(
    env: Env, program: str
) -> None:
    info = env.net.factory.create("honest", token_program=program)
    owner = await env.funded_wallet(ALICE)
    env.give_tokens(info.mint, owner, 1_000_000_000)  # 1,000 tokens (6 decimals)
    to = Keypair().pubkey()
    service = env.service()

    plan = await service.preview(ALICE, str(to), "12.5", str(info.mint))
    assert (plan.asset, plan.amount, plan.decimals) == (str(info.mint), 12_500_000, 6)
    assert plan.token_program == str(info.token_program)
    assert plan.creates_token_account

    sol_before = env.balance(owner)
    first = await service.execute(ALICE, str(to), "12.5", str(info.mint), PIN, "t-1")
    assert first.status is WithdrawalStatus.CONFIRMED, first.error
    assert env.token_balance(to, info.mint, info.token_program) == 12_500_000
    assert env.token_balance(owner, info.mint, info.token_program) == 1_000_000_000 - 12_500_000
    rent = env.account_lamports(to, info.mint, info.token_program)
    assert rent == plan.rent_lamports > 0
    assert sol_before - env.balance(owner) == plan.fee_lamports + plan.rent_lamports

    again = await service.preview(ALICE, str(to), "50%", str(info.mint))
    assert not again.creates_token_account
    assert again.amount == (1_000_000_000 - 12_500_000) // 2
    sol_before = env.balance(owner)
    second = await service.execute(ALICE, str(to), "all", str(info.mint), PIN, "t-2")
    assert second.status is WithdrawalStatus.CONFIRMED, second.error
    assert env.token_balance(owner, info.mint, info.token_program) == 0
    assert env.token_balance(to, info.mint, info.token_program) == 1_000_000_000
    assert sol_before - env.balance(owner) == second.fee_lamports


async def test_transfer_fee_token_rent_matches_the_account_the_chain_creates(env: Env) -> None:
    info = env.net.factory.create("transfer_fee")  # Token-2022, 75 % transfer fee
    owner = await env.funded_wallet(ALICE)
    env.give_tokens(info.mint, owner, 4_000_000)
    held = env.token_balance(owner, info.mint, info.token_program)
    to = Keypair().pubkey()
    service = env.service()
    plan = await service.preview(ALICE, str(to), "all", str(info.mint))
    record = await service.execute(ALICE, str(to), "all", str(info.mint), PIN, "fee-1")
    assert record.status is WithdrawalStatus.CONFIRMED, record.error
    assert plan.amount == held
    assert env.account_lamports(to, info.mint, info.token_program) == plan.rent_lamports
    assert 0 < env.token_balance(to, info.mint, info.token_program) < held  # the fee was withheld


async def test_sol_all_empties_the_wallet(env: Env) -> None:
    owner = await env.funded_wallet(ALICE, SOL)
    to = Keypair().pubkey()
    record = await env.service().execute(ALICE, str(to), "all", None, PIN, "all-1")
    assert record.status is WithdrawalStatus.CONFIRMED, record.error
    assert env.balance(owner) == 0
    assert env.balance(to) == SOL - record.fee_lamports == record.amount


async def test_wrong_pin_sends_nothing_and_five_lock_the_withdrawal(env: Env) -> None:
    owner = await env.funded_wallet(ALICE)
    to = str(Keypair().pubkey())
    service = env.service()
    for attempt in range(5):
        with pytest.raises(WrongPinError if attempt < 4 else (WrongPinError, PinLockedError)):
            await service.execute(ALICE, to, "0.1", None, "000000", f"k{attempt}")
    with pytest.raises(PinLockedError) as locked:
        await service.execute(ALICE, to, "0.1", None, PIN, "right-pin-while-locked")
    assert locked.value.user_message
    assert "locked" in locked.value.user_message.lower()
    assert env.balance(to) == 0
    assert env.balance(owner) == 2 * SOL
    assert await service.list_recent(ALICE) == []


async def test_double_tap_returns_the_same_withdrawal_and_moves_money_once(env: Env) -> None:
    owner = await env.funded_wallet(ALICE)
    to = Keypair().pubkey()
    service = env.service()
    a, b = await asyncio.gather(
        service.execute(ALICE, str(to), "0.3", None, PIN, "confirm-42"),
        service.execute(ALICE, str(to), "0.3", None, PIN, "confirm-42"),
    )
    c = await service.execute(ALICE, str(to), "0.3", None, PIN, "confirm-42")
    assert a.id == b.id == c.id
    assert c.status is WithdrawalStatus.CONFIRMED
    assert env.balance(to) == 3 * SOL // 10
    assert env.balance(owner) == 2 * SOL - 3 * SOL // 10 - c.fee_lamports
    assert len(await service.list_recent(ALICE)) == 1


async def test_crash_after_signed_is_finished_by_recovery_with_one_transfer(both_env: Env) -> None:
    env = both_env
    await env.funded_wallet(ALICE)
    to = Keypair().pubkey()

    async def die(stage: str, _record: WithdrawalRecord) -> None:
        if stage == "signed":
            raise Crash

    with pytest.raises(Crash):
        await env.service(boundary=die).execute(ALICE, str(to), "0.25", None, PIN, "c-1")
    (pending,) = await env.repo.list_non_final()
    assert pending.status is WithdrawalStatus.SIGNED
    assert pending.signed_tx is not None
    assert env.balance(to) == 0  # nothing was sent before the crash

    (recovered,) = await env.service().recover_all()
    assert recovered.id == pending.id
    assert recovered.status is WithdrawalStatus.CONFIRMED
    assert recovered.signature == pending.signature
    assert env.balance(to) == SOL // 4
    assert await env.repo.list_non_final() == []
    retap = await env.service().execute(ALICE, str(to), "0.25", None, PIN, "c-1")
    assert retap.id == pending.id
    assert env.balance(to) == SOL // 4


async def test_blockhash_expired_before_the_first_send_ends_expired_with_no_transfer(
    env: Env,
) -> None:
    owner = await env.funded_wallet(ALICE)
    to = Keypair().pubkey()

    async def stall(stage: str, _record: WithdrawalRecord) -> None:
        if stage == "signed":
            env.net.cluster.advance_slots(200)  # past the 150-block window

    record = await env.service(boundary=stall).execute(ALICE, str(to), "0.2", None, PIN, "x-1")
    assert record.status is WithdrawalStatus.EXPIRED
    assert record.error is not None
    assert record.error.type is WithdrawalErrorType.BLOCKHASH_EXPIRED
    assert "Nothing was sent" in record.error.user_message
    assert env.balance(to) == 0
    assert env.balance(owner) == 2 * SOL


async def test_another_users_wallet_reads_as_missing_and_nothing_moves(env: Env) -> None:
    alice = await env.funded_wallet(ALICE)
    await env.funded_wallet(BOB)
    (alice_wallet,) = await env.wallets.list_wallets(ALICE)
    to = str(Keypair().pubkey())
    service = env.service()
    with pytest.raises(WalletNotFoundError):
        await service.preview(BOB, to, "0.1", wallet_id=alice_wallet.id)
    with pytest.raises(WalletNotFoundError):
        await service.execute(BOB, to, "0.1", None, PIN, "steal", wallet_id=alice_wallet.id)
    assert env.balance(alice) == 2 * SOL
    assert env.balance(to) == 0
    record = await service.execute(ALICE, to, "0.1", None, PIN, "mine")
    assert await service.get(BOB, record.id) is None
    assert await service.list_recent(BOB) == []


async def test_bad_input_gets_a_sentence_and_sends_nothing(env: Env) -> None:
    owner = await env.funded_wallet(ALICE)
    held = env.net.factory.create("honest")
    env.give_tokens(held.mint, owner, 5_000_000)
    not_held = env.net.factory.create("honest")
    to = str(Keypair().pubkey())
    service = env.service()
    cases: list[tuple[str, str, str | None, str]] = [
        (to, "-1", None, "greater than 0"),
        (to, "lots", None, "not an amount"),
        (to, "0.0000000001", None, "decimal places"),
        (to, "150%", None, "at most 100%"),
        (to, "3", None, "Not enough SOL"),
        (str(owner), "0.1", None, "own address"),
        ("not-an-address", "0.1", None, "not a Solana address"),
        (to, "1", str(not_held.mint), "holds none of this token"),
        (to, "6", str(held.mint), "Not enough tokens"),
        (to, "1", str(Keypair().pubkey()), "No token with this mint"),
        (to, "1", "xyz", "not a token mint"),
        (str(held.mint), "1", str(held.mint), "mint address"),
    ]
    for destination, amount, mint, expected in cases:
        with pytest.raises(WithdrawalError) as err:
            await service.preview(ALICE, destination, amount, mint)
        assert expected in (err.value.user_message or ""), (amount, mint, err.value.user_message)
    with pytest.raises(WithdrawalError):
        await service.execute(ALICE, to, "3", None, PIN, "too-much")
    assert env.balance(owner) == 2 * SOL
    assert await service.list_recent(ALICE) == []


async def test_token_frozen_after_signing_fails_at_preflight_and_spends_nothing(env: Env) -> None:
    info = env.net.factory.create("freeze_authority")
    owner = await env.funded_wallet(ALICE)
    env.give_tokens(info.mint, owner, 3_000_000)
    to = Keypair().pubkey()

    async def freeze(stage: str, _record: WithdrawalRecord) -> None:
        if stage == "signed":
            env.freeze(info.mint, owner)

    sol_before = env.balance(owner)
    service = env.service(boundary=freeze)
    record = await service.execute(ALICE, str(to), "1", str(info.mint), PIN, "frozen-1")
    assert record.status is WithdrawalStatus.FAILED
    assert record.error is not None
    assert record.error.type is WithdrawalErrorType.REJECTED
    assert "frozen" in record.error.message
    assert env.balance(owner) == sol_before
    assert env.token_balance(owner, info.mint, info.token_program) == 3_000_000
    with pytest.raises(WithdrawalError, match="frozen"):
        await env.service().preview(ALICE, str(to), "1", str(info.mint))


async def test_recovery_reads_meta_err_of_a_landed_failure_and_records_the_fee(env: Env) -> None:
    info = env.net.factory.create("freeze_authority")
    owner = await env.funded_wallet(ALICE)
    env.give_tokens(info.mint, owner, 3_000_000)
    to = Keypair().pubkey()

    async def die(stage: str, _record: WithdrawalRecord) -> None:
        if stage == "signed":
            raise Crash

    with pytest.raises(Crash):
        await env.service(boundary=die).execute(ALICE, str(to), "1", str(info.mint), PIN, "m-1")
    env.freeze(info.mint, owner)  # the resend skips preflight: it lands, and fails on chain
    sol_before = env.balance(owner)
    (record,) = await env.service().recover_all()
    assert record.status is WithdrawalStatus.FAILED
    assert record.error is not None
    assert record.error.type is WithdrawalErrorType.REJECTED
    assert record.error.details.get("custom") == 17
    assert sol_before - env.balance(owner) == record.fee_lamports > 0
    assert env.token_balance(owner, info.mint, info.token_program) == 3_000_000
    assert env.token_balance(to, info.mint, info.token_program) == 0
