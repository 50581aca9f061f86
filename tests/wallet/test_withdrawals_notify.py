"""The final result of a withdrawal reaches its owner exactly once: after a live watch, after a
crash and recovery, after the message failed once, with two processes racing; plus what the user
is told for amounts and destinations that cannot be sent.

Real wallets, the real SolanaRpc against localnet's LiteSVM, the "Withdrawal" table on SQLite and
PostgreSQL. ``notify`` is the port to Telegram (the process boundary): the tests record it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from sniper_bot.domain.withdrawal import WithdrawalRecord, WithdrawalStatus
from sniper_bot.solana.pda import associated_token_address
from sniper_bot.solana.programs import TOKEN_PROGRAM_ID
from sniper_bot.wallet.withdraw import WithdrawalError
from sniper_bot.wallet.withdrawals import WithdrawalConfig, WithdrawalService

from .test_withdrawals_localnet import ALICE, PIN, SOL, Crash, Env, _env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async for e in _env(f"sqlite+aiosqlite:///{tmp_path / 'withdrawals.sqlite'}"):
        yield e


@pytest.fixture(params=["sqlite", "postgresql"])
def both_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'withdrawals.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def both_env(both_url: str) -> AsyncIterator[Env]:
    async for e in _env(both_url):
        yield e


class Inbox:
    """What the owner was told, in order; ``fail`` makes the next sends raise (Telegram down)."""

    def __init__(self) -> None:
        self.told: list[WithdrawalRecord] = []
        self.fail = 0

    async def __call__(self, record: WithdrawalRecord) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("Bot API unreachable")
        self.told.append(record)


def _service(env: Env, inbox: Inbox | None = None, **kw: object) -> WithdrawalService:
    config = WithdrawalConfig(
        poll_interval_s=0.02, resend_interval_s=0.1, land_deadline_s=15, retry_pause_s=0.05
    )
    return WithdrawalService(
        env.rpc, env.wallets, env.repo, env.metrics, env.clock, config=config, notify=inbox, **kw
    )


async def _until(predicate: object, what: str) -> None:
    for _ in range(500):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def test_submit_returns_before_landing_and_the_watch_tells_the_owner_once(
    both_env: Env,
) -> None:
    env = both_env
    await env.funded_wallet(ALICE)
    to = Keypair().pubkey()
    inbox = Inbox()
    service = _service(env, inbox)
    await env.net.cluster.stop()  # no new slots: the transfer executes but is never "confirmed"
    try:
        record = await service.submit(ALICE, str(to), "0.25", None, PIN, "w-1")
        assert record.status is WithdrawalStatus.SENT
        await service.shown(ALICE, record.id, final=False)
        await asyncio.sleep(0.3)
        assert inbox.told == []  # not confirmed yet: nothing to tell
    finally:
        await env.net.cluster.start()
    await _until(lambda: inbox.told, "the owner was told")
    await service.close()
    (told,) = inbox.told
    assert (told.id, told.status) == (record.id, WithdrawalStatus.CONFIRMED)
    assert env.balance(to) == SOL // 4
    await service.recover_all()
    await service.sweep()
    assert len(inbox.told) == 1
    assert await env.repo.list_unnotified() == []


async def test_a_result_the_caller_showed_is_never_pushed_again(env: Env) -> None:
    await env.funded_wallet(ALICE)
    inbox = Inbox()
    service = _service(env, inbox)
    record = await service.execute(ALICE, str(Keypair().pubkey()), "0.1", None, PIN, "e-1")
    assert record.status is WithdrawalStatus.CONFIRMED
    await service.recover_all()
    await service.sweep()
    assert inbox.told == []


@pytest.mark.parametrize("stage", ["signed", "confirmed"])
async def test_a_crash_before_the_owner_was_told_is_told_once_by_recovery(
    both_env: Env, stage: str
) -> None:
    env = both_env
    await env.funded_wallet(ALICE)
    to = Keypair().pubkey()

    async def die(reached: str, _record: WithdrawalRecord) -> None:
        if reached == stage:
            raise Crash

    with pytest.raises(Crash):
        await _service(env, Inbox(), boundary=die).execute(ALICE, str(to), "0.3", None, PIN, "c")

    inbox = Inbox()
    first, second = _service(env, inbox), _service(env, inbox)
    await asyncio.gather(first.recover_all(), second.recover_all())  # two replicas start
    await first.recover_all()
    (told,) = inbox.told
    assert told.status is WithdrawalStatus.CONFIRMED
    assert env.balance(to) == 3 * SOL // 10


async def test_a_message_that_failed_is_sent_by_the_next_sweep_once(env: Env) -> None:
    await env.funded_wallet(ALICE)
    inbox = Inbox()
    inbox.fail = 1
    service = _service(env, inbox)
    record = await service.submit(ALICE, str(Keypair().pubkey()), "0.1", None, PIN, "f-1")
    await service.shown(ALICE, record.id, final=False)
    await _until(lambda: inbox.fail == 0, "the first send was tried")
    await _until(lambda: not service._watches, "the watch ended")
    assert inbox.told == []
    (untold,) = await env.repo.list_unnotified()
    assert untold.id == record.id

    await service.sweep()
    await service.sweep()
    assert [r.id for r in inbox.told] == [record.id]


async def test_a_zero_amount_says_it_is_zero(env: Env) -> None:
    owner = await env.funded_wallet(ALICE)
    token = env.net.factory.create("honest")
    env.give_tokens(token.mint, owner, 5_000_000)
    service = _service(env)
    to = str(Keypair().pubkey())
    for mint in (None, str(token.mint)):
        with pytest.raises(WithdrawalError) as err:
            await service.preview(ALICE, to, "1e-999999999", mint)
        assert "amount is zero" in err.value.user_message, (mint, err.value.user_message)


@pytest.mark.parametrize(
    ("destination", "sentence"),
    [
        ("0x742d35Cc6634C0532925a3b844Bc454e4438f44e", "Ethereum address"),
        ("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9Pus0Fi", "not a Solana address"),
        ("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9Pus", "32 bytes"),
        (str(Pubkey.find_program_address([b"vault"], TOKEN_PROGRAM_ID)[0]), "program-derived"),
        (str(TOKEN_PROGRAM_ID), "is a program"),
    ],
)
async def test_a_destination_that_is_not_a_wallet_is_refused(
    env: Env, destination: str, sentence: str
) -> None:
    await env.funded_wallet(ALICE)
    with pytest.raises(WithdrawalError) as err:
        await _service(env).preview(ALICE, destination, "0.1", None)
    assert sentence in err.value.user_message, err.value.user_message


async def test_a_token_account_as_destination_is_refused(env: Env) -> None:
    """An associated token account is off-curve (refused as program-derived); a token account
    at a keypair address is on the curve and is refused by what the chain says it is."""
    owner = await env.funded_wallet(ALICE)
    token = env.net.factory.create("honest")
    env.give_tokens(token.mint, owner, 5_000_000)
    ata = associated_token_address(owner, token.mint, TOKEN_PROGRAM_ID)
    held = env.net.cluster.get_account(ata)
    assert held is not None
    loose = Keypair().pubkey()  # the same token account bytes at an on-curve address
    env.net.cluster.set_account(
        loose, Account(held.lamports, bytes(held.data), TOKEN_PROGRAM_ID, False, 0)
    )
    service = _service(env)
    for destination, sentence in ((ata, "program-derived"), (loose, "token account")):
        for mint in (None, str(token.mint)):
            with pytest.raises(WithdrawalError) as err:
                await service.preview(ALICE, str(destination), "1", mint)
            assert sentence in err.value.user_message, err.value.user_message
    wallet = Keypair().pubkey()
    assert (await service.preview(ALICE, str(wallet), "1", str(token.mint))).amount == 1_000_000
