"""Cost of a circuit breaker on the CLOSED hot path (target: <= 0.1 ms per call, no Redis I/O).

Compares a bare ``await call()`` with the same call wrapped by ``acquire``/``record_success`` and by
``guard()``, on the memory store and on the Redis store (the CLOSED path must not touch Redis), and
shows one Lua step (a failure) for scale:

    .venv/bin/python bench/bench_breaker.py [--calls 100000] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from sniper_bot.cache.redis import RedisManager
from sniper_bot.cache.redis_breaker import RedisBreakerStore
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.breaker import (
    BreakerConfig,
    BreakerRegistry,
    CircuitBreaker,
    MemoryBreakerStore,
)
from sniper_bot.resilience.breaker_store import BreakerStore


async def call() -> None:
    return None


async def timed(n: int, step: Callable[[], Awaitable[None]], repeats: int = 5) -> float:
    """Median over ``repeats`` runs of the mean seconds per step."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            await step()
        runs.append((time.perf_counter() - start) / n)
    return statistics.median(runs)


async def closed_path(breaker: CircuitBreaker) -> None:
    await breaker.acquire()
    await call()
    await breaker.record_success()


def guarded(breaker: CircuitBreaker) -> Callable[[], Awaitable[None]]:
    async def step() -> None:
        async with breaker.guard():
            await call()

    return step


async def measure(label: str, store: BreakerStore, n: int, bare: float) -> None:
    registry = BreakerRegistry(store, BreakerConfig(failure_threshold=10**9), Metrics())
    breaker = registry.get(f"bench_{label}")
    await breaker.acquire()
    manual = await timed(n, lambda: closed_path(breaker))
    guard = await timed(n, guarded(breaker))
    # failures far apart in breaker time never trip it: a tiny window keeps one counted
    failing = registry.get(f"bench_{label}_fail", BreakerConfig(monitoring_period_s=0.000_001))
    fail = await timed(max(1, n // 100), failing.record_failure, repeats=3)
    for name, secs in (("acquire+success", manual), ("guard()", guard)):
        overhead_us = (secs - bare) * 1e6
        print(
            f"{label:6} {name:16} {secs * 1e6:8.2f} us/call  overhead {overhead_us:6.2f} us"
            f"  ratio {secs / bare:5.2f}x bare  {'OK' if overhead_us <= 100 else 'OVER 0.1 ms'}"
        )
    print(f"{label:6} {'record_failure':16} {fail * 1e6:8.2f} us/call  (one atomic store step)")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    bare = await timed(args.calls, call)
    print(f"bare   await call()     {bare * 1e6:8.2f} us/call")
    await measure("memory", MemoryBreakerStore(), args.calls, bare)
    manager = RedisManager(args.redis, metrics=Metrics())
    await manager.start()
    if manager.available:
        await measure("redis", RedisBreakerStore(manager), args.calls, bare)
        assert manager.client is not None
        await manager.client.delete(
            "circuit_breaker:bench_redis", "circuit_breaker:bench_redis_fail"
        )
    else:
        print(f"redis  skipped: {args.redis} does not answer")
    await manager.close()


if __name__ == "__main__":
    asyncio.run(main())
