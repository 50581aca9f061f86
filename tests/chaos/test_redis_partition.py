"""Issue 10 item 1 end to end: a Redis partition must never make the bot buy a second time.

The real app on localnet (PostgreSQL, a private redis-server, the fake Telegram Bot API), driven
only as a user and an operator would. A user pastes an honest mint and presses "Buy X SOL": the
bot asks "How much SOL?" and keeps "waiting for an amount" in the ``"Session"`` row and its Redis
copy (checked in Redis itself before the fault). Redis is paused (SIGSTOP) and the user sends
``0.05``: the bot buys and clears the conversation while Redis cannot take that write. Redis is
resumed (SIGCONT) still holding the old copy; once ``/health`` says the bot has Redis back, the
user sends ``0.2``. Before the fix that stale copy was read back and bought again (the issue saw
``50000000 CONFIRMED …:buyx`` then ``200000000 CONFIRMED …:buyx``); now ``0.2`` is stray text
and gets the hint. When the bot trusts Redis again (its mode row says ``redis`` after the
resync), ``0.3`` is sent as well: the copy the resync put back is the cleared conversation.

Each user ends with exactly one order (0.05 SOL, CONFIRMED), one landed swap signed by their
wallet (the order's signature, its tokens in the wallet) and one result message.

Variants: five users at once through the same pause; Redis killed and restarted empty between
the press and the amount (the amount still buys once, from the database copy).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg
import pytest
import redis.asyncio as aioredis
from solders.pubkey import Pubkey

from e2e.harness import SOL, BotUnderTest, User, bot_under_test, final, plain
from localnet.tokens import TokenInfo
from support.services import RedisServer

from .counts import summarise
from .orders import asyncpg_dsn, eventually

pytestmark = pytest.mark.slow

HINT = "Paste a token mint address to see its card, or send /help for the commands."
WAITING = "BuyX:amount"  # the aiogram state "waiting for an amount", as stored
META_ID = "fsm-meta:primary"  # the "Session" row that says whether the bot reads Redis
BUY_LAMPORTS = 50_000_000
RESULT_TIMEOUT_S = 90.0  # bounds a failing run only: reads wait out Redis timeouts first
RECOVER_S = 60.0

Fault = Literal["pause", "restart empty"]


def pause(server: RedisServer) -> None:
    """SIGSTOP: Redis keeps its sockets open and answers nothing, like a network partition."""
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)


def resume(server: RedisServer) -> None:
    """SIGCONT: Redis answers again, with every key it held when it was paused."""
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGCONT)


@dataclass
class Trader:
    user: User
    wallet: Pubkey


async def _redis_status(bot: BotUnderTest) -> str:
    _, body = await bot.ops("/health")
    status: str = json.loads(body)["components"]["redis"]["status"]
    return status


async def _fsm_mode(database_url: str) -> str | None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        raw = await conn.fetchval('SELECT data FROM "Session" WHERE id = $1', META_ID)
    finally:
        await conn.close()
    if raw is None:
        return None
    data: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return str(data.get("mode"))


async def _reads_redis(database_url: str, traders: list[Trader], *, before_fault: bool) -> None:
    """Until the bot reads Redis (mode row ``redis``); a resync starts on a read: users ask /help.

    ``before_fault`` also accepts no mode row at all: a storage without the mode protocol (the
    one before the fix) reads Redis whenever it answers, so the scenario still runs on it and
    fails where the bug is, at ``0.2``. The bot of today writes that row on its first read."""
    accepted = {"redis", None} if before_fault else {"redis"}

    async def reading() -> bool:
        if await _fsm_mode(database_url) in accepted:
            return True
        await asyncio.gather(
            *(t.user.says("/help", until=lambda s: "/wallet" in s, what="help") for t in traders)
        )
        return await _fsm_mode(database_url) in accepted

    await eventually(reading, "the bot reads Redis (mode row says redis)", RECOVER_S)


async def _redis_copy_waits(server: RedisServer, user: User) -> bool:
    """Redis itself holds a copy of this user's conversation that waits for an amount."""
    client = aioredis.Redis.from_url(server.url, socket_timeout=5)
    try:
        async for key in client.scan_iter(match=f"*:{user.user_id}:*"):
            if await client.type(key) == b"string":
                value = await client.get(key)
                if value is not None and WAITING.encode() in value:
                    return True
        return False
    finally:
        await client.aclose()


async def _asks_for_an_amount(bot: BotUnderTest, token: TokenInfo) -> Trader:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    card = await user.card(token.mint)
    await user.presses(card, "Buy X SOL", until=lambda t: "How much SOL" in t)
    return Trader(user, wallet)


async def _buys(trader: Trader, amount: str) -> str:
    sent = await trader.user.type(amount)
    result = await trader.user.wait_for(
        lambda m: final(m.get("text", "")),
        after=sent,
        what=f"the result of buying {amount}",
        timeout_s=RESULT_TIMEOUT_S,
    )
    return plain(result["text"])


async def _answer(trader: Trader, text: str) -> str:
    """The bot's first new message after ``text``: a buy would show up here as its order."""
    sent = await trader.user.type(text)
    reply = await trader.user.wait_for(lambda _: True, after=sent, what=f"an answer to {text!r}")
    return plain(reply.get("text", ""))


async def _one_buy_each(bot: BotUnderTest, traders: list[Trader], token: TokenInfo) -> None:
    for trader in traders:
        orders = await bot.orders_of(trader.user)
        assert [(o["amount"], o["status"]) for o in orders] == [(BUY_LAMPORTS, "CONFIRMED")], (
            trader.user.user_id,
            [(o["amount"], o["status"], o["idempotencyKey"]) for o in orders],
        )
        landed = bot.landed_from(trader.wallet)
        assert [str(s) for s in landed] == [orders[0]["signature"]], trader.user.user_id
        outcome = bot.net.cluster.history.get(landed[0])
        assert outcome is not None
        assert outcome.ok
        assert bot.token_balance(trader.wallet, token.mint) == orders[0]["outAmount"]


async def _partition_scenario(
    name: str, tmp_path: Path, database_url: str, server: RedisServer, users: int, fault: Fault
) -> None:
    async with bot_under_test(tmp_path, database_url=database_url, redis_url=server.url) as bot:
        token = bot.launch("honest", liquidity_sol=200)
        traders: list[Trader] = []
        answers: list[str] = []
        try:
            traders += await asyncio.gather(
                *(_asks_for_an_amount(bot, token) for _ in range(users))
            )
            # the bot must be reading Redis, and Redis must hold "waiting for an amount"
            await _reads_redis(database_url, traders, before_fault=True)
            for trader in traders:
                assert await _redis_copy_waits(server, trader.user), trader.user.user_id

            if fault == "pause":
                pause(server)
            else:
                server.kill()
                server.start()  # same port, no data
            results = await asyncio.gather(*(_buys(t, "0.05") for t in traders))
            assert all("Buy 0.05 SOL of" in r and "✅ Bought" in r for r in results), results
            if fault == "pause":
                resume(server)
                # the stale copy is back in Redis, and so is the bot's connection to it
                assert all([await _redis_copy_waits(server, t.user) for t in traders])
            await eventually(lambda: _has_redis(bot), "the bot has Redis back (/health)", RECOVER_S)

            answers += await asyncio.gather(*(_answer(t, "0.2") for t in traders))
            assert answers == [HINT] * users
            await _one_buy_each(bot, traders, token)

            # once the bot reads Redis again, the copy it resynced is the cleared conversation
            await _reads_redis(database_url, traders, before_fault=False)
            for trader in traders:
                assert not await _redis_copy_waits(server, trader.user), trader.user.user_id
            answers += await asyncio.gather(*(_answer(t, "0.3") for t in traders))
            assert answers == [HINT] * (2 * users)
            await _one_buy_each(bot, traders, token)
        finally:
            result = await summarise(
                name,
                bot,
                database_url,
                [t.wallet for t in traders],
                extra=f"stray amounts answered with the hint={answers.count(HINT)}/{2 * users}",
            )
    assert result.non_final == 0
    assert result.swaps_on_chain == result.trade_rows == result.statuses["CONFIRMED"] == users
    assert list(result.messages.values()) == [1] * users, result.messages


async def _has_redis(bot: BotUnderTest) -> bool:
    return await _redis_status(bot) == "ok"


@pytest.mark.timeout(300)
async def test_a_redis_partition_never_buys_from_a_stale_conversation(
    tmp_path: Path, pg_url: str, private_redis: RedisServer
) -> None:
    await _partition_scenario("redis SIGSTOP, 1 user", tmp_path, pg_url, private_redis, 1, "pause")


@pytest.mark.timeout(420)
async def test_five_users_through_one_redis_partition_each_buy_once(
    tmp_path: Path, pg_url: str, private_redis: RedisServer
) -> None:
    await _partition_scenario("redis SIGSTOP, 5 users", tmp_path, pg_url, private_redis, 5, "pause")


@pytest.mark.timeout(300)
async def test_redis_restarted_empty_mid_conversation_buys_once_from_the_database(
    tmp_path: Path, pg_url: str, private_redis: RedisServer
) -> None:
    await _partition_scenario(
        "redis restarted empty, 1 user", tmp_path, pg_url, private_redis, 1, "restart empty"
    )
