"""Breaker state shared through a real Redis: replicas agree, operators' redis-cli commands work."""

from __future__ import annotations

import asyncio
import subprocess
from urllib.parse import urlparse

import pytest
import redis.asyncio as aioredis

from sniper_bot.cache.redis import RedisManager
from sniper_bot.cache.redis_breaker import RedisBreakerStore
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.breaker import (
    BreakerConfig,
    BreakerRegistry,
    BreakerState,
    CircuitOpenError,
)

from .fakes import FakeClock

CFG = BreakerConfig(failure_threshold=3, success_threshold=2, timeout_s=30.0)
REFRESH_S = 0.5


def redis_cli(redis_url: str, *args: str) -> str:
    """The operator's tool, exactly as the runbook uses it."""
    url = urlparse(redis_url)
    db = url.path.lstrip("/") or "0"
    cmd = ["/usr/bin/redis-cli", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379)]
    done = subprocess.run(
        [*cmd, "-n", db, *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


class Replica:
    """One bot process: its own Redis connection, store and registry; a shared clock."""

    def __init__(self, redis_url: str, clock: FakeClock) -> None:
        self.metrics = Metrics()
        self.manager = RedisManager(redis_url, metrics=self.metrics)
        self.registry = BreakerRegistry(
            RedisBreakerStore(self.manager), CFG, self.metrics, clock=clock, refresh_s=REFRESH_S
        )

    async def __aenter__(self) -> Replica:
        await self.manager.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.registry.close()
        await self.manager.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def trip(registry: BreakerRegistry, name: str = "rpc_pool") -> None:
    breaker = registry.get(name)
    for _ in range(CFG.failure_threshold):
        await breaker.record_failure()
    assert breaker.state() is BreakerState.OPEN


async def test_one_replica_trips_and_the_other_refuses_after_refresh(
    redis_url: str, clock: FakeClock
) -> None:
    async with Replica(redis_url, clock) as a, Replica(redis_url, clock) as b:
        await b.registry.get("rpc_pool").acquire()  # b has a fresh CLOSED view
        await trip(a.registry)
        clock.advance(REFRESH_S)
        with pytest.raises(CircuitOpenError):
            await b.registry.get("rpc_pool").acquire()
        assert b.registry.get("rpc_pool").state() is BreakerState.OPEN
        gauge = b.metrics.registry.get_sample_value("circuit_breaker_state", {"name": "rpc_pool"})
        assert gauge == 1.0


async def test_failures_from_two_replicas_add_up(redis_url: str, clock: FakeClock) -> None:
    async with Replica(redis_url, clock) as a, Replica(redis_url, clock) as b:
        await a.registry.get("rpc_pool").record_failure()
        await b.registry.get("rpc_pool").record_failure()
        await a.registry.get("rpc_pool").record_failure()
        assert a.registry.get("rpc_pool").state() is BreakerState.OPEN
        fields = redis_cli(redis_url, "HGET", "circuit_breaker:rpc_pool", "failureCount")
        assert fields == "3"


async def test_half_open_admits_one_probe_across_replicas_and_closes_on_two_successes(
    redis_url: str, clock: FakeClock
) -> None:
    async with Replica(redis_url, clock) as a, Replica(redis_url, clock) as b:
        await trip(a.registry)
        clock.advance(30)
        ba, bb = a.registry.get("rpc_pool"), b.registry.get("rpc_pool")
        calls = [ba.acquire() for _ in range(5)] + [bb.acquire() for _ in range(5)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert sum(r is None for r in results) == 1
        winner, other = (ba, bb) if results[:5].count(None) else (bb, ba)
        await winner.record_success()
        await other.refresh()
        await other.acquire()  # the slot is free again, now on the other replica
        await other.record_success()
        assert other.state() is BreakerState.CLOSED
        clock.advance(REFRESH_S)
        await winner.acquire()
        assert winner.state() is BreakerState.CLOSED


async def test_runbook_hset_reset_is_honoured(redis_url: str, clock: FakeClock) -> None:
    async with Replica(redis_url, clock) as a:
        await trip(a.registry)
        assert redis_cli(redis_url, "HGET", "circuit_breaker:rpc_pool", "state") == "OPEN"
        redis_cli(redis_url, "HSET", "circuit_breaker:rpc_pool", "state", "CLOSED")
        redis_cli(redis_url, "HSET", "circuit_breaker:rpc_pool", "failureCount", "0")
        redis_cli(redis_url, "HDEL", "circuit_breaker:rpc_pool", "lastFailureTime")
        clock.advance(REFRESH_S)
        breaker = a.registry.get("rpc_pool")
        await breaker.acquire()
        assert breaker.state() is BreakerState.CLOSED
        # counters really are zero: one more failure does not re-open it
        await breaker.record_failure()
        assert breaker.state() is BreakerState.CLOSED
        assert redis_cli(redis_url, "HGET", "circuit_breaker:rpc_pool", "failureCount") == "1"


async def test_runbook_del_of_the_hash_resets(redis_url: str, clock: FakeClock) -> None:
    async with Replica(redis_url, clock) as a:
        await trip(a.registry)
        assert redis_cli(redis_url, "DEL", "circuit_breaker:rpc_pool") == "1"
        clock.advance(REFRESH_S)
        await a.registry.get("rpc_pool").acquire()
        assert a.registry.get("rpc_pool").state() is BreakerState.CLOSED


async def test_runbook_string_key_override_is_applied_then_deleted(
    redis_url: str, clock: FakeClock
) -> None:
    async with Replica(redis_url, clock) as a, Replica(redis_url, clock) as b:
        await trip(a.registry)
        redis_cli(redis_url, "SET", "circuit_breaker:rpc_pool:state", "CLOSED")
        clock.advance(REFRESH_S)
        await a.registry.get("rpc_pool").acquire()
        assert a.registry.get("rpc_pool").state() is BreakerState.CLOSED
        assert redis_cli(redis_url, "EXISTS", "circuit_breaker:rpc_pool:state") == "0"
        assert redis_cli(redis_url, "HGET", "circuit_breaker:rpc_pool", "state") == "CLOSED"
        await b.registry.get("rpc_pool").acquire()  # the other replica sees the shared hash
        assert b.registry.get("rpc_pool").state() is BreakerState.CLOSED

        redis_cli(redis_url, "SET", "circuit_breaker:rpc_pool:state", "OPEN")
        clock.advance(REFRESH_S)
        with pytest.raises(CircuitOpenError):
            await b.registry.get("rpc_pool").acquire()
        redis_cli(redis_url, "DEL", "circuit_breaker:rpc_pool:state")  # runbook step: harmless


async def test_garbage_override_is_ignored_and_removed(redis_url: str, clock: FakeClock) -> None:
    async with Replica(redis_url, clock) as a:
        redis_cli(redis_url, "SET", "circuit_breaker:rpc_pool:state", "BANANA")
        await a.registry.get("rpc_pool").acquire()
        assert a.registry.get("rpc_pool").state() is BreakerState.CLOSED
        assert redis_cli(redis_url, "EXISTS", "circuit_breaker:rpc_pool:state") == "0"


async def test_hash_layout_is_what_the_runbook_reads(redis_url: str, clock: FakeClock) -> None:
    async with Replica(redis_url, clock) as a:
        await trip(a.registry)
        raw = redis_cli(redis_url, "HGETALL", "circuit_breaker:rpc_pool").splitlines()
        fields = dict(zip(raw[::2], raw[1::2], strict=True))
        now_ms = str(int(clock.now * 1000))
        assert fields["state"] == "OPEN"
        assert fields["failureCount"] == "3"
        assert fields["successCount"] == "0"
        assert fields["openedAt"] == now_ms
        assert fields["lastFailureTime"] == now_ms
        clock.advance(30)
        await a.registry.get("rpc_pool").acquire()
        probes = redis_cli(redis_url, "GET", "{circuit_breaker:rpc_pool}:probes")
        assert probes == "1"
        ttl_ms = int(redis_cli(redis_url, "PTTL", "{circuit_breaker:rpc_pool}:probes"))
        assert 0 < ttl_ms <= 30_000


async def test_closed_path_does_no_redis_io(redis_url: str, clock: FakeClock) -> None:
    """Measured from Redis itself: only the periodic refresh reaches it while CLOSED."""
    async with Replica(redis_url, clock) as a:
        breaker = a.registry.get("rpc_pool")
        await breaker.acquire()  # first load
        control = aioredis.Redis.from_url(redis_url)
        try:
            await control.config_resetstat()
            before = (await control.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0)
            for _ in range(1000):
                await breaker.acquire()
                await breaker.record_success()
            after = (await control.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0)
        finally:
            await control.aclose()
        assert after - before == 0
