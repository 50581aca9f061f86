"""Fixtures for chain tests: scripted providers, a manual clock, memory breakers, a pool factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore

from . import fake_rpc

SIGNATURE = (
    "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"
)
DEFAULT_RESULTS: dict[str, Any] = {
    "getSlot": 1000,
    "getHealth": "ok",
    "getBalance": {"context": {"slot": 1000}, "value": 5_000_000},
    "sendTransaction": SIGNATURE,
    "requestAirdrop": SIGNATURE,
}


class ManualClock:
    """Seconds since an arbitrary epoch; only moves when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def registry(metrics: Metrics, clock: ManualClock) -> BreakerRegistry:
    return BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics, clock)


@pytest.fixture
async def providers() -> AsyncIterator[dict[str, fake_rpc.FakeRpc]]:
    fakes = {
        name: await fake_rpc.start(name, DEFAULT_RESULTS)
        for name in ("helius", "quicknode", "public")
    }
    yield fakes
    for fake in fakes.values():
        assert fake.server is not None
        await fake.server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


PoolFactory = Callable[..., RpcPool]


@pytest.fixture
async def make_pool(
    providers: dict[str, fake_rpc.FakeRpc],
    registry: BreakerRegistry,
    metrics: Metrics,
    clock: ManualClock,
    session: aiohttp.ClientSession,
) -> AsyncIterator[PoolFactory]:
    pools: list[RpcPool] = []

    def build(**overrides: Any) -> RpcPool:
        endpoints = [
            EndpointConfig(name=name, url=fake.url, rate_per_s=1000.0, priority=i)
            for i, (name, fake) in enumerate(providers.items())
        ]
        kwargs: dict[str, Any] = {
            "endpoints": endpoints,
            "breakers": registry,
            "metrics": metrics,
            "session": session,
            "default_timeout_s": 0.5,
            "cache_items": 100,
            "clock": clock,
        }
        kwargs.update(overrides)
        pool = RpcPool(**kwargs)
        pools.append(pool)
        return pool

    yield build
    for pool in pools:
        await pool.close()


def sample(metrics: Metrics, metric: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(metric, labels)
    return 0.0 if value is None else value
