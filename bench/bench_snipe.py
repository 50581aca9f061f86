"""Snipe latency on localnet: pump.fun announcement notification -> order SIGNED / SENT.

    .venv/bin/python bench/bench_snipe.py [N]

Each round arms a target for the mint localnet will create next, launches it through the control
API (announced as pump.fun ``Create`` logs over PubSub), and times from the moment the detector
decoded the notification (``LaunchEvent.seen_at``) to the executor committing SIGNED and SENT.
Baseline, same run and same stack: ``TradingService.buy`` called directly on a freshly launched
mint (cold risk check included), timed from the call to SIGNED / SENT. The difference is what
the snipe path adds (claim CAS, route probe, forced risk check vs the gate's). Embedded SQLite.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from solders.keypair import Keypair

from localnet.market.keys import derive_keypair
from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.chain.ws import SubscriptionManager
from sniper_bot.detection import LaunchDetector, PumpFunListener, RaydiumV4Listener
from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchEvent
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.engine import QuoteRouteProbe, SnipeConfig, SnipeEngine
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import Backoff, BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.repositories.snipes import SnipeTargetRepository
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue

SOL = 1_000_000_000


class Key:
    def __init__(self, wallet_id: int, keypair: Keypair) -> None:
        self.wallet_id, self.keypair, self.pubkey = wallet_id, keypair, keypair.pubkey()

    def sign_message(self, message: bytes) -> Any:
        return self.keypair.sign_message(message)


class Signers:
    def __init__(self, key: Key) -> None:
        self.key = key

    async def signer(self, user_id: int, wallet_id: int | None = None) -> Key:
        return self.key


class TimedFeed:
    """The detector, with the time each mint's launch was decoded remembered."""

    def __init__(self, detector: LaunchDetector) -> None:
        self.detector = detector
        self.seen: dict[str, float] = {}

    async def run(self, sink: Callable[[LaunchEvent], Awaitable[None]]) -> None:
        async def timed(event: LaunchEvent) -> None:
            self.seen[event.mint] = event.seen_at
            await sink(event)

        await self.detector.run(timed)


def stats(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{name:<38} median {statistics.median(values) * 1e3:7.2f} ms   "
        f"p95 {p95 * 1e3:7.2f} ms   (n={len(values)})"
    )


async def main(rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-snipe-"))
    async with running_localnet(seed=5, slot_ms=20) as net, aiohttp.ClientSession() as session:
        urls = net.urls
        assert urls is not None
        metrics = Metrics()
        http = [EndpointConfig(name="helius", url=urls.rpc["helius"]["http"], rate_per_s=1e6)]
        pool = RpcPool(http, BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics),
                       metrics, session, default_timeout_s=2.0)  # fmt: skip
        rpc = SolanaRpc(pool)
        venue = JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1"))
        db = Database(f"sqlite+aiosqlite:///{tmp / 'bench.sqlite'}")
        await db.connect(attempts=1)
        await db.upgrade()
        repos = Repositories.build(db)
        kp = Keypair()
        net.cluster.airdrop(kp.pubkey(), 1_000 * SOL)
        user = await repos.users.get_or_create(1, "bench")
        wallet = await repos.wallets.create(
            user.id, str(kp.pubkey()), SealedSecret("k", b"s" * 16, b"n" * 12, b"c" * 80), "w"
        )
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), SOL)
        risk = RiskService(SnapshotFetcher(rpc, venue, fee_payer=payer.pubkey()))
        marks: dict[tuple[str, str], float] = {}

        async def boundary(stage: str, order: Order) -> None:
            marks.setdefault((order.token_mint, stage), time.monotonic())

        executor = SwapExecutor(
            venue=venue, rpc=rpc, orders=repos.orders, trades=repos.trades, metrics=metrics,
            risk_gate=risk, boundary=boundary,
            config=ExecutorConfig(poll_interval_s=0.02, cosigners="presigned"),
        )  # fmt: skip
        trading = TradingService(executor=executor, orders=repos.orders, signers=Signers(
            Key(wallet.id, kp)), metrics=metrics, max_priority_fee_lamports=1_000_000)  # fmt: skip
        ws = [EndpointConfig(name=n, url=urls.rpc[n]["http"], ws_url=urls.rpc[n]["ws"], priority=i)
              for i, n in enumerate(("helius", "quicknode"))]  # fmt: skip
        manager = SubscriptionManager(ws, metrics, session, redundancy=2, rng=random.Random(1))
        feed = TimedFeed(LaunchDetector(manager, [PumpFunListener(), RaydiumV4Listener()], metrics))
        engine = SnipeEngine(
            feeds=[feed], targets=SnipeTargetRepository(db), trading=trading, risk=risk,
            metrics=metrics, probe=QuoteRouteProbe(venue),
            config=SnipeConfig(route_backoff=Backoff(0.02, 1.5, 0.2, 0.0)),
        )  # fmt: skip

        async def launch(announce: str) -> str:
            async with session.post(
                f"{urls.control}/tokens", json={"kind": "honest", "announce": announce}
            ) as resp:
                body: dict[str, Any] = await resp.json()
                return str(body["mint"])

        async def until(key: tuple[str, str]) -> None:
            async with asyncio.timeout(20):
                while key not in marks:  # noqa: ASYNC110 - set by the executor's boundary hook
                    await asyncio.sleep(0.002)

        snipe_signed, snipe_sent, base_signed, base_sent = [], [], [], []
        stop = asyncio.Event()
        runner = asyncio.create_task(engine.run(stop))
        async with asyncio.timeout(10):
            while len(net.cluster.hub) < 4:  # noqa: ASYNC110 - the server's subscription table
                await asyncio.sleep(0.01)
        for i in range(rounds):
            mint = str(derive_keypair(net.market.seed, f"mint:{len(net.factory.tokens)}").pubkey())
            await engine.arm(user.id, wallet.id, mint, SOL // 100, 1_500, FeeLevel.LOW, 60)
            await engine.wait_idle()
            await launch("pumpfun")
            await until((mint, "sent"))
            snipe_signed.append(marks[(mint, "signed")] - feed.seen[mint])
            snipe_sent.append(marks[(mint, "sent")] - feed.seen[mint])
            await engine.wait_idle()

            mint = await launch("none")
            started = time.monotonic()
            await trading.buy(user.id, wallet.id, mint, SOL // 100, 1_500, FeeLevel.LOW,
                              f"base:{i}", kind=OrderKind.MANUAL)  # fmt: skip
            base_signed.append(marks[(mint, "signed")] - started)
            base_sent.append(marks[(mint, "sent")] - started)
        stop.set()
        await runner
        print(f"localnet, slot 20 ms, SQLite, {rounds} rounds each")
        print(stats("snipe: notification -> SIGNED", snipe_signed))
        print(stats("snipe: notification -> SENT", snipe_sent))
        print(stats("baseline: TradingService.buy -> SIGNED", base_signed))
        print(stats("baseline: TradingService.buy -> SENT", base_sent))
        overhead = statistics.median(snipe_signed) - statistics.median(base_signed)
        print(f"snipe path overhead (median, to SIGNED): {overhead * 1e3:+.2f} ms")
        await pool.close()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
