"""Redis dies mid-run (SIGKILL) and comes back: only /health and metrics notice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from sniper_bot.cache import FallbackCache, MemoryCache, RedisManager
from sniper_bot.cache.redis_breaker import RedisBreakerStore
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff
from sniper_bot.resilience.breaker import (
    BreakerConfig,
    BreakerRegistry,
    BreakerState,
    CircuitOpenError,
)

from .redis_server import RedisServer, free_port

FAST_RECONNECT = Backoff(base_s=0.01, factor=2.0, max_s=0.05, jitter=0.0)
CFG = BreakerConfig(failure_threshold=2, timeout_s=30.0)


class StepClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def eventually(predicate: object, what: str, limit_s: float = 10.0) -> None:
    """Wait for a background effect; the bound is a hang guard, not an assertion on time."""
    assert callable(predicate)
    for _ in range(int(limit_s / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def server() -> Iterator[RedisServer]:
    srv = RedisServer()
    srv.start()
    yield srv
    srv.kill()


def redis_up(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("redis_up")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def manager(server: RedisServer, metrics: Metrics) -> AsyncIterator[RedisManager]:
    mgr = RedisManager(server.url, metrics=metrics, reconnect_backoff=FAST_RECONNECT)
    await mgr.start()
    yield mgr
    await mgr.close()


async def raw_get(url: str, key: str, field: str | None = None) -> bytes | None:
    client = aioredis.Redis.from_url(url)
    try:
        value = await (client.get(key) if field is None else client.hget(key, field))
        return value.encode() if isinstance(value, str) else value
    finally:
        await client.aclose()


async def test_kill_and_restart_redis_cache_and_breakers_keep_working(
    server: RedisServer, manager: RedisManager, metrics: Metrics
) -> None:
    clock = StepClock()
    cache = FallbackCache(manager, MemoryCache(100), metrics)
    registry = BreakerRegistry(RedisBreakerStore(manager), CFG, metrics, clock=clock)
    breaker = registry.get("rpc_pool")

    await cache.set("session:1", b"before")
    assert await raw_get(server.url, "session:1") == b"before"
    assert manager.status() == "ok"
    assert redis_up(metrics) == 1

    with capture_logs() as logs:
        server.kill()
        # first use after the crash: no exception reaches the caller, memory takes over
        assert await cache.get("session:1") is None
        await cache.set("session:2", b"during")
        assert await cache.get("session:2") == b"during"
        await breaker.record_failure()
        await breaker.record_failure()
        assert breaker.state() is BreakerState.OPEN
        with pytest.raises(CircuitOpenError):
            await breaker.acquire()
        assert manager.status() == "degraded"
        assert redis_up(metrics) == 0
        for _ in range(20):  # degraded calls do no Redis I/O and log nothing more
            await cache.get("session:2")
    assert [e["event"] for e in logs].count("redis_unavailable") == 1

    server.start()  # same port, empty (no persistence): Redis lost the breaker hash
    await eventually(lambda: manager.available, "automatic reconnect")
    assert manager.status() == "ok"
    assert redis_up(metrics) == 1

    await cache.set("session:3", b"after")
    assert await raw_get(server.url, "session:3") == b"after"
    assert await cache.get("session:3") == b"after"

    clock.now += 1  # next refresh resyncs the local OPEN state into the new Redis
    with pytest.raises(CircuitOpenError):
        await breaker.acquire()
    assert await raw_get(server.url, "circuit_breaker:rpc_pool", "state") == b"OPEN"
    await registry.close()


async def test_unreachable_redis_at_start_is_degraded_and_connects_when_it_appears() -> None:
    port = free_port()
    metrics = Metrics()
    mgr = RedisManager(
        f"redis://127.0.0.1:{port}/0", metrics=metrics, reconnect_backoff=FAST_RECONNECT
    )
    with capture_logs() as logs:
        await mgr.start()
    try:
        assert mgr.status() == "degraded"
        assert [e["event"] for e in logs] == ["redis_unavailable"]
        cache = FallbackCache(mgr, MemoryCache(10))
        await cache.set("k", b"v")
        assert await cache.get("k") == b"v"
        srv = RedisServer(port)
        srv.start()
        try:
            await eventually(lambda: mgr.available, "reconnect")
            assert redis_up(metrics) == 1
            await cache.set("k", b"in-redis")
            assert await raw_get(srv.url, "k") == b"in-redis"
        finally:
            srv.kill()
    finally:
        await mgr.close()


async def test_empty_redis_url_disables_redis_without_io() -> None:
    metrics = Metrics()
    mgr = RedisManager("", metrics=metrics)
    await mgr.start()
    assert (mgr.status(), mgr.client, mgr.available) == ("disabled", None, False)
    registry = BreakerRegistry(RedisBreakerStore(mgr), CFG, metrics)
    breaker = registry.get("rpc_pool")
    await breaker.record_failure()
    await breaker.record_failure()
    assert breaker.state() is BreakerState.OPEN  # same behaviour, in memory
    mgr.mark_failed(RuntimeError("ignored when disabled"))
    assert mgr.status() == "disabled"
    await mgr.close()
