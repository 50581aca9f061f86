"""Venues on localnet: quote and build per venue (µs), and the snipe path with pump.fun vs Jupiter.

    .venv/bin/python bench/bench_venues.py [--n 100] [--rounds 10]

1. quote, build: ``--n`` times each, 0.01 SOL buys: the pump.fun venue on a live curve (curve +
   Global + FeeConfig reads over RPC, the program's math), the PumpSwap venue on a graduated
   coin's canonical pool (pool + vault reads), the Jupiter venue on a market token (localnet's
   Jupiter-compatible API over HTTP: /quote, /swap). Same RPC pool and session for all; ratios to
   Jupiter printed;
2. the slow snipe path (``SnipeEngine`` -> ``TradingService`` -> executor, the production wiring
   of ``bench/bench_snipe.py``), notification decoded -> order SIGNED, ``--rounds`` launches per
   venue in the same run: a pump.fun create bought through the ``VenueRouter`` (the pump.fun
   venue builds the curve buy itself) vs a market token announced the same way and bought
   through Jupiter. (The hot path, no round trip before the send, is ``bench_hot_snipe.py``.)

Embedded SQLite; nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from solders.keypair import Keypair

from bench_snipe import Key, Signers, TimedFeed
from localnet.market.keys import derive_keypair
from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.chain.ws import SubscriptionManager
from sniper_bot.detection import LaunchDetector, PumpFunListener, RaydiumV4Listener
from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.engine import QuoteRouteProbe, SnipeConfig, SnipeEngine
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.venue import Venue
from sniper_bot.resilience import Backoff, BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.repositories.snipes import SnipeTargetRepository
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue
from sniper_bot.trading.venues.pumpfun import PumpFunVenue
from sniper_bot.trading.venues.pumpswap import PumpSwapVenue
from sniper_bot.trading.venues.router import VenueRouter

SOL = 1_000_000_000
BUY = SOL // 100


def us(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values) * 1e6:9.1f} µs   p95 {p95 * 1e6:9.1f} µs"


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values) * 1e3:7.2f} ms   p95 {p95 * 1e3:7.2f} ms"


async def time_venue(venue: Venue, mint: str, user: str, n: int) -> tuple[list[float], list[float]]:
    quotes: list[float] = []
    builds: list[float] = []
    for _ in range(n):
        started = time.perf_counter()
        quote = await venue.quote(str(WSOL_MINT), mint, BUY, 1_500)
        quoted = time.perf_counter()
        await venue.build_swap(quote, user, priority_fee_lamports=10_000)
        quotes.append(quoted - started)
        builds.append(time.perf_counter() - quoted)
    return quotes, builds


async def main(n: int, rounds: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-venues-"))
    async with running_localnet(seed=7, slot_ms=20) as net, aiohttp.ClientSession() as session:
        urls = net.urls
        assert urls is not None
        metrics = Metrics()
        http = [EndpointConfig(name="helius", url=urls.rpc["helius"]["http"], rate_per_s=1e6)]
        pool = RpcPool(http, BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics),
                       metrics, session, default_timeout_s=2.0)  # fmt: skip
        rpc = SolanaRpc(pool)
        jupiter = JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1"))
        pumpfun, pumpswap = PumpFunVenue(rpc), PumpSwapVenue(rpc)
        router = VenueRouter(jupiter, pumpfun=pumpfun, pumpswap=pumpswap)
        kp = Keypair()
        net.cluster.airdrop(kp.pubkey(), 1_000 * SOL)
        user = str(kp.pubkey())
        pad = net.launchpad
        creator, whale = Keypair(), Keypair()
        net.cluster.airdrop(creator.pubkey(), 100 * SOL)
        net.cluster.airdrop(whale.pubkey(), 500 * SOL)
        curve_coin = str(pad.launch(creator, name="Bench", symbol="BNCH").mint)
        grad = pad.launch(creator, name="Grad", symbol="GRAD").mint
        pad.graduate(grad, whale)
        market_token = str(net.factory.create("honest").mint)

        rows: dict[str, tuple[list[float], list[float]]] = {}
        for name, venue, mint in (("pump.fun", pumpfun, curve_coin),
                                  ("PumpSwap", pumpswap, str(grad)),
                                  ("Jupiter", jupiter, market_token)):  # fmt: skip
            await time_venue(venue, mint, user, 3)  # warm: connections, caches
            rows[name] = await time_venue(venue, mint, user, n)
        load = os.getloadavg()
        print(f"load average {load[0]:.1f} / {load[1]:.1f} on {os.cpu_count()} cores (shared box)")
        print(f"1) quote + build of a 0.01 SOL buy, n={n} each, localnet (RPC and Jupiter API "
              f"over HTTP on this box)")  # fmt: skip
        jq, jb = (statistics.median(v) for v in rows["Jupiter"])
        for name, (quotes, builds) in rows.items():
            q, b = statistics.median(quotes), statistics.median(builds)
            print(f"  {name:<9} quote {us(quotes)}   build {us(builds)}   "
                  f"vs Jupiter: quote {q / jq:.2f}x, build {b / jb:.2f}x")  # fmt: skip

        snipe = await snipe_path(net, session, rpc, jupiter, router, kp, tmp, rounds)
        print(f"\n2) slow snipe path, notification -> SIGNED, {rounds} launches per venue, "
              f"same run (SnipeEngine -> TradingService -> executor)")  # fmt: skip
        for name, values in snipe.items():
            print(f"  {name:<34} {ms(values)}")
        if all(snipe.values()):
            ratio = statistics.median(snipe["Jupiter (market token)"]) / statistics.median(
                snipe["pump.fun venue (curve create)"]
            )
            print(f"  ratio Jupiter / pump.fun (median): {ratio:.2f}x")
        await pool.close()
    return 0


async def snipe_path(
    net: Any,
    session: aiohttp.ClientSession,
    rpc: SolanaRpc,
    jupiter: JupiterVenue,
    router: VenueRouter,
    kp: Keypair,
    tmp: Path,
    rounds: int,
) -> dict[str, list[float]]:
    urls = net.urls
    metrics = Metrics()
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    marks: dict[tuple[str, str], float] = {}
    dbs: list[Database] = []

    async def boundary(stage: str, order: Order) -> None:
        marks.setdefault((order.token_mint, stage), time.monotonic())

    async def engine_for(venue: Venue, feed: TimedFeed, name: str) -> SnipeEngine:
        """An engine on its own database: it fires only the targets armed on it."""
        db = Database(f"sqlite+aiosqlite:///{tmp / f'{name}.sqlite'}")
        await db.connect(attempts=1)
        await db.upgrade()
        dbs.append(db)
        repos = Repositories.build(db)
        user = await repos.users.get_or_create(1, "bench")
        wallet = await repos.wallets.create(
            user.id, str(kp.pubkey()), SealedSecret("k", b"s" * 16, b"n" * 12, b"c" * 80), "w"
        )
        ids[name] = (user.id, wallet.id)
        risk = RiskService(SnapshotFetcher(rpc, venue, fee_payer=payer.pubkey()))
        executor = SwapExecutor(
            venue=venue, rpc=rpc, orders=repos.orders, trades=repos.trades, metrics=metrics,
            risk_gate=risk, boundary=boundary,
            config=ExecutorConfig(poll_interval_s=0.02, cosigners="presigned"),
        )  # fmt: skip
        trading = TradingService(executor=executor, orders=repos.orders, signers=Signers(
            Key(wallet.id, kp)), metrics=metrics, max_priority_fee_lamports=1_000_000)  # fmt: skip
        return SnipeEngine(
            feeds=[feed], targets=SnipeTargetRepository(db), trading=trading, risk=risk,
            metrics=metrics, probe=QuoteRouteProbe(venue),
            config=SnipeConfig(route_backoff=Backoff(0.02, 1.5, 0.2, 0.0)),
        )  # fmt: skip

    ws = [EndpointConfig(name=n, url=urls.rpc[n]["http"], ws_url=urls.rpc[n]["ws"], priority=i)
          for i, n in enumerate(("helius", "quicknode"))]  # fmt: skip
    manager = SubscriptionManager(ws, metrics, session, redundancy=2, rng=random.Random(1))
    feed = TimedFeed(LaunchDetector(manager, [PumpFunListener(), RaydiumV4Listener()], metrics))
    # one feed, two engines: each fires only the targets it armed (its own mints)
    ids: dict[str, tuple[int, int]] = {}
    engines = {"router": await engine_for(router, feed, "router"),
               "jupiter": await engine_for(jupiter, feed, "jupiter")}  # fmt: skip
    sinks: list[Callable[[Any], Awaitable[None]]] = []

    class Fan:
        async def run(self, sink: Callable[[Any], Awaitable[None]]) -> None:
            sinks.append(sink)
            await asyncio.Event().wait()

    async def fan_out(event: Any) -> None:
        for sink in sinks:
            await sink(event)

    for engine in engines.values():
        engine._feeds = [Fan()]  # the shared detector feeds both
    stop = asyncio.Event()
    runners = [asyncio.create_task(e.run(stop)) for e in engines.values()]
    detector = asyncio.create_task(feed.run(fan_out))
    async with asyncio.timeout(10):
        while len(net.cluster.hub) < 4:  # noqa: ASYNC110 - the server's subscription table
            await asyncio.sleep(0.01)

    async def until(key: tuple[str, str]) -> None:
        async with asyncio.timeout(20):
            while key not in marks:  # noqa: ASYNC110 - set by the executor's boundary hook
                await asyncio.sleep(0.002)

    out: dict[str, list[float]] = {"pump.fun venue (curve create)": [],
                                   "Jupiter (market token)": []}  # fmt: skip
    creator = Keypair()
    net.cluster.airdrop(creator.pubkey(), 100 * SOL)
    for i in range(rounds):
        mint_kp = Keypair()
        mint = str(mint_kp.pubkey())
        await engines["router"].arm(*ids["router"], mint, BUY, 1_500, FeeLevel.LOW, 60)
        net.launchpad.launch(creator, name=f"Snipe {i}", symbol=f"SN{i}", mint=mint_kp)
        await until((mint, "signed"))
        out["pump.fun venue (curve create)"].append(marks[(mint, "signed")] - feed.seen[mint])
        await engines["router"].wait_idle()

        mint = str(derive_keypair(net.market.seed, f"mint:{len(net.factory.tokens)}").pubkey())
        await engines["jupiter"].arm(*ids["jupiter"], mint, BUY, 1_500, FeeLevel.LOW, 60)
        await engines["jupiter"].wait_idle()
        async with session.post(
            f"{urls.control}/tokens", json={"kind": "honest", "announce": "pumpfun"}
        ) as resp:
            assert str((await resp.json())["mint"]) == mint
        await until((mint, "signed"))
        out["Jupiter (market token)"].append(marks[(mint, "signed")] - feed.seen[mint])
        await engines["jupiter"].wait_idle()
    stop.set()
    await asyncio.gather(*runners, return_exceptions=True)
    detector.cancel()
    await asyncio.gather(detector, return_exceptions=True)
    for db in dbs:
        await db.dispose()
    return out


if __name__ == "__main__":
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if os.environ.get("BENCH_DEBUG") else logging.ERROR
        )
    )
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100, help="quotes and builds per venue")
    parser.add_argument("--rounds", type=int, default=10, help="snipe launches per venue")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.n, args.rounds)))
