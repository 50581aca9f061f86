"""Memory over a long mixed run of localnet: launches on the curve with trades, rivals (RPC and
Jito), and sendTransaction / sendBundle load from clients, with RSS and tracemalloc sampled.

    nice -n 10 .venv/bin/python bench/bench_localnet_memory.py --minutes 30 [--sample-s 60]
        [--tx-rate 40] [--bundle-rate 4] [--slot-ms 400] [--no-tracemalloc]

One `Localnet` in this process (400 ms slots, streaming leader batches every 50 ms, sigverify and
block building on, fault-free endpoints) plays `src/localnet/scenarios/soak.toml` (a launch every
3 slots: curve launches with dev buys, scripted snipers and traders, a bundled launch through
Jito, dev dumps, graduations then PumpSwap trades, honeypot kinds); two rival snipers (one via
sendTransaction, one via the block engine) buy every create; clients send `--tx-rate` signed
transfers per second through the RPC endpoint's HTTP `sendTransaction` and `--bundle-rate`
bundles (transfer + tip) per second through the block engine's HTTP `sendBundle`, from a fixed
pool of wallets to a fixed pool of recipients (the accounts the load touches stay bounded).

Every `--sample-s` a row: minutes, RSS (MB, includes LiteSVM's Rust heap), Python heap traced
(MB), history / bundles kept, launches so far; at the end the rates (launches/min,
sendTransaction/s accepted and landed, sendBundle/s accepted and landed) and the top growth of
tracemalloc between the first sample after warm-up and the last (file:line, KiB). Memory is
bounded when RSS and the traced heap level off once the retention limits bind (history
`max_transactions`, engine `max_tokens`, the block engine's kept bundles). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import itertools
import logging
import resource
import sys
import time
import tracemalloc
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.jito.engine import TIP_ACCOUNTS
from localnet.market.keys import derive_keypair
from localnet.node import Localnet, LocalnetConfig
from localnet.testing import TEST_ENDPOINTS

ROOT = Path(__file__).resolve().parents[1]
SOAK = ROOT / "src" / "localnet" / "scenarios" / "soak.toml"
SOL = 1_000_000_000
PAYERS = 64
RECIPIENTS = 64


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


@dataclass
class Load:
    tx_sent: int = 0
    tx_refused: int = 0
    bundles_sent: int = 0
    bundles_refused: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    sent_signatures: deque[str] = field(default_factory=lambda: deque(maxlen=2_000))


def _transfer(payer: Keypair, to: Pubkey, lamports: int, blockhash: Any) -> VersionedTransaction:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash), [payer])


async def _post(http: aiohttp.ClientSession, url: str, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    async with http.post(url, json=body) as response:
        return await response.json(content_type=None)


async def tx_load(net: Localnet, load: Load, rate: float, stop: asyncio.Event) -> None:
    assert net.urls is not None
    url = net.urls.rpc["helius"]["http"]
    payers = [derive_keypair(7, f"soak-payer:{i}") for i in range(PAYERS)]
    recipients = [derive_keypair(7, f"soak-to:{i}").pubkey() for i in range(RECIPIENTS)]
    for kp in payers:
        net.cluster.airdrop(kp.pubkey(), 1_000 * SOL)
    for to in recipients:
        net.cluster.airdrop(to, SOL)
    counter = itertools.count(1)
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.perf_counter()
            n = next(counter)
            payer = payers[n % PAYERS]
            tx = _transfer(payer, recipients[n % RECIPIENTS], 1_000 + n % 997,
                           net.cluster.latest_blockhash())  # fmt: skip
            encoded = base64.b64encode(bytes(tx)).decode()
            try:
                reply = await _post(http, url, "sendTransaction", [encoded, {"encoding": "base64"}])
            except aiohttp.ClientError as exc:
                load.errors[type(exc).__name__] = load.errors.get(type(exc).__name__, 0) + 1
                continue
            if "result" in reply:
                load.tx_sent += 1
                load.sent_signatures.append(reply["result"])
            else:
                load.tx_refused += 1
                message = str(reply.get("error", {}).get("message", ""))[:60]
                load.errors[message] = load.errors.get(message, 0) + 1
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))


async def bundle_load(net: Localnet, load: Load, rate: float, stop: asyncio.Event) -> None:
    assert net.urls is not None
    url = f"{net.urls.jito}/api/v1/bundles"
    payers = [derive_keypair(7, f"soak-bundler:{i}") for i in range(PAYERS // 4)]
    recipients = [derive_keypair(7, f"soak-to:{i}").pubkey() for i in range(RECIPIENTS)]
    for kp in payers:
        net.cluster.airdrop(kp.pubkey(), 1_000 * SOL)
    counter = itertools.count(1)
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.perf_counter()
            n = next(counter)
            payer = payers[n % len(payers)]
            blockhash = net.cluster.latest_blockhash()
            leg = _transfer(payer, recipients[n % RECIPIENTS], 2_000 + n % 991, blockhash)
            tip = _transfer(payer, TIP_ACCOUNTS[n % len(TIP_ACCOUNTS)], 10_000 + n % 7, blockhash)
            encoded = [base64.b64encode(bytes(t)).decode() for t in (leg, tip)]
            try:
                reply = await _post(http, url, "sendBundle", [encoded, {"encoding": "base64"}])
            except aiohttp.ClientError as exc:
                load.errors[type(exc).__name__] = load.errors.get(type(exc).__name__, 0) + 1
                continue
            if "result" in reply:
                load.bundles_sent += 1
            else:
                load.bundles_refused += 1
                message = str(reply.get("error", {}).get("message", ""))[:60]
                load.errors[message] = load.errors.get(message, 0) + 1
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))


def launches(net: Localnet) -> int:
    engine = net.engine
    return engine.retired + len(engine.launched) + engine.curves.retired + len(engine.curves.runs)


def curve_launches(net: Localnet) -> int:
    return net.engine.curves.retired + len(net.engine.curves.runs)


def top_growth(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot, n: int) -> list[str]:
    keep = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<*")]
    diff = last.filter_traces(keep).compare_to(first.filter_traces(keep), "lineno")
    rows = []
    for stat in diff[:n]:
        frame = stat.traceback[0]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        rows.append(f"  {stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks  {where}")
    return rows


async def run(args: argparse.Namespace) -> None:
    config = LocalnetConfig(
        seed=args.seed,
        slot_ms=args.slot_ms,
        stream_tick_ms=args.stream_tick_ms or None,
        endpoints=TEST_ENDPOINTS,
        scenario=SOAK,
    )
    net = Localnet(config)
    await net.start()
    assert net.urls is not None
    async with aiohttp.ClientSession() as http:
        for name, body in (
            ("rpc", {"delay_ms": 0, "lamports": SOL // 20, "cu_price": 50_000}),
            ("jito", {"delay_ms": 100, "lamports": SOL // 20, "via": "jito",
                      "tip_lamports": 50_000}),
        ):  # fmt: skip
            async with http.put(f"{net.urls.control}/rivals/snipers/{name}", json=body) as r:
                assert r.status == 200, await r.text()
    load = Load()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(tx_load(net, load, args.tx_rate, stop))]
    if args.bundle_rate > 0:
        tasks.append(asyncio.create_task(bundle_load(net, load, args.bundle_rate, stop)))
    started = time.perf_counter()
    first: tracemalloc.Snapshot | None = None
    print(f"localnet mixed soak: {args.minutes} min, {args.slot_ms} ms slots, stream ticks "
          f"{args.stream_tick_ms} ms, {args.tx_rate}/s sendTransaction, {args.bundle_rate}/s "
          f"sendBundle, tracemalloc {'on' if args.tracemalloc else 'off'}", flush=True)  # fmt: skip
    header = f"{'min':>6} {'RSS MB':>8} {'heap MB':>8} {'history':>8} {'bundles':>8} "
    print(header + f"{'subs':>5} {'launch':>7} {'curve':>6} {'tx ok':>8} {'bnd ok':>7}", flush=True)
    deadline = started + args.minutes * 60
    try:
        while True:
            now = time.perf_counter()
            await asyncio.sleep(max(0.0, min(args.sample_s, deadline - now)))
            gc.collect()
            elapsed = time.perf_counter() - started
            heap = tracemalloc.get_traced_memory()[0] / 1e6 if args.tracemalloc else 0.0
            if args.tracemalloc and first is None and elapsed >= args.warmup_s:
                first = tracemalloc.take_snapshot()
            print(
                f"{elapsed / 60:6.1f} {rss_mb():8.1f} {heap:8.1f} {len(net.cluster.history):8d} "
                f"{net.block_engine.stats()['kept']:8d} {len(net.cluster.hub):5d} "
                f"{launches(net):7d} {curve_launches(net):6d} {load.tx_sent:8d} "
                f"{load.bundles_sent:7d}",
                flush=True,
            )
            if time.perf_counter() >= deadline:
                break
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - started
    landed = sum(1 for s in load.sent_signatures if _landed(net, s))
    sample = min(2_000, len(load.sent_signatures))
    counts = net.block_engine.stats()["bundles"]
    print(f"\nlaunches: {launches(net)} ({launches(net) / (elapsed / 60):.1f}/min), on the curve "
          f"{curve_launches(net)} ({curve_launches(net) / (elapsed / 60):.1f}/min)")  # fmt: skip
    print(f"sendTransaction: {load.tx_sent / elapsed:.1f}/s accepted ({load.tx_refused} refused); "
          f"of the last {sample} accepted, {landed} landed (the rest fell out of the kept history "
          f"or were dropped)")  # fmt: skip
    print(f"sendBundle: {load.bundles_sent / elapsed:.2f}/s accepted ({load.bundles_refused} "
          f"refused); block engine outcomes (scenario + rivals + load): {counts}")  # fmt: skip
    landed_total = net.cluster.history.transaction_count
    print(f"rival buys recorded: {len(net.rivals.buys)}, cluster transactions landed: "
          f"{landed_total}, leader batches: {net.cluster.batches}")  # fmt: skip
    if load.errors:
        print(f"client errors: {dict(sorted(load.errors.items(), key=lambda kv: -kv[1])[:5])}")
    if args.tracemalloc and first is not None:
        last = tracemalloc.take_snapshot()
        print(f"\ntracemalloc top growth from {args.warmup_s:.0f} s to the end:")
        print("\n".join(top_growth(first, last, args.top)))
    await net.stop()


def _landed(net: Localnet, signature: str) -> bool:
    from solders.signature import Signature

    outcome = net.cluster.history.get(Signature.from_string(signature))
    return outcome is not None and outcome.landed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sample-s", type=float, default=60.0)
    parser.add_argument("--warmup-s", type=float, default=120.0, help="first tracemalloc snapshot")
    parser.add_argument("--tx-rate", type=float, default=40.0, help="sendTransaction per second")
    parser.add_argument("--bundle-rate", type=float, default=4.0, help="sendBundle per second")
    parser.add_argument("--slot-ms", type=int, default=400)
    parser.add_argument("--stream-tick-ms", type=int, default=50)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    args = parser.parse_args()
    if args.minutes <= 0 or args.tx_rate <= 0 or args.bundle_rate < 0:
        parser.error("--minutes and --tx-rate must be > 0, --bundle-rate >= 0")
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.tracemalloc:
        tracemalloc.start(1)
    asyncio.run(run(args))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
