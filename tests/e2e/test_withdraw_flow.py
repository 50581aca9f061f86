"""A user withdraws through Telegram: /wallet → Withdraw → "DESTINATION AMOUNT [MINT]" → PIN.

What is checked is what the user reads and what the chain holds: the bot answers the PIN at once
("sent, confirming…", while the transfer is provably not confirmed yet: the slot clock is paused)
and pushes the final result once when it lands, also across a restart of the bot; wrong PINs
count down and the same confirmation takes the right PIN; five lock it; destinations that are not
a Solana wallet (bad base58, an Ethereum address, a program-derived address, a program id), an
amount above the balance and a zero amount are refused with a sentence and the user corrects the
same request; a throttled PIN is answered and deleted and can be sent again; a token bought on
localnet is withdrawn in part.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.node import Localnet
from sniper_bot.app import App
from sniper_bot.config import load_settings
from sniper_bot.solana.programs import TOKEN_PROGRAM_ID

from .harness import (
    ONE_BACKEND,
    SOL,
    BotUnderTest,
    Message,
    User,
    e2e_env,
    plain,
    running_net,
    scaled_chat_pace,
    sql_rows,
)
from .services import postgres_database, redis_database

pytestmark = pytest.mark.asyncio(loop_scope="module")

PIN = "482913"
WRONG = ("739164", "739165", "739166", "739167", "739168")
CONFIRMING = "Sent, confirming"


def _done(text: str) -> bool:
    return "Withdraw" in text and ("✅" in text or "❌" in text)


async def _set_pin(user: User) -> None:
    menu = await user.says("/wallet", until=lambda t: "Wallets" in t, what="wallet list")
    await user.presses(menu, "🔢 Set PIN", until=lambda t: "PIN" in t, what="PIN prompt")
    sent = await user.type(PIN)
    await user.wait_for(lambda m: "PIN saved" in m.get("text", ""), after=sent, what="PIN saved")


async def _ready(user: User, lamports: int = 2 * SOL) -> Pubkey:
    wallet = await user.funded(lamports)
    await _set_pin(user)
    return wallet


async def _withdraw_prompt(user: User) -> None:
    menu = await user.says("/wallet", until=lambda t: "Wallets" in t, what="wallet list")
    await user.presses(menu, "💸 Withdraw", until=lambda t: "DESTINATION" in t, what="prompt")


async def _request(user: User, text: str) -> str:
    """Send one withdrawal request; the bot's answer (a preview or a refusal)."""
    reply = await user.says(text, what=f"answer to {text!r}")
    return plain(reply["text"])


async def _pin(user: User, pin: str) -> tuple[int, Message]:
    """Send a PIN; (its message id, the bot's first answer). The PIN message must be deleted."""
    sent = await user.type(pin)
    reply = await user.wait_for(lambda m: True, after=sent, what="answer to the PIN")
    await user.wait_for_deleted(sent)
    return sent, reply


def _results(user: User, after: int) -> list[str]:
    return [plain(m["text"]) for m in user.inbox() if m["message_id"] > after and _done(m["text"])]


async def _withdrawals_of(bot_app: App, user: User) -> list[dict[str, Any]]:
    return await sql_rows(
        bot_app,
        'SELECT w.* FROM "Withdrawal" w JOIN "User" u ON u.id = w."userId" '
        'WHERE u."telegramId" = :tg ORDER BY w."createdAt"',
        tg=user.user_id,
    )


async def _quiet(seconds: float = 0.5) -> None:
    """Give a duplicate push the time to show up (the assertions count messages, not time)."""
    await asyncio.sleep(seconds)


async def test_the_pin_is_answered_at_once_and_the_result_is_pushed_once(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await _ready(user)
    await _withdraw_prompt(user)
    to = Keypair().pubkey()
    assert "Confirm withdrawal" in await _request(user, f"{to} 0.25")
    before = bot.sol_balance(wallet)

    await bot.net.cluster.stop()  # no new slots: the transfer executes, it is never confirmed
    try:
        sent, reply = await _pin(user, PIN)
        assert CONFIRMING in plain(reply["text"]), reply["text"]
        (row,) = await _withdrawals_of(bot.app, user)
        assert row["status"] in ("SIGNED", "SENT")
        assert row["notifiedAt"] is None
        assert _results(user, sent) == []
    finally:
        await bot.net.cluster.start()

    pushed = await user.wait_for(lambda m: _done(m["text"]), after=sent, what="the pushed result")
    assert "✅ Sent" in plain(pushed["text"])
    assert pushed["message_id"] > reply["message_id"]
    (row,) = await _withdrawals_of(bot.app, user)
    assert row["status"] == "CONFIRMED"
    assert row["notifiedAt"] is not None
    assert bot.sol_balance(to) == SOL // 4
    assert bot.sol_balance(wallet) == before - SOL // 4 - row["feeLamports"]
    await bot.app.withdrawals.recover_all()
    await bot.app.withdrawals.sweep()
    await _quiet()
    assert len(_results(user, sent)) == 1


async def test_wrong_pins_count_down_and_the_same_confirmation_takes_the_right_one(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    await _ready(user)
    await _withdraw_prompt(user)
    to = Keypair().pubkey()
    assert "Confirm withdrawal" in await _request(user, f"{to} 0.1")

    _, first = await _pin(user, WRONG[0])
    _, second = await _pin(user, WRONG[1])
    left = re.search(r"Wrong PIN\. (\d+) attempt\(s\) left", plain(first["text"]))
    assert left is not None, first["text"]
    assert f"Wrong PIN. {int(left.group(1)) - 1} attempt(s) left" in plain(second["text"])
    assert "Send the PIN again" in plain(second["text"])
    assert await _withdrawals_of(bot.app, user) == []

    sent, reply = await _pin(user, PIN)  # no new request: the confirmation is still open
    assert CONFIRMING in plain(reply["text"]) or _done(reply["text"]), reply["text"]
    await user.wait_for(lambda m: "✅ Sent" in m["text"], after=sent, what="the result")
    assert bot.sol_balance(to) == SOL // 10
    assert [r["status"] for r in await _withdrawals_of(bot.app, user)] == ["CONFIRMED"]


async def test_five_wrong_pins_lock_it_and_nothing_is_sent(bot: BotUnderTest) -> None:
    user = bot.user()
    await _ready(user)
    await _withdraw_prompt(user)
    to = Keypair().pubkey()
    assert "Confirm withdrawal" in await _request(user, f"{to} 0.1")

    answers = [plain((await _pin(user, pin))[1]["text"]) for pin in WRONG]
    assert [a.split(" attempt")[0] for a in answers[:4]] == [
        "Wrong PIN. 4",
        "Wrong PIN. 3",
        "Wrong PIN. 2",
        "Wrong PIN. 1",
    ]
    assert "The PIN is now locked" in answers[4]
    # The lock ends the confirmation; a new one with the right PIN is refused while locked.
    await _withdraw_prompt(user)
    assert "Confirm withdrawal" in await _request(user, f"{to} 0.1")
    _, locked = await _pin(user, PIN)
    assert "Too many wrong PINs. The PIN is locked for" in plain(locked["text"])
    assert bot.sol_balance(to) == 0
    assert await _withdrawals_of(bot.app, user) == []


@ONE_BACKEND
async def test_what_is_not_a_solana_wallet_is_refused_and_the_request_can_be_corrected(
    bot: BotUnderTest,
) -> None:
    """Chosen refusals: bad base58, wrong length, an Ethereum 0x address, an off-curve
    program-derived address (here an associated token account), a program id."""
    user = bot.user()
    wallet = await _ready(user)
    await _withdraw_prompt(user)
    pda = Pubkey.find_program_address([bytes(wallet)], TOKEN_PROGRAM_ID)[0]
    refusals = {
        "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9Pus0Fi": "not a Solana address",
        "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9Pus": "is 32 bytes",
        "0x742d35Cc6634C0532925a3b844Bc454e4438f44e": "Ethereum address",
        str(pda): "program-derived",
        str(TOKEN_PROGRAM_ID): "is a program",
    }
    for destination, sentence in refusals.items():
        assert sentence in await _request(user, f"{destination} 0.1"), destination
    to = Keypair().pubkey()
    assert "Confirm withdrawal" in await _request(user, f"{to} 0.1")
    assert bot.landed_from(wallet) == []
    assert await _withdrawals_of(bot.app, user) == []


@ONE_BACKEND
async def test_an_amount_above_the_balance_or_zero_is_refused(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await _ready(user, SOL)
    await _withdraw_prompt(user)
    to = Keypair().pubkey()
    assert "Not enough SOL" in await _request(user, f"{to} 1.5")
    zero = await _request(user, f"{to} 1e-999999999")
    assert "That amount is zero" in zero, zero
    assert "Confirm withdrawal" in await _request(user, f"{to} 0.5")
    assert bot.landed_from(wallet) == []


async def test_a_token_bought_on_localnet_is_withdrawn_in_part(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await _ready(user)
    token = bot.launch("honest", liquidity_sol=100)
    bought = await user.buy(await user.card(token.mint), "Buy 0.1 SOL")
    assert "✅" in bought["text"], bought["text"]
    held = bot.token_balance(wallet, token.mint)
    assert held > 0
    await _withdraw_prompt(user)
    to = Keypair().pubkey()

    preview = await _request(user, f"{to} 40% {token.mint}")
    assert "Confirm withdrawal" in preview
    assert "A token account will be created for the recipient." in preview
    sent, _ = await _pin(user, PIN)
    result = await user.wait_for(lambda m: _done(m["text"]), after=sent, what="the result")

    assert "✅ Sent" in plain(result["text"]), result["text"]
    assert bot.token_balance(to, token.mint) == held * 4_000 // 10_000
    assert bot.token_balance(wallet, token.mint) == held - held * 4_000 // 10_000
    (row,) = await _withdrawals_of(bot.app, user)
    assert (row["asset"], row["status"]) == (str(token.mint), "CONFIRMED")


@ONE_BACKEND
async def test_throttled_messages_are_answered_and_the_request_goes_on(bot: BotUnderTest) -> None:
    """Twelve lines at once (faster than anyone types): the bot handles its burst of six and
    answers the rest with a notice instead of dropping them; the conversation stays where it was.
    (Which ones are throttled depends on the order the updates are handled; that a throttled
    PIN is deleted too is in tests/telegram/test_throttle.py, with a clock the test moves.)"""
    user = bot.user()
    await _ready(user)
    await _withdraw_prompt(user)
    await asyncio.sleep(2.5)  # a full bucket, so the burst below is what empties it
    burst = [user.send("hello") for _ in range(12)]

    notice = await user.wait_for(
        lambda m: "Slow down" in m.get("text", ""), after=burst[0], what="the throttle notice"
    )
    assert "that message was not processed" in plain(notice["text"])
    handled = await user.wait_for_many(
        lambda m: "DESTINATION AMOUNT" in m.get("text", ""), 6, after=burst[-1], what="handled"
    )
    assert len(handled) <= 11

    await asyncio.sleep(2.5)  # the user waits, as the notice asks, and goes on with the request
    to = Keypair().pubkey()
    assert "Confirm withdrawal" in await _request(user, f"{to} 0.1")
    sent, _ = await _pin(user, PIN)
    await user.wait_for(lambda m: "✅ Sent" in m["text"], after=sent, what="the result")
    assert bot.sol_balance(to) == SOL // 10


@asynccontextmanager
async def _backend(kind: str) -> AsyncIterator[tuple[str, str]]:
    if kind == "sqlite":
        yield "", ""
        return
    async with postgres_database() as database_url, redis_database() as redis_url:
        yield database_url, redis_url


@asynccontextmanager
async def _running(net: Localnet, values: dict[str, str]) -> AsyncIterator[App]:
    app = App(load_settings(values, embedded=True), auto_migrate=True)
    runner: asyncio.Task[None] | None = None
    try:
        with scaled_chat_pace(net):
            await app.start()
        runner = asyncio.create_task(app.run(), name="app-under-test")
        yield app
    finally:
        app.stop_event.set()
        if runner is not None:
            with suppress(asyncio.CancelledError):
                await runner
        await app.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres+redis"])
async def test_a_restart_while_confirming_tells_the_owner_once(tmp_path: Path, kind: str) -> None:
    async with _backend(kind) as (database_url, redis_url), running_net() as net:
        values = e2e_env(net, tmp_path, database_url=database_url, redis_url=redis_url)
        user = User(net, 800_001)
        to = Keypair().pubkey()
        async with _running(net, values) as first:
            await _ready(user)
            await _withdraw_prompt(user)
            assert "Confirm withdrawal" in await _request(user, f"{to} 0.3")
            await net.cluster.stop()  # the transfer executes but never confirms before the stop
            sent, reply = await _pin(user, PIN)
            assert CONFIRMING in plain(reply["text"]), reply["text"]
        (row,) = await _withdrawals_of_closed(values, user)
        assert row["status"] in ("SIGNED", "SENT")

        async with _running(net, values) as second:
            await net.cluster.start()
            pushed = await user.wait_for(lambda m: _done(m["text"]), after=sent, what="result")
            assert "✅ Sent" in plain(pushed["text"]), pushed["text"]
            await second.withdrawals.sweep()
            await _quiet()
            (row,) = await _withdrawals_of(second, user)
        assert first is not second
        assert (row["status"], row["notifiedAt"] is not None) == ("CONFIRMED", True)
        assert len(_results(user, sent)) == 1
        assert int(net.cluster.get_balance(to)) == 3 * SOL // 10


async def _withdrawals_of_closed(values: dict[str, str], user: User) -> list[dict[str, Any]]:
    """Read the rows while no bot runs (a fresh engine on the same database)."""
    from sniper_bot.storage.database import Database

    settings = load_settings(values, embedded=True)
    database = Database(settings.database_url, pool_size=1)
    await database.connect(attempts=1)
    try:
        async with database.engine.connect() as conn:
            from sqlalchemy import text

            result = await conn.execute(
                text(
                    'SELECT w.* FROM "Withdrawal" w JOIN "User" u ON u.id = w."userId" '
                    'WHERE u."telegramId" = :tg'
                ),
                {"tg": user.user_id},
            )
            return [dict(r._mapping) for r in result]
    finally:
        await database.dispose()
