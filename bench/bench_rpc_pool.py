"""RPC pool overhead and throughput against a localnet endpoint running in another process.

    .venv/bin/python bench/bench_rpc_pool.py [--n 2000] [--concurrency 100]

1. Sequential getSlot latency: bare aiohttp POST vs ``SolanaRpc.get_slot`` through the pool
   (breakers, rate limiter, metrics, parsing). Goal: pool median <= 1.2x bare.
2. Throughput, ``concurrency`` calls in flight: ``SolanaRpc`` vs solana-py ``AsyncClient``.
   Goal: >= 3x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore


def _serve(port_out: Any) -> None:
    async def main() -> None:
        from localnet.cluster import Cluster
        from localnet.rpc.server import RpcEndpoint

        endpoint = RpcEndpoint("bench", Cluster(slot_ms=None))
        await endpoint.start()
        port_out.send(endpoint.port)
        await asyncio.Event().wait()

    asyncio.run(main())


async def _interleaved(
    first: Callable[[], Awaitable[Any]], second: Callable[[], Awaitable[Any]], n: int
) -> tuple[list[float], list[float]]:
    """Alternate the two calls so machine noise and drift hit both equally (2 shared cores)."""
    for _ in range(50):  # warm-up: connections, caches
        await first()
        await second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        for call, out in ((first, a), (second, b)):
            started = time.perf_counter()
            await call()
            out.append(time.perf_counter() - started)
    return a, b


async def _throughput(call: Callable[[], Awaitable[Any]], n: int, concurrency: int) -> float:
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started)


async def run(url: str, n: int, concurrency: int) -> dict[str, float]:
    from solana.rpc.async_api import AsyncClient

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getSlot"}).encode()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def bare() -> int:
            async with session.post(
                url, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                return int((await response.json())["result"])

        metrics = Metrics()
        registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        config = EndpointConfig(name="bench", url=url, rate_per_s=0)
        pool = RpcPool([config], registry, metrics, session, default_timeout_s=5.0)
        rpc = SolanaRpc(pool)

        bare_lat, pool_lat = await _interleaved(bare, rpc.get_slot, n)
        pool_tput = await _throughput(rpc.get_slot, n, concurrency)

    async with AsyncClient(url, timeout=5.0) as client:

        async def solana_py() -> int:
            return (await client.get_slot()).value

        solana_tput = await _throughput(solana_py, n, concurrency)

    bare_med = statistics.median(bare_lat) * 1e6
    pool_med = statistics.median(pool_lat) * 1e6
    return {
        "bare_median_us": bare_med,
        "pool_median_us": pool_med,
        "overhead_ratio": pool_med / bare_med,
        "pool_req_per_s": pool_tput,
        "solana_py_req_per_s": solana_tput,
        "throughput_ratio": pool_tput / solana_tput,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        port = parent.recv()
        result = asyncio.run(run(f"http://127.0.0.1:{port}/", args.n, args.concurrency))
    finally:
        server.terminate()
        server.join(5)
    for key, value in result.items():
        print(f"{key:>22}: {value:,.2f}")
    print(
        f"goals: overhead <= 1.2x -> {'PASS' if result['overhead_ratio'] <= 1.2 else 'FAIL'}; "
        f"throughput >= 3x -> {'PASS' if result['throughput_ratio'] >= 3 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
