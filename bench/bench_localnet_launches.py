"""Launch throughput and memory: a scenario engine launching token after token on one cluster.

Run: .venv/bin/python bench/bench_localnet_launches.py [--launches 400] [--max-tokens 100]
     [--max-transactions 2000]

Target: >= 100 launches/minute sustained with bounded memory. Each launch is announced (pump.fun
and Raydium alternately), `--slots-per-launch` slots pass between launches (2 = 150 launches per
minute of 400 ms slots) and other traders trade the newest 50 tokens on every slot. Two passes:
throughput without tracemalloc (it slows Python down), then memory with tracemalloc (Python heap)
and RSS (also counts LiteSVM's Rust heap) at 100, 200, 400... launches. With the retention limits
(the engine keeps `--max-tokens` launches and closes older ones' accounts; the history keeps
`--max-transactions` but never what landed in the last 300 slots) memory levels off once the
limits bind instead of growing with every launch.

Measured 2026-11 on the shared 2-core box (load average ~8 from other work), defaults:
see docs/LOCALNET.md "Performance".
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import time
import tracemalloc

import structlog

from localnet.cluster import Cluster
from localnet.launches import ScenarioEngine
from localnet.market import Market
from localnet.tokens import KINDS, TokenFactory


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def _engine(args: argparse.Namespace) -> tuple[Cluster, ScenarioEngine]:
    cluster = Cluster(seed=1, slot_ms=None, max_transactions=args.max_transactions)
    market = Market(cluster, seed=1)
    factory = TokenFactory(cluster, market)
    engine = ScenarioEngine(cluster, market, factory, seed=1, max_tokens=args.max_tokens)
    engine.add_traders(4)
    engine.trade_probability = args.trade_probability
    engine.attach()
    return cluster, engine


def _launch(cluster: Cluster, engine: ScenarioEngine, i: int, slots: int) -> None:
    kinds = sorted(KINDS)
    engine.launch(kinds[i % len(kinds)], announce=("pumpfun", "raydium")[i % 2])
    cluster.advance_slots(slots)


def throughput(args: argparse.Namespace) -> float:
    cluster, engine = _engine(args)
    start = time.perf_counter()
    for i in range(args.rate_launches):
        _launch(cluster, engine, i, args.slots_per_launch)
    elapsed = time.perf_counter() - start
    return float(args.rate_launches) / elapsed * 60


def memory(args: argparse.Namespace) -> None:
    cluster, engine = _engine(args)
    checkpoints = {n for n in (100, 200, 400, 800, 1600) if n <= args.launches} | {args.launches}
    tracemalloc.start()
    print(f"{'launches':>8} {'traced MB':>10} {'RSS MB':>8} {'tokens':>7} {'history':>8} "
          f"{'evicted':>8} {'slot':>6} {'per min*':>9}")  # fmt: skip
    last_i, last_t = 0, time.perf_counter()
    for i in range(1, args.launches + 1):
        _launch(cluster, engine, i - 1, args.slots_per_launch)
        if i in checkpoints:
            traced = tracemalloc.get_traced_memory()[0] / 1e6
            now = time.perf_counter()
            rate = (i - last_i) / (now - last_t) * 60
            last_i, last_t = i, now
            print(f"{i:>8} {traced:>10.1f} {_rss_mb():>8.1f} {len(engine.factory.tokens):>7} "
                  f"{len(cluster.history):>8} {cluster.history.evicted:>8} "
                  f"{cluster.slot:>6} {rate:>9.0f}")  # fmt: skip
    print("* launches/minute since the previous line, slowed down by tracemalloc")
    tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=400)
    parser.add_argument("--rate-launches", type=int, default=100, help="throughput pass size")
    parser.add_argument("--max-tokens", type=int, default=100)
    parser.add_argument("--max-transactions", type=int, default=2_000)
    parser.add_argument("--slots-per-launch", type=int, default=2)
    parser.add_argument("--trade-probability", type=float, default=0.1)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    per_minute = throughput(args)
    print(f"throughput: {per_minute:.0f} launches/minute ({args.rate_launches} launches, "
          f"{args.slots_per_launch} slots each, pid {os.getpid()})")  # fmt: skip
    memory(args)


if __name__ == "__main__":
    main()
