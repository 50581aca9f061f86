"""One contract for the Cache port: MemoryCache, FallbackCache without and with Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sniper_bot.cache import FallbackCache, MemoryCache, RedisManager
from sniper_bot.cache.base import Cache
from sniper_bot.observability.metrics import Metrics


@pytest.fixture(params=["memory", "fallback-no-redis", "fallback-redis"])
async def cache(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Cache]:
    metrics = Metrics()
    if request.param == "memory":
        yield MemoryCache(100)
        return
    manager = RedisManager(redis_url if request.param == "fallback-redis" else "", metrics=metrics)
    await manager.start()
    assert manager.status() == ("ok" if request.param == "fallback-redis" else "disabled")
    yield FallbackCache(manager, MemoryCache(100), metrics)
    await manager.close()


async def test_get_of_a_missing_key_is_none(cache: Cache) -> None:
    assert await cache.get("nope") is None


async def test_set_then_get_round_trips_bytes(cache: Cache) -> None:
    await cache.set("k", b"\x00\xffvalue")
    assert await cache.get("k") == b"\x00\xffvalue"
    await cache.set("k", b"second")
    assert await cache.get("k") == b"second"


async def test_delete_removes_and_is_idempotent(cache: Cache) -> None:
    await cache.set("k", b"v")
    await cache.delete("k")
    assert await cache.get("k") is None
    await cache.delete("k")


async def test_ttl_expires(cache: Cache) -> None:
    await cache.set("short", b"v", ttl_s=0.05)
    await cache.set("long", b"v", ttl_s=60)
    assert await cache.get("short") == b"v"
    await asyncio.sleep(0.2)  # real expiry: Redis keeps its own clock
    assert await cache.get("short") is None
    assert await cache.get("long") == b"v"


async def test_non_positive_ttl_stores_nothing(cache: Cache) -> None:
    await cache.set("k", b"old")
    await cache.set("k", b"v", ttl_s=0)
    assert await cache.get("k") is None


async def test_json_helpers_round_trip_and_ignore_garbage(cache: Cache) -> None:
    await cache.set_json("risk:mint", {"score": 87, "findings": ["freeze_authority"]}, ttl_s=60)
    assert await cache.get_json("risk:mint") == {"score": 87, "findings": ["freeze_authority"]}
    await cache.set("bad", b"{not json")
    assert await cache.get_json("bad") is None
    assert await cache.get_json("missing") is None
