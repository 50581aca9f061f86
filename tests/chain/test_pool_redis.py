"""Breakers in real Redis: replicas agree on OPEN; Redis dying mid-run changes nothing visible."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis

from sniper_bot.cache.redis import RedisManager
from sniper_bot.cache.redis_breaker import RedisBreakerStore
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, BreakerState

from . import fake_rpc
from .conftest import ManualClock, PoolFactory
from .test_health_recovery import TIMEOUT_S as BREAKER_TIMEOUT_S
from .test_health_recovery import open_primary_and_backup

Providers = dict[str, fake_rpc.FakeRpc]


class TcpProxy:
    """A loopback TCP forwarder in front of Redis that can be killed (the process boundary)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def kill(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        await self.server.wait_closed()


MANAGERS: list[RedisManager] = []


async def redis_registry(url: str, metrics: Metrics, clock: ManualClock) -> BreakerRegistry:
    manager = RedisManager(url, metrics=metrics)
    await manager.start()
    MANAGERS.append(manager)
    return BreakerRegistry(
        RedisBreakerStore(manager), BreakerConfig(), metrics, clock, refresh_s=0.0
    )


@pytest.fixture(autouse=True)
async def close_managers() -> AsyncIterator[None]:
    yield
    while MANAGERS:
        await MANAGERS.pop().close()


async def test_two_pool_instances_sharing_redis_agree_on_open(
    make_pool: PoolFactory, providers: Providers, redis_url: str, clock: ManualClock
) -> None:
    registry_a = await redis_registry(redis_url, Metrics(), clock)
    registry_b = await redis_registry(redis_url, Metrics(), clock)
    pool_a = make_pool(breakers=registry_a, metrics=Metrics())
    pool_b = make_pool(breakers=registry_b, metrics=Metrics())
    providers["helius"].fault = ("status", 503, {}, b"")
    for _ in range(5):
        await pool_a.request("getSlot")
    assert registry_a.get("rpc:helius").state() is BreakerState.OPEN
    providers["helius"].seen.clear()
    await pool_b.request("getSlot")  # replica B never failed on helius itself
    assert registry_b.get("rpc:helius").state() is BreakerState.OPEN
    assert providers["helius"].count() == 0
    raw = aioredis.Redis.from_url(redis_url)
    assert (await raw.hget("circuit_breaker:rpc:helius", "state")) == b"OPEN"
    await raw.aclose()
    await registry_a.close()
    await registry_b.close()


@pytest.fixture
async def killable_redis(redis_url: str) -> AsyncIterator[tuple[str, TcpProxy]]:
    parts = urlsplit(redis_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    port = await proxy.start()
    yield f"redis://127.0.0.1:{port}{parts.path}", proxy
    with contextlib.suppress(Exception):
        await proxy.kill()


async def test_redis_killed_mid_run_breakers_keep_working_in_memory(
    make_pool: PoolFactory,
    providers: Providers,
    killable_redis: tuple[str, TcpProxy],
    clock: ManualClock,
) -> None:
    url, proxy = killable_redis
    metrics = Metrics()
    registry = await redis_registry(url, metrics, clock)
    pool = make_pool(breakers=registry, metrics=metrics)
    assert await pool.request("getSlot") == 1000
    await proxy.kill()
    providers["helius"].fault = ("status", 503, {}, b"")
    for _ in range(7):
        assert await pool.request("getSlot") == 1000
    assert registry.get("rpc:helius").state() is BreakerState.OPEN
    assert providers["helius"].count("getSlot") == 1 + 5  # the healthy call, then the threshold
    providers["helius"].fault = None
    clock.advance(31)
    for _ in range(2):
        await pool.request("getSlot")
    assert registry.get("rpc:helius").state() is BreakerState.CLOSED
    await registry.close()


async def test_two_replicas_probing_one_shared_breaker_close_it_once_and_leave_no_probe_held(
    make_pool: PoolFactory, providers: Providers, redis_url: str, clock: ManualClock
) -> None:
    registry_a = await redis_registry(redis_url, Metrics(), clock)
    registry_b = await redis_registry(redis_url, Metrics(), clock)
    pool_a = make_pool(breakers=registry_a, metrics=Metrics())
    pool_b = make_pool(breakers=registry_b, metrics=Metrics())
    await open_primary_and_backup(pool_a, providers)
    await pool_b.check_health()  # replica B learns the shared OPEN state from Redis
    assert {s.name: s.breaker_state for s in pool_b.status()}["quicknode"] == "OPEN"

    clock.advance(BREAKER_TIMEOUT_S)
    await asyncio.gather(pool_a.check_health(), pool_b.check_health())
    await asyncio.gather(pool_a.check_health(), pool_b.check_health())

    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for name in ("rpc:helius", "rpc:quicknode"):
            shared = await raw.hgetall(f"circuit_breaker:{name}")
            assert (shared["state"], shared["failureCount"], shared["successCount"]) == (
                "CLOSED",
                "0",
                "0",
            )
            assert int(await raw.get("{circuit_breaker:" + name + "}:probes") or 0) == 0
    finally:
        await raw.aclose()
    for pool in (pool_a, pool_b):
        assert {s.breaker_state for s in pool.status()} == {"CLOSED"}
    # HALF_OPEN admits one probe at a time across both replicas: at most 2 per success needed
    assert 2 <= providers["quicknode"].count("getHealth") <= 4
    await registry_a.close()
    await registry_b.close()
