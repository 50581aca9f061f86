"""Per-stage latency of a buy on localnet, and the executor's in-process overhead.

    .venv/bin/python bench/bench_executor.py [--buys 40] [--slot-ms 10]

Localnet runs in another process (its CPU is not ours). Two implementations buy in the same run:

* ``SwapExecutor``: quote, funds, build, verify, sign, simulate (+ the co-signer outflow check),
  send, confirm (+ ``getTransaction`` and accounting), with every state transition persisted in
  the order store (a temporary SQLite file, or ``--database-url``) so the crash rules hold.
* a straightforward sequential buy with solana-py ``AsyncClient`` + aiohttp for Jupiter: quote,
  swap, sign, simulate, send, poll statuses, ``getTransaction``; no verification, no persistence.

Every awaited network/storage call is timed (intervals merged where calls overlap), so
``overhead = wall - (network waits U storage waits)`` is the CPU each implementation spends per
buy in this process. "start to sent" is what a sniper races on: until ``sendTransaction`` returns.
Stage latencies of the executor come from ``swap_stage_duration_seconds``.
Machines are noisy (2 shared cores): compare the ratios printed at the end, not absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry
from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.entities import OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.storage import Database, Repositories
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor, TradeAccount
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue

BUY_LAMPORTS = 10_000_000
STAGES = ("quote", "funds", "build", "verify", "sign", "simulate", "send", "confirm")


# ---------------------------------------------------------------------------- localnet process
def _serve(conn: Any, slot_ms: int, wallets: list[str], tokens: int) -> None:
    async def main() -> None:
        from localnet.testing import running_localnet

        async with running_localnet(seed=9, slot_ms=slot_ms) as net:
            for w in wallets:
                net.cluster.airdrop(Pubkey.from_string(w), 100 * 10**9)
            mints = [str(net.factory.create("honest").mint) for _ in range(tokens)]
            assert net.urls is not None
            conn.send({"urls": net.urls.to_json(), "mints": mints})
            await asyncio.Event().wait()

    asyncio.run(main())


# ---------------------------------------------------------------------------- wait accounting
class Waits:
    """Intervals spent awaiting I/O, by kind; overlapping intervals are merged before summing."""

    def __init__(self) -> None:
        self.intervals: dict[str, list[tuple[float, float]]] = {"net": [], "db": []}
        self.sent_at: float | None = None

    def reset(self) -> None:
        self.sent_at: float | None = None
        for v in self.intervals.values():
            v.clear()

    def total(self, *kinds: str) -> float:
        merged = 0.0
        end = float("-inf")
        for a, b in sorted(i for kind in kinds for i in self.intervals[kind]):
            if b <= end:
                continue
            merged += b - max(a, end)
            end = b
        return merged

    def wrap(self, target: Any, kind: str) -> Any:
        waits = self

        class Proxy:
            def __getattr__(self, name: str) -> Any:
                attr = getattr(target, name)
                if not callable(attr) or not asyncio.iscoroutinefunction(attr):
                    return attr

                async def timed(*args: Any, **kwargs: Any) -> Any:
                    t = time.perf_counter()
                    try:
                        return await attr(*args, **kwargs)
                    finally:
                        done = time.perf_counter()
                        waits.intervals[kind].append((t, done))
                        if name == "send_transaction" and waits.sent_at is None:
                            waits.sent_at = done

                return timed

        return Proxy()

    async def timed(self, kind: str, aw: Awaitable[Any]) -> Any:
        t = time.perf_counter()
        try:
            return await aw
        finally:
            self.intervals[kind].append((t, time.perf_counter()))


# ---------------------------------------------------------------------------- the executor
async def bench_executor(
    urls: dict[str, Any], mints: list[str], kp: Keypair, buys: int, db_url: str
) -> dict[str, Any]:
    registry = CollectorRegistry()
    metrics = Metrics(registry=registry)
    waits = Waits()
    db = Database(db_url)
    await db.connect(attempts=1)
    await db.upgrade()
    repos = Repositories.build(db)
    user = await repos.users.get_or_create(1, "bench")
    wallet = await repos.wallets.create(
        user.id, str(kp.pubkey()), SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "main"
    )
    walls: list[float] = []
    overheads: list[float] = []
    nets: list[float] = []
    dbs: list[float] = []
    to_send: list[float] = []
    async with aiohttp.ClientSession() as session:
        endpoint = EndpointConfig(name="local", url=urls["rpc"]["helius"]["http"], rate_per_s=0)
        breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        rpc = SolanaRpc(RpcPool([endpoint], breakers, metrics, session, default_timeout_s=5.0))
        venue = JupiterVenue(JupiterClient(session, urls["jupiter"] + "/swap/v1"))
        executor = SwapExecutor(
            venue=waits.wrap(venue, "net"),
            rpc=waits.wrap(rpc, "net"),
            orders=waits.wrap(repos.orders, "db"),
            trades=waits.wrap(repos.trades, "db"),
            metrics=metrics,
            config=ExecutorConfig(poll_interval_s=0.002, cosigners="presigned"),
        )
        account = TradeAccount(kp.pubkey(), kp, 1_000_000)
        for i in range(buys + 3):  # the first 3 warm connections and caches
            order, _ = await repos.orders.create(
                user_id=user.id,
                wallet_id=wallet.id,
                kind=OrderKind.MANUAL,
                token_mint=mints[i % len(mints)],
                side=OrderSide.BUY,
                amount=BUY_LAMPORTS,
                slippage_bps=300,
                priority_fee=FeeLevel.LOW,
                idempotency_key=f"bench-{i}",
            )
            waits.reset()
            t = time.perf_counter()
            done = await executor.run(order, account)
            wall = time.perf_counter() - t
            if done.status is not OrderStatus.CONFIRMED:
                raise RuntimeError(f"benchmark buy did not land: {done.error}")
            if i >= 3:
                walls.append(wall)
                nets.append(waits.total("net"))
                dbs.append(waits.total("db"))
                overheads.append(wall - waits.total("net", "db"))  # calls may overlap
                assert waits.sent_at is not None
                to_send.append(waits.sent_at - t)
        await rpc.pool.close()
    await db.dispose()
    stages: dict[str, float] = {}
    for stage in STAGES:
        total = (
            registry.get_sample_value("swap_stage_duration_seconds_sum", {"stage": stage}) or 0.0
        )
        count = (
            registry.get_sample_value("swap_stage_duration_seconds_count", {"stage": stage}) or 1.0
        )
        stages[stage] = total / count
    return {
        "wall": walls,
        "overhead": overheads,
        "net": nets,
        "db": dbs,
        "to_send": to_send,
        "stages": stages,
    }


# ---------------------------------------------------------------------------- the baseline
async def bench_baseline(
    urls: dict[str, Any], mints: list[str], kp: Keypair, buys: int
) -> dict[str, Any]:
    from solana.rpc.async_api import AsyncClient
    from solders.transaction_status import TransactionConfirmationStatus as Status

    confirmed = (Status.Confirmed, Status.Finalized)

    waits = Waits()
    nets: list[float] = []
    to_send: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in ("quote", "build", "sign", "simulate")}
    stages |= {"send": [], "confirm": []}
    walls: list[float] = []
    overheads: list[float] = []
    jup = urls["jupiter"] + "/swap/v1"
    async with (
        aiohttp.ClientSession() as session,
        AsyncClient(urls["rpc"]["helius"]["http"], timeout=5.0) as client,
    ):

        async def buy(mint: str) -> None:
            marks = [time.perf_counter()]
            params = {
                "inputMint": WSOL_MINT,
                "outputMint": mint,
                "amount": str(BUY_LAMPORTS),
                "slippageBps": "300",
            }

            async def get_quote() -> Any:
                async with session.get(jup + "/quote", params=params) as r:
                    return await r.json()

            quote = await waits.timed("net", get_quote())
            marks.append(time.perf_counter())
            body = {
                "quoteResponse": quote,
                "userPublicKey": str(kp.pubkey()),
                "prioritizationFeeLamports": 1_000,
            }

            async def post_swap() -> Any:
                async with session.post(jup + "/swap", json=body) as r:
                    return await r.json()

            swap = await waits.timed("net", post_swap())
            marks.append(time.perf_counter())
            tx = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
            sigs = list(tx.signatures)
            sigs[0] = kp.sign_message(to_bytes_versioned(tx.message))
            signed = VersionedTransaction.populate(tx.message, sigs)
            marks.append(time.perf_counter())
            sim = await waits.timed("net", client.simulate_transaction(signed))
            if sim.value.err is not None:
                raise RuntimeError(f"baseline simulation failed: {sim.value.err}")
            marks.append(time.perf_counter())
            sent = await waits.timed("net", client.send_raw_transaction(bytes(signed)))
            sig: Signature = sent.value
            marks.append(time.perf_counter())
            to_send.append(marks[-1] - marks[0])
            while True:
                status = (await waits.timed("net", client.get_signature_statuses([sig]))).value[0]
                if status is not None and status.confirmation_status in confirmed:
                    break
                await asyncio.sleep(0.002)
            landed = await waits.timed(
                "net",
                client.get_transaction(
                    sig, "json", "confirmed", max_supported_transaction_version=0
                ),
            )
            if landed.value is None or landed.value.transaction.meta.err is not None:
                raise RuntimeError("baseline buy did not land")
            marks.append(time.perf_counter())
            for name, a, b in zip(stages, marks, marks[1:], strict=False):
                stages[name].append(b - a)

        for i in range(buys + 3):
            waits.reset()
            t = time.perf_counter()
            await buy(mints[i % len(mints)])
            wall = time.perf_counter() - t
            if i < 3:
                for v in stages.values():
                    v.clear()
                continue
            walls.append(wall)
            nets.append(waits.total("net"))
            overheads.append(wall - nets[-1])
        del to_send[:3]  # warm-up buys
    return {
        "wall": walls,
        "overhead": overheads,
        "net": nets,
        "to_send": to_send,
        "stages": {k: statistics.mean(v) for k, v in stages.items() if v},
    }


# ---------------------------------------------------------------------------- report
def _ms(x: float) -> str:
    return f"{x * 1000:8.2f} ms"


def report(ex: dict[str, Any], base: dict[str, Any]) -> None:
    print("per-stage mean latency (executor | straightforward solana-py):")
    for stage in STAGES:
        b = base["stages"].get(stage)
        theirs = _ms(b) if b is not None else "     (none)"
        print(f"  {stage:>9}: {_ms(ex['stages'][stage])} | {theirs}")
    ex_wall, b_wall = statistics.median(ex["wall"]), statistics.median(base["wall"])
    ex_over, b_over = statistics.median(ex["overhead"]), statistics.median(base["overhead"])
    ex_net, b_net = statistics.median(ex["net"]), statistics.median(base["net"])
    ex_send, b_send = statistics.median(ex["to_send"]), statistics.median(base["to_send"])
    print(f"start to sent, median:          {_ms(ex_send)} | {_ms(b_send)}")
    print(f"buy wall time, median:          {_ms(ex_wall)} | {_ms(b_wall)}")
    print(f"network waits, median:          {_ms(ex_net)} | {_ms(b_net)}")
    print(f"order-store waits, median:      {_ms(statistics.median(ex['db']))} |  (no store)")
    print(f"in-process overhead, median:    {_ms(ex_over)} | {_ms(b_over)}")
    print(f"ratio start-to-sent executor/baseline: {ex_send / b_send:6.2f}x")
    print(f"ratio wall executor/baseline:      {ex_wall / b_wall:6.2f}x")
    print(f"ratio overhead executor/baseline:  {ex_over / b_over:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buys", type=int, default=40)
    parser.add_argument("--slot-ms", type=int, default=10)
    parser.add_argument(
        "--database-url",
        default="",
        help="order store (default: a temporary SQLite file); e.g. an empty PostgreSQL database",
    )
    args = parser.parse_args()
    ex_kp, base_kp = Keypair(), Keypair()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    wallets = [str(ex_kp.pubkey()), str(base_kp.pubkey())]
    server = ctx.Process(target=_serve, args=(child, args.slot_ms, wallets, 8), daemon=True)
    server.start()
    try:
        info = parent.recv()
        urls, mints = info["urls"], info["mints"]
        with tempfile.TemporaryDirectory() as tmp:
            db_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            ex = asyncio.run(bench_executor(urls, mints, ex_kp, args.buys, db_url))
        base = asyncio.run(bench_baseline(urls, mints, base_kp, args.buys))
    finally:
        server.terminate()
        server.join(5)
    print(f"{args.buys} buys each, localnet slot {args.slot_ms} ms")
    report(ex, base)


if __name__ == "__main__":
    main()
