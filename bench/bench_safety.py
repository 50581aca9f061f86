"""Safety benchmark on localnet: cold full report, cached report, 100 distinct mints at once.

    .venv/bin/python bench/bench_safety.py

Targets (docs/SAFETY.md): cold <= 50 ms, cached <= 1 ms, 100 mints concurrently.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp
from solders.keypair import Keypair

from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.trading.venues.jupiter.client import JupiterClient, JupiterVenue


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us"


async def main() -> None:
    async with running_localnet(seed=3) as net, aiohttp.ClientSession() as session:
        urls = net.urls
        assert urls is not None
        configs = [EndpointConfig(name="helius", url=urls.rpc["helius"]["http"], rate_per_s=1e6)]
        metrics = Metrics()
        registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        pool = RpcPool(configs, registry, metrics, session, default_timeout_s=5.0)
        venue = JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1"))
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), 10**9)
        service = RiskService(SnapshotFetcher(SolanaRpc(pool), venue, fee_payer=payer.pubkey()))
        kinds = ["honest", "freeze_authority", "transfer_fee", "non_transferable", "concentrated"]
        mints = [str(net.factory.create(kinds[i % len(kinds)]).mint) for i in range(120)]

        cold: list[float] = []
        for mint in mints[:20]:
            start = time.perf_counter()
            await service.check(mint)
            cold.append(time.perf_counter() - start)
        cached: list[float] = []
        for _ in range(1000):
            start = time.perf_counter()
            await service.check(mints[0])
            cached.append(time.perf_counter() - start)
        start = time.perf_counter()
        await asyncio.gather(*(service.check(m) for m in mints[20:120]))
        burst = time.perf_counter() - start
        await pool.close()
    cold.sort()
    cached.sort()
    print(f"cold   p50 {ms(statistics.median(cold))}  p95 {ms(cold[int(len(cold) * 0.95) - 1])}")
    print(
        f"cached p50 {ms(statistics.median(cached))}  p99 {ms(cached[int(len(cached) * 0.99) - 1])}"
    )
    print(f"100 distinct mints concurrently: {ms(burst)} total")


if __name__ == "__main__":
    asyncio.run(main())
