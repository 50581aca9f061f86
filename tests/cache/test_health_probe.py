"""Redis health is active: a Redis that stops answering (``CLIENT PAUSE ALL`` on a private
redis-server) shows as degraded while no caller's command failed, and ``ok`` again afterwards.

``status()`` never waits: the first call starts a background PING probe (short timeout) whose
failure the next look shows; nothing is sent while nobody asks (the hot path's no-I/O
guarantee holds).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from sniper_bot.cache import RedisManager
from sniper_bot.observability.health import ComponentHealth, HealthRegistry, Status
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff

from .redis_server import RedisServer

FAST_RECONNECT = Backoff(base_s=0.01, factor=2.0, max_s=0.05, jitter=0.0)
PAUSE_MS = 1500


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    srv = RedisServer()
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture
async def manager(server: RedisServer) -> AsyncIterator[RedisManager]:
    mgr = RedisManager(
        server.url, metrics=Metrics(), reconnect_backoff=FAST_RECONNECT, probe_interval_s=0.05
    )
    await mgr.start()
    yield mgr
    await mgr.close()


async def _admin(url: str, *args: str) -> object:
    client = aioredis.Redis.from_url(url)
    try:
        return await client.execute_command(*args)
    finally:
        await client.aclose()


async def _pings(url: str) -> int:
    stats = await _admin(url, "INFO", "commandstats")
    assert isinstance(stats, dict)
    return int(stats.get("cmdstat_ping", {}).get("calls", 0))


async def _until(manager: RedisManager, wanted: str, limit: int = 400) -> list[str]:
    """Ask ``status()`` the way /health does (every 10 ms) until it says ``wanted``."""
    seen: list[str] = []
    for _ in range(limit):
        seen.append(manager.status())
        if seen[-1] == wanted:
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"status never became {wanted!r}: {sorted(set(seen))}")


async def test_a_paused_redis_is_degraded_without_any_command_failing_then_ok_again(
    server: RedisServer, manager: RedisManager
) -> None:
    assert manager.status() == "ok"
    await _admin(server.url, "CLIENT", "PAUSE", str(PAUSE_MS), "ALL")

    await _until(manager, "degraded")  # a passive status would stay "ok" for the whole pause
    assert not manager.available  # the callers switched to their fallback too
    await _until(manager, "ok")  # the pause expires by itself: reconnected, no restart


async def test_probe_answers_within_its_timeout_during_a_pause(
    server: RedisServer, manager: RedisManager
) -> None:
    assert await manager.probe() == "ok"
    await _admin(server.url, "CLIENT", "PAUSE", str(PAUSE_MS), "ALL")
    try:
        assert await manager.probe(timeout_s=0.2) == "degraded"
        assert await manager.probe() == "degraded"  # degraded: the reconnect task pings, not it
    finally:
        await _admin(server.url, "CLIENT", "UNPAUSE")
    await _until(manager, "ok")


async def test_the_health_report_turns_degraded_never_down(
    server: RedisServer, manager: RedisManager
) -> None:
    async def redis_health() -> ComponentHealth:  # as the app registers it
        return ComponentHealth(Status(manager.status()))

    health = HealthRegistry(Metrics())
    health.register("redis", redis_health, required=False)
    assert (await health.report()).status is Status.OK
    await _admin(server.url, "CLIENT", "PAUSE", str(PAUSE_MS), "ALL")
    try:
        seen = set()
        for _ in range(400):
            seen.add((await health.report()).status)
            if Status.DEGRADED in seen:
                break
            await asyncio.sleep(0.01)
        assert seen == {Status.OK, Status.DEGRADED} or seen == {Status.DEGRADED}, seen
    finally:
        await _admin(server.url, "CLIENT", "UNPAUSE")
    await _until(manager, "ok")


async def test_one_probe_however_often_asked_and_none_unasked(server: RedisServer) -> None:
    mgr = RedisManager(server.url, metrics=Metrics(), probe_interval_s=60.0)
    await mgr.start()
    try:
        before = await _pings(server.url)
        await asyncio.sleep(0.05)
        assert await _pings(server.url) == before  # nobody asked for the status: no traffic

        for _ in range(100):
            assert mgr.status() == "ok"
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        assert await _pings(server.url) == before + 1  # one probe; its next PING is 60 s away
    finally:
        await mgr.close()
    assert await _pings(server.url) == before + 1


async def test_the_probe_notices_a_pause_nobody_asks_about(
    server: RedisServer, manager: RedisManager
) -> None:
    """Once started, the probe runs by itself: callers switch to their fallback without any
    /health poll and without any of their own commands waiting on the paused server."""
    manager.status()
    await _admin(server.url, "CLIENT", "PAUSE", str(PAUSE_MS), "ALL")
    try:
        for _ in range(400):
            if not manager.available:
                break
            await asyncio.sleep(0.01)
        assert not manager.available
    finally:
        await _admin(server.url, "CLIENT", "UNPAUSE")
    await _until(manager, "ok")


async def test_status_outside_a_loop_reports_what_is_known(manager: RedisManager) -> None:
    # a thread without a loop (a CLI line, a sync caller): no probe to start, nothing raised
    assert await asyncio.to_thread(manager.status) == "ok"


@pytest.mark.parametrize(("timeout_s", "interval_s"), [(0.0, 0.5), (-1.0, 0.5), (0.5, 0.0)])
def test_bad_probe_settings_are_refused(timeout_s: float, interval_s: float) -> None:
    with pytest.raises(ValueError, match="probe_timeout_s and probe_interval_s must be > 0"):
        RedisManager(
            "redis://x", metrics=Metrics(), probe_timeout_s=timeout_s, probe_interval_s=interval_s
        )
