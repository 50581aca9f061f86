"""Launch throughput and memory: N launches (each announced and traded) on one cluster.

Run: .venv/bin/python bench/bench_localnet_launches.py [N]   (target: >= 100 launches/minute)
"""

from __future__ import annotations

import sys
import time
import tracemalloc

from localnet.cluster import Cluster
from localnet.launches import ScenarioEngine
from localnet.market import Market
from localnet.tokens import KINDS, TokenFactory


def main(n: int = 200) -> None:
    cluster = Cluster(seed=1, slot_ms=None)
    market = Market(cluster, seed=1)
    engine = ScenarioEngine(cluster, market, TokenFactory(cluster, market), seed=1)
    engine.add_traders(4)
    engine.trade_probability = 0.2
    kinds = sorted(KINDS)
    tracemalloc.start()
    start = time.perf_counter()
    for i in range(n):
        engine.launch(kinds[i % len(kinds)], announce=("pumpfun", "raydium")[i % 2])
        cluster.advance_slots(1)
        engine.tick(cluster.slot)
        if i == n // 2:
            half_mem = tracemalloc.get_traced_memory()[0]
    elapsed = time.perf_counter() - start
    mem = tracemalloc.get_traced_memory()[0]
    print(f"{n} launches in {elapsed:.1f}s = {n / elapsed * 60:.0f} launches/minute; "
          f"traced memory {half_mem / 1e6:.1f} MB at n/2, {mem / 1e6:.1f} MB at n")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
