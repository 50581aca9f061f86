"""Breakers through a stop and through a recovery, end to end: the real app on localnet, real
PostgreSQL and Redis (where breaker state is shared by replicas and outlives a process).

A graceful stop is not the endpoints' fault: it must leave every breaker as it found it. An
endpoint whose fault cleared must close again through the health probe alone, with no user traffic.
"""

from __future__ import annotations

import asyncio
import gc
import json
import secrets
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis

from e2e.harness import SOL, BotUnderTest, User, bot_under_test, e2e_env, running_net
from e2e.test_process import SNIPER_BOT, STOP_DEADLINE_S, _base_env, _migrate, _wait_healthy
from localnet.node import Localnet
from sniper_bot.observability.metrics import Metrics
from support.services import free_port, postgres_database, redis_database

IN_FLIGHT = ("SIGNED", "SENT")
FAILED_OUTCOMES = ("transport", "timeout", "malformed", "node_behind", "rate_limited")
ENDPOINTS = ("helius", "quicknode", "public")
# every status poll of the landing loop is still on the wire when the stop comes
SLOW_STATUS = {"latency_ms": 1000, "methods": ["getSignatureStatuses"]}
NEVER_RETRIEVED = "Future exception was never retrieved"


async def _eventually(
    check: Callable[[], Awaitable[bool]], what: str, within_s: float = 60
) -> None:
    """Poll until ``check`` holds; the generous deadline only bounds a failing test."""
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.05)


async def _set_faults(net: Localnet, profile: dict[str, Any], *names: str) -> None:
    assert net.urls is not None
    async with aiohttp.ClientSession() as http:
        for name in names or ENDPOINTS:
            url = f"{net.urls.control}/endpoints/{name}/faults"
            async with http.put(url, json=profile) as resp:
                assert resp.status == 200, await resp.text()


async def _breakers_in_redis(url: str) -> dict[str, dict[str, str]]:
    """Every ``circuit_breaker:<name>`` hash. A breaker that never left the CLOSED fast path has
    none, which reads as CLOSED."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        out: dict[str, dict[str, str]] = {}
        async for key in client.scan_iter("circuit_breaker:*"):
            if await client.type(key) == "hash":
                out[key.removeprefix("circuit_breaker:")] = await client.hgetall(key)
        return out
    finally:
        await client.aclose()


def _tripped_or_counting(breakers: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {
        name: shared
        for name, shared in breakers.items()
        if shared.get("state") != "CLOSED" or shared.get("failureCount") != "0"
    }


def _samples(metrics: Metrics, metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == metric and s.value
    }


async def _order_statuses(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await conn.fetch('SELECT status FROM "SniperOrder" ORDER BY "createdAt"')
        return [str(row["status"]) for row in rows]
    finally:
        await conn.close()


async def _buys_stuck_landing(net: Localnet, users: list[User], database_url: str) -> None:
    """Each user presses "Buy 0.1 SOL"; the swaps land "processed" and never confirm (the slot
    clock is stopped), so every order stays in its landing loop, polling the endpoints."""
    token = net.factory.create("honest", liquidity_sol=100)
    cards = []
    for user in users:
        await user.funded(2 * SOL)
        cards.append(await user.card(token.mint))
    await net.cluster.stop()
    await _set_faults(net, SLOW_STATUS)
    for user, card in zip(users, cards, strict=True):
        await user.press_data(card["message_id"], user.button(card, "Buy 0.1 SOL"))

    async def landing() -> bool:
        statuses = await _order_statuses(database_url)
        return len(statuses) == len(users) and all(s in IN_FLIGHT for s in statuses)

    await _eventually(landing, "every buy reached its landing loop")
    await asyncio.sleep(0.5)  # a few polls of each landing loop


async def test_stopping_the_app_mid_landing_counts_no_failure_and_leaves_breakers_closed(
    tmp_path: Path,
) -> None:
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    try:
        async with postgres_database() as database_url, redis_database() as redis_url:
            async with bot_under_test(
                tmp_path, database_url=database_url, redis_url=redis_url
            ) as bot:
                await _buys_stuck_landing(bot.net, [bot.user()], database_url)
                metrics = bot.app.metrics
            # leaving bot_under_test stopped the app as SIGTERM does: stop event, run(), close()
            await asyncio.sleep(1.0)  # whatever the stop left running would fail now
            gc.collect()
            breakers = await _breakers_in_redis(redis_url)
    finally:
        loop.set_exception_handler(previous)

    assert _tripped_or_counting(breakers) == {}
    assert _samples(metrics, "circuit_breaker_failures_total") == {}
    failed = {
        labels: n
        for labels, n in _samples(metrics, "rpc_requests_total").items()
        if dict(labels)["outcome"] in FAILED_OUTCOMES
    }
    assert failed == {}
    assert [str(c.get("exception") or c.get("message")) for c in unhandled] == []


async def test_sigterm_with_five_buys_landing_exits_cleanly_and_no_breaker_opens_in_redis(
    tmp_path: Path,
) -> None:
    async with (
        postgres_database() as database_url,
        redis_database() as redis_url,
        running_net(seed=11) as net,
    ):
        port = free_port()
        env = _base_env(tmp_path) | e2e_env(
            net, tmp_path, database_url=database_url, redis_url=redis_url
        )
        env |= {"SESSION_MASTER_SECRET": secrets.token_hex(32), "METRICS_PORT": str(port)}
        await _migrate(env)
        stderr = (tmp_path / "stderr.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            SNIPER_BOT, "run", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        try:
            await _wait_healthy(f"http://127.0.0.1:{port}/health", proc)
            users = [User(net, 920_001 + i) for i in range(5)]
            await _buys_stuck_landing(net, users, database_url)

            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), STOP_DEADLINE_S + 5)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            stderr.close()
        breakers = await _breakers_in_redis(redis_url)
        statuses = await _order_statuses(database_url)

    logged = (tmp_path / "stderr.log").read_text()
    assert _tripped_or_counting(breakers) == {}
    assert code == 0
    assert NEVER_RETRIEVED not in logged
    assert "Session is closed" not in logged  # nothing used the HTTP session after it closed
    assert all(s in IN_FLIGHT for s in statuses), statuses  # left for recovery, not failed


async def _health(bot: BotUnderTest) -> dict[str, Any]:
    _, body = await bot.ops("/health")
    data: dict[str, Any] = json.loads(body)
    return data


async def test_an_idle_backup_endpoint_closes_its_breaker_after_the_fault_clears_with_no_traffic(
    tmp_path: Path,
) -> None:
    async with (
        postgres_database() as database_url,
        redis_database() as redis_url,
        # a 1 s breaker timeout makes the health probe run every second
        bot_under_test(
            tmp_path,
            database_url=database_url,
            redis_url=redis_url,
            env={"CIRCUIT_BREAKER_TIMEOUT": "1000"},
        ) as bot,
    ):
        # The primary and a backup go down; the app's own background reads (the blockhash
        # refresh) fail over through both until their breakers open. No user is involved.
        await _set_faults(bot.net, {"down": True}, "helius", "quicknode")

        async def backup_open() -> bool:
            shared = (await _breakers_in_redis(redis_url)).get("rpc:quicknode", {})
            return shared.get("state") == "OPEN"

        await _eventually(backup_open, "the backup's breaker opened")
        await _set_faults(bot.net, {}, "helius", "quicknode")  # the fault clears

        async def healthy() -> bool:
            rpc = (await _health(bot))["components"]["rpc"]
            return rpc["status"] == "ok"

        await _eventually(healthy, "/health said the RPC endpoints are ok again")
        health = await _health(bot)
        breakers = await _breakers_in_redis(redis_url)

    assert health["components"]["rpc"]["endpoints"] == {
        "helius": "CLOSED",
        "quicknode": "CLOSED",
        "solana": "CLOSED",
    }
    assert breakers["rpc:quicknode"]["state"] == "CLOSED"
