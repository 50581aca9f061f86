"""`make bench`: run every benchmark under bench/ in turn and summarise.

Each benchmark reports ratios against a baseline it runs in the same process or run (the machines
are noisy: 2 shared cores), so numbers from different runs are comparable only as ratios.
Benchmarks that need Redis or PostgreSQL use the local servers, as the tests do.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# modest sizes so the whole run stays within a few minutes; each script accepts larger ones
ARGS: dict[str, list[str]] = {
    "bench_breaker.py": ["--calls", "20000"],
    "bench_localnet_rpc.py": [],
    "bench_jito.py": [],
    "bench_rpc_pool.py": ["--n", "1000"],
    "bench_localnet_launches.py": [],
    "bench_curve.py": ["--launches", "400"],
    "bench_safety.py": [],
    "bench_wallet.py": ["--n", "2000"],
    "bench_hotpath_build.py": ["--n", "3000"],
    "bench_load.py": ["--users", "100"],
    "bench_hot_snipe.py": ["--launches", "500", "--fan-launches", "2", "--sink-launches", "3"],
    "bench_geyser_decode.py": ["--n", "300", "--launches", "20"],
    "bench_venues.py": ["--n", "50", "--rounds", "5"],
}


def main() -> int:
    scripts = sorted(p for p in HERE.glob("bench_*.py"))
    results: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *ARGS.get(script.name, [])])
        results.append((script.name, code, time.perf_counter() - started))
    print("\n=== summary ===")
    for name, code, seconds in results:
        print(f"{name:32s} {'ok' if code == 0 else f'FAILED ({code})':12s} {seconds:6.1f} s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
