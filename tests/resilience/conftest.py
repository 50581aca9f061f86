"""Fixtures for breaker tests: a controllable clock, fresh metrics, and breaker stores.

``store`` is parametrised over the in-process store and the Redis store on a real Redis db, so
every test using it is a contract test of the ``BreakerStore`` port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sniper_bot.cache.redis import RedisManager
from sniper_bot.cache.redis_breaker import RedisBreakerStore
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.breaker_store import BreakerStore, MemoryBreakerStore

from .fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def redis_manager(redis_url: str, metrics: Metrics) -> AsyncIterator[RedisManager]:
    manager = RedisManager(redis_url, metrics=metrics)
    await manager.start()
    assert manager.available, "the test Redis must answer"
    yield manager
    await manager.close()


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_url: str, metrics: Metrics
) -> AsyncIterator[BreakerStore]:
    """Every BreakerStore implementation (the memory one ignores the claimed Redis db)."""
    if request.param == "memory":
        yield MemoryBreakerStore()
        return
    manager = RedisManager(redis_url, metrics=metrics)
    await manager.start()
    assert manager.available, "the test Redis must answer"
    redis_store = RedisBreakerStore(manager)
    yield redis_store
    await redis_store.close()
    await manager.close()
