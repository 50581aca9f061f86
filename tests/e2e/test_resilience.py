"""Infrastructure fails under a live conversation: the primary RPC goes down, Redis dies.

Each test starts its own bot: it changes the bot's surroundings, which other tests must not see.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
from solders.keypair import Keypair

from .harness import SOL, BotUnderTest, User, bot_under_test, final, plain
from .services import RedisServer, postgres_database

BREAKER_RE = re.compile(r'^circuit_breaker_state\{name="([^"]+)"\} (\S+)$', re.MULTILINE)
SOMETHING_WRONG = "Something went wrong"


async def _health(bot: BotUnderTest) -> tuple[int, dict[str, Any]]:
    status, body = await bot.ops("/health")
    data: dict[str, Any] = json.loads(body)
    return status, data


async def _breakers(bot: BotUnderTest) -> dict[str, float]:
    _, text = await bot.ops("/metrics")
    return {name: float(value) for name, value in BREAKER_RE.findall(text)}


def _complaints(user: User) -> list[str]:
    return [
        plain(m.get("text", ""))
        for m in user.inbox()
        if SOMETHING_WRONG in m.get("text", "") or "❌" in m.get("text", "")
    ]


async def test_rpc_primary_outage_is_invisible_to_the_user(tmp_path: Path) -> None:
    async with bot_under_test(tmp_path) as bot, aiohttp.ClientSession() as http:
        user = bot.user()
        wallet = await user.funded(2 * SOL)
        token = bot.launch("honest", liquidity_sol=100)
        assert bot.net.urls is not None
        outage = f"{bot.net.urls.control}/endpoints/helius/faults"
        async with http.put(outage, json={"down": True}) as resp:
            assert resp.status == 200, await resp.text()

        result = await user.buy(await user.card(token.mint), "Buy 0.1 SOL")
        assert "✅ Bought" in result["text"]
        assert bot.token_balance(wallet, token.mint) > 0
        others = []
        for _ in range(12):  # more users keep using the bot while helius stays down
            if (await _breakers(bot)).get("rpc:helius") == 1.0:
                break
            other = bot.user()
            await other.start()
            others.append(other)

        assert (await _breakers(bot))["rpc:helius"] == 1.0  # OPEN
        status, health = await _health(bot)
        assert status == 200
        rpc = health["components"]["rpc"]
        assert rpc["status"] == "degraded"
        assert rpc["endpoints"]["helius"] == "OPEN"
        assert rpc["endpoints"]["quicknode"] == "CLOSED"
        assert health["status"] == "degraded"
        assert [c for u in [user, *others] for c in _complaints(u)] == []


async def test_redis_dies_mid_conversation_and_the_bot_keeps_answering(tmp_path: Path) -> None:
    server = RedisServer()
    server.start()
    try:
        async with (
            postgres_database() as database_url,
            bot_under_test(tmp_path, database_url=database_url, redis_url=server.url) as bot,
        ):
            user = bot.user()
            wallet = await user.funded(2 * SOL)
            token = bot.launch("honest", liquidity_sol=100)
            await user.card(token.mint)
            _, before = await _health(bot)
            assert before["components"]["redis"]["status"] == "ok"

            server.kill()

            assert await user.start() == wallet
            card = await user.card(token.mint)
            assert "(ok)" in plain(card["text"])
            result = await user.buy(card, "Buy 0.1 SOL")
            assert "✅ Bought" in result["text"]
            menu = await user.says("/wallet", until=lambda t: "Wallets" in t)
            await user.presses(menu, "📥 Import", until=lambda t: "Send the secret key" in t)
            imported = Keypair()
            sent = await user.type(str(imported))
            await user.wait_for(lambda m: "Imported wallet" in m.get("text", ""), after=sent,
                                what="import answer")  # fmt: skip
            assert user.deleted(sent)
            status, after = await _health(bot)
            assert status == 200
            assert after["components"]["redis"]["status"] == "degraded"
            assert after["status"] != "down"
            assert _complaints(user) == []
    finally:
        server.kill()


async def test_a_secret_pasted_after_redis_died_is_still_read_and_deleted(tmp_path: Path) -> None:
    server = RedisServer()
    server.start()
    try:
        async with (
            postgres_database() as database_url,
            bot_under_test(tmp_path, database_url=database_url, redis_url=server.url) as bot,
        ):
            user = bot.user()
            await user.start()
            menu = await user.says("/wallet", until=lambda t: "Wallets" in t)
            await user.presses(menu, "📥 Import", until=lambda t: "Send the secret key" in t)

            server.kill()
            sent = await user.type(str(Keypair()))
            # the first write that misses Redis waits out the other replicas' read leases (at
            # most 2 s, once per outage): correctness over latency, so no tight deadline here
            reply = await user.wait_for(lambda m: True, after=sent, what="any answer")

            assert "Imported wallet" in plain(reply["text"])
            assert user.deleted(sent)
            assert not final(reply["text"])
    finally:
        server.kill()
