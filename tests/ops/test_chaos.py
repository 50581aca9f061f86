"""`sniper-bot chaos SCENARIO` against a running bot on localnet, then the runbook's recovery.

One bot for the module: the whole app (PostgreSQL database of its own, a private redis-server,
localnet's RPC endpoints, Jupiter API and fake Telegram), CIRCUIT_BREAKER_TIMEOUT 1 s so the
automatic recovery fits a test. Each scenario runs for real (localnet fault profiles over its
control API, CLIENT PAUSE on Redis, ALLOW_CONNECTIONS false + pg_terminate_backend on
PostgreSQL), each test checks the fault showed (health or breakers), runs the runbook's recovery
steps and checks the bot recovered: /health ok, every breaker CLOSED, every order final.
The recovery times are printed (``-s``) for the closing note; nothing asserts on them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio

from e2e.harness import SOL, BotUnderTest, bot_under_test, plain, sql_rows
from sniper_bot.ops.chaos import ChaosError, ChaosTarget, recovered, run_scenario
from support.services import RedisServer, free_port, postgres_database

pytestmark = pytest.mark.asyncio(loop_scope="module")

SNIPER_BOT = Path(sys.executable).parent / "sniper-bot"
RECOVERY_TIMEOUT_S = 45.0
TIMES: dict[str, float] = {}
FINAL = ("CONFIRMED", "FAILED", "EXPIRED", "CANCELLED")
ADMIN = 4343


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> AsyncIterator[BotUnderTest]:
    env = {
        "CIRCUIT_BREAKER_TIMEOUT": "1000",
        "CIRCUIT_BREAKER_MONITORING_PERIOD": "10000",
        "ADMIN_TELEGRAM_IDS": str(ADMIN),  # CHAOS_ENABLED stays false: /memory hog is refused
    }
    async with (
        postgres_database() as database_url,
        bot_under_test(
            tmp_path_factory.mktemp("chaos"),
            database_url=database_url,
            redis_url=redis_server.url,
            env=env,
        ) as b,
    ):
        yield b
    print("\nchaos recovery times (s after the clear):", {k: round(v, 2) for k, v in TIMES.items()})


def _target(bot: BotUnderTest) -> ChaosTarget:
    assert bot.net.urls is not None
    return ChaosTarget(
        ops_url=bot.app.ops.url,
        localnet_url=bot.net.urls.control,
        redis_url=bot.app.settings.redis_url,
        database_url=bot.app.settings.database_url,
    )


async def _run(bot: BotUnderTest, scenario: str, *, duration_s: float, wait: bool) -> list[str]:
    lines: list[str] = []
    result = await run_scenario(
        scenario,
        _target(bot),
        duration_s=duration_s,
        recovery_timeout_s=RECOVERY_TIMEOUT_S if wait else 0,
        say=lines.append,
    )
    if wait:
        assert result.recovered, lines
        assert result.recovery_s is not None
        TIMES[scenario] = result.recovery_s
    print(scenario, lines)
    return lines


async def _every_order_final(bot: BotUnderTest) -> None:
    for _ in range(300):
        rows = await sql_rows(bot.app, 'SELECT id, status FROM "SniperOrder"')
        if all(r["status"] in FINAL for r in rows):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"orders not final after the recovery: {rows}")


async def _recovered_after_runbook(bot: BotUnderTest, scenario: str) -> None:
    ok, seconds, state = await recovered(bot.app.ops.url, RECOVERY_TIMEOUT_S)
    assert ok, state
    TIMES[scenario] = seconds
    await _every_order_final(bot)


async def _shell(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out
    return out.decode(errors="replace")


async def test_rpc_failures_open_the_breakers_and_they_close_by_themselves(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    await user.start()
    chaos = asyncio.create_task(_run(bot, "rpc-failures", duration_s=3.0, wait=True))
    while not chaos.done():  # users keep asking (each /start reads the balance over RPC)
        await user.type("/start")
        await asyncio.sleep(0.3)
    lines = await chaos

    held = next(line for line in lines if line.startswith("held"))
    assert "OPEN" in held, lines  # the fault reached the bot's breakers
    assert lines[-1].startswith("recovered in")
    await _every_order_final(bot)  # Level 1 of the runbook: automatic, no action


async def test_tx_failures_fail_the_buy_and_the_next_one_lands(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.funded(2 * SOL)
    token = bot.launch("honest", liquidity_sol=100)
    card = await user.card(token.mint)
    # the bot resends the same bytes until the blockhash expires (150 slots: 6 s at localnet's
    # 40 ms), so a shorter outage only delays the buy: hold it past the expiry
    chaos = asyncio.create_task(_run(bot, "tx-failures", duration_s=8.0, wait=True))
    await asyncio.sleep(0.3)

    failed = await user.buy(card, "Buy 0.1 SOL")
    lines = await chaos

    assert "❌" in failed["text"], plain(failed["text"])
    (order,) = await bot.orders_of(user)
    assert order["status"] in ("FAILED", "EXPIRED"), order
    assert lines[-1].startswith("recovered in")
    again = await user.buy(await user.card(token.mint), "Buy 0.1 SOL")
    assert "✅" in again["text"], plain(again["text"])
    await _every_order_final(bot)


async def test_breaker_stuck_open_is_cleared_by_the_runbooks_manual_reset(
    bot: BotUnderTest, redis_server: RedisServer
) -> None:
    lines = await _run(bot, "breaker-stuck-open", duration_s=1.5, wait=False)
    reset = lines[-1].split("manual reset: ", 1)[1]
    names = reset.split(" DEL ", 1)[1].split()
    assert "circuit_breaker:rpc_pool" in names

    # the runbook: redis-cli -u "$REDIS_URL" DEL circuit_breaker:rpc_pool (and per endpoint)
    await _shell("redis-cli", "-u", redis_server.url, "DEL", *names)
    await _recovered_after_runbook(bot, "breaker-stuck-open")


async def test_redis_failure_degrades_and_the_bot_reconnects(
    bot: BotUnderTest, redis_server: RedisServer
) -> None:
    chaos = asyncio.create_task(_run(bot, "redis-failure", duration_s=2.5, wait=False))
    user = bot.user()

    async def users_keep_coming() -> None:  # sessions, breakers, caches use Redis
        while not chaos.done():
            await user.type("/start")
            await asyncio.sleep(0.2)

    # /health is polled on its own (as a monitor does): a /start that met the pause may wait
    # for Redis until it ends, and must not hide what /health said meanwhile
    traffic = asyncio.create_task(users_keep_coming())
    seen = set()
    while not chaos.done():
        status, body = await bot.ops("/health")
        seen.add((status, json.loads(body)["components"]["redis"]["status"]))
        await asyncio.sleep(0.2)
    await chaos
    await traffic

    assert (200, "degraded") in seen, seen  # degraded, never down
    # the runbook: "Verify Redis is running": redis-cli ping -> PONG (no restart needed)
    assert "PONG" in await _shell("redis-cli", "-u", redis_server.url, "ping")
    await _recovered_after_runbook(bot, "redis-failure")


async def test_database_loss_takes_health_down_and_it_comes_back(bot: BotUnderTest) -> None:
    chaos = asyncio.create_task(_run(bot, "database-loss", duration_s=2.5, wait=False))
    statuses = set()
    while not chaos.done():
        statuses.add((await bot.ops("/health"))[0])
        await asyncio.sleep(0.2)
    lines = await chaos

    assert 503 in statuses, (statuses, lines)
    # the runbook: until pg_isready -h db-host -U postgres; do sleep 1; done (no app restart)
    url = bot.app.settings.database_url
    host = url.split("@", 1)[1].split(":", 1)[0]
    assert "accepting connections" in await _shell("pg_isready", "-h", host, "-U", "postgres")
    await _recovered_after_runbook(bot, "database-loss")


async def test_the_cli_runs_a_scenario_and_refuses_what_it_cannot_do(
    bot: BotUnderTest, tmp_path: Path
) -> None:
    assert bot.net.urls is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))}
    env |= {"LOCALNET_CONTROL_URL": bot.net.urls.control, "DATA_DIR": str(tmp_path)}

    async def cli(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            str(SNIPER_BOT), "chaos", *args, "--ops-url", bot.app.ops.url, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 90)
        return proc.returncode or 0, " ".join(out.decode(errors="replace").split())

    (code, out), (memory, memory_out), (redis, redis_out) = await asyncio.gather(
        cli("rpc-failures", "--duration", "1"),
        cli("memory-pressure"),
        cli("redis-failure", "--duration", "1"),
    )
    assert code == 0, out
    for part in ("inject:", "held 1 s", "clear: endpoints", "recovered in"):
        assert part in out, out
    assert memory == 1  # no admin in this shell's settings: nobody to send /memory hog
    assert "memory-pressure sends /memory hog as an admin: ADMIN_TELEGRAM_IDS is empty" in (
        memory_out
    )
    assert redis == 1
    assert "REDIS_URL is empty" in redis_out
    await _every_order_final(bot)


async def test_memory_pressure_needs_a_bot_started_with_chaos_enabled(bot: BotUnderTest) -> None:
    """An admin's /memory hog on a bot without CHAOS_ENABLED is refused with its sentence; the
    drill says so, holds nothing, and leaves tracing off."""
    target = replace(_target(bot), admin_id=ADMIN, memory_limit_mib=65_536)
    lines: list[str] = []
    with pytest.raises(ChaosError, match="only with CHAOS_ENABLED=true"):
        await run_scenario("memory-pressure", target, duration_s=1, say=lines.append)
    assert lines == []  # nothing injected
    inbox = bot.net.telegram.inbox(ADMIN)
    assert "Tracing off" in inbox[-1]["text"], inbox[-1]["text"]  # /memory trace off answered
    ok, _, state = await recovered(bot.app.ops.url, RECOVERY_TIMEOUT_S)
    assert ok, state
