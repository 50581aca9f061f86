"""Fixtures for chain tests: scripted providers, a manual clock, memory breakers, a pool factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster
from localnet.rpc.server import RpcEndpoint
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
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


NAMES = ("helius", "quicknode", "public")


@dataclass
class Net:
    cluster: Cluster
    endpoints: dict[str, RpcEndpoint]


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    cluster = Cluster(seed=7, slot_ms=None)
    endpoints = {name: RpcEndpoint(name, cluster, seed=i) for i, name in enumerate(NAMES)}
    for endpoint in endpoints.values():
        await endpoint.start()
    yield Net(cluster, endpoints)
    for endpoint in endpoints.values():
        await endpoint.stop()


@pytest.fixture
async def rpc(
    net: Net,
    registry: BreakerRegistry,
    metrics: Metrics,
    clock: ManualClock,
    session: aiohttp.ClientSession,
) -> AsyncIterator[SolanaRpc]:
    configs = [
        EndpointConfig(name=name, url=ep.http_url, ws_url=ep.ws_url, rate_per_s=500, priority=i)
        for i, (name, ep) in enumerate(net.endpoints.items())
    ]
    pool = RpcPool(configs, registry, metrics, session, default_timeout_s=0.3, clock=clock)
    yield SolanaRpc(pool)
    await pool.close()


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash) -> VersionedTransaction:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    message = MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash)
    return VersionedTransaction(message, [payer])


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


async def until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll external state (a server, a metric) until ``predicate`` holds."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - the state lives in another component
            await asyncio.sleep(0.01)
