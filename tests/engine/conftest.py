"""The whole snipe path for real: localnet (LiteSVM behind JSON-RPC/PubSub, Jupiter API, control
API), PostgreSQL, the RPC pool, the risk service, the executor and the trading service."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.market.keys import derive_keypair
from localnet.node import Localnet
from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.chain.ws import SubscriptionManager
from sniper_bot.detection import LaunchDetector, PumpFunListener, RaydiumV4Listener
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.engine import QuoteRouteProbe, SnipeConfig, SnipeEngine
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import Backoff, BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.models import Base
from sniper_bot.storage.repositories.snipes import SnipeTargetRepository
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue
from support.services import session_database

SOL = 1_000_000_000
FAST_WS = Backoff(base_s=0.01, factor=2.0, max_s=0.05, jitter=0.0)
FAST_ROUTE = Backoff(base_s=0.05, factor=1.5, max_s=0.2, jitter=0.0)


@dataclass(frozen=True)
class Key:
    wallet_id: int
    pubkey: Pubkey
    keypair: Keypair

    def sign_message(self, message: bytes) -> Signature:
        return self.keypair.sign_message(message)


@dataclass
class Signers:
    """The wallet service's role for tests: one unlocked key per wallet id."""

    keys: dict[int, Key] = field(default_factory=dict)

    async def signer(self, user_id: int, wallet_id: int | None = None) -> Key:
        del user_id
        return self.keys[wallet_id if wallet_id is not None else next(iter(self.keys))]


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Stack:
    net: Localnet
    session: aiohttp.ClientSession
    db: Database
    repos: Repositories
    targets: SnipeTargetRepository
    metrics: Metrics
    rpc: SolanaRpc
    venue: JupiterVenue
    signers: Signers
    user_id: int
    key: Key
    managers: list[SubscriptionManager] = field(default_factory=list)

    @property
    def urls(self) -> Any:
        assert self.net.urls is not None
        return self.net.urls

    def risk(self) -> RiskService:
        payer = Keypair()
        self.net.cluster.airdrop(payer.pubkey(), SOL)
        return RiskService(SnapshotFetcher(self.rpc, self.venue, fee_payer=payer.pubkey()))

    def trading(self, risk: RiskService, worker_id: str = "worker-1") -> TradingService:
        executor = SwapExecutor(
            venue=self.venue,
            rpc=self.rpc,
            orders=self.repos.orders,
            trades=self.repos.trades,
            metrics=self.metrics,
            risk_gate=risk,
            config=ExecutorConfig(
                worker_id=worker_id,
                poll_interval_s=0.02,
                resend_interval_s=0.2,
                land_deadline_s=10.0,
                cosigners="presigned",
            ),
        )
        return TradingService(
            executor=executor,
            orders=self.repos.orders,
            signers=self.signers,
            metrics=self.metrics,
            max_priority_fee_lamports=1_000_000,
        )

    def detector(self, *endpoints: str) -> LaunchDetector:
        names = endpoints or ("helius", "quicknode")
        configs = [
            EndpointConfig(name=n, url=self.urls.rpc[n]["http"], ws_url=self.urls.rpc[n]["ws"],
                           priority=i)
            for i, n in enumerate(names)
        ]  # fmt: skip
        manager = SubscriptionManager(
            configs, self.metrics, self.session, redundancy=len(names), backoff=FAST_WS,
            rng=random.Random(1),
        )  # fmt: skip
        self.managers.append(manager)
        return LaunchDetector(manager, [PumpFunListener(), RaydiumV4Listener()], self.metrics)

    def engine(
        self,
        *feeds: LaunchDetector,
        worker_id: str = "worker-1",
        clock: Callable[[], datetime] | None = None,
    ) -> SnipeEngine:
        risk = self.risk()
        kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
        return SnipeEngine(
            feeds=list(feeds),
            targets=self.targets,
            trading=self.trading(risk, worker_id),
            risk=risk,
            metrics=self.metrics,
            probe=QuoteRouteProbe(self.venue),
            config=SnipeConfig(route_backoff=FAST_ROUTE, expiry_interval_s=0.05),
            rng=random.Random(3),
            **kwargs,
        )

    def next_mint(self, ahead: int = 0) -> str:
        """The mint localnet's factory will create next (its keys derive from the seed)."""
        n = len(self.net.factory.tokens) + ahead
        return str(derive_keypair(self.net.market.seed, f"mint:{n}").pubkey())

    async def launch(self, kind: str = "honest", announce: str = "pumpfun") -> dict[str, Any]:
        async with self.session.post(
            f"{self.urls.control}/tokens", json={"kind": kind, "announce": announce}
        ) as resp:
            assert resp.status == 201, await resp.text()
            body: dict[str, Any] = await resp.json()
            return body

    async def wait_subscriptions(self, n: int) -> None:
        await until(lambda: len(self.net.cluster.hub) >= n)

    def tokens_held(self, mint: str) -> int:
        accounts = self.net.cluster.token_accounts_by_owner(
            self.key.pubkey, mint=Pubkey.from_string(mint)
        )
        return sum(int.from_bytes(bytes(a.data[64:72]), "little") for _, a in accounts)


async def until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll state owned by another component (a server, a database row) until it holds."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - the state lives in another component
            await asyncio.sleep(0.01)


async def _migrate(url: str) -> None:
    database = Database(url)
    await database.upgrade()  # Alembic, 0001 + 0002: the real schema
    await database.dispose()


@pytest.fixture(scope="session")
def engine_pg_url() -> Iterator[str]:
    """One migrated PostgreSQL database for this suite (a database per test costs ~1.5 s on a
    shared box); ``clean_pg_url`` empties it before each test."""
    with session_database("sniper_engine") as url:
        asyncio.run(_migrate(url))
        yield url


@pytest.fixture
async def clean_pg_url(engine_pg_url: str) -> str:
    database = Database(engine_pg_url)
    async with database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
    await database.dispose()
    return engine_pg_url


@pytest.fixture
async def stack(clean_pg_url: str) -> AsyncIterator[Stack]:
    pg_url = clean_pg_url
    async with running_localnet(seed=21, slot_ms=20) as net, aiohttp.ClientSession() as session:
        urls = net.urls
        assert urls is not None
        metrics = Metrics()
        configs = [EndpointConfig(name="helius", url=urls.rpc["helius"]["http"], rate_per_s=10_000)]
        registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        pool = RpcPool(configs, registry, metrics, session, default_timeout_s=2.0)
        db = Database(pg_url, pool_size=10)
        await db.connect(attempts=1)
        repos = Repositories.build(db)
        kp = Keypair()
        net.cluster.airdrop(kp.pubkey(), 20 * SOL)
        user = await repos.users.get_or_create(777, "sniper")
        wallet = await repos.wallets.create(
            user.id, str(kp.pubkey()), SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "main"
        )
        key = Key(wallet.id, kp.pubkey(), kp)
        stack = Stack(
            net, session, db, repos, SnipeTargetRepository(db), metrics, SolanaRpc(pool),
            JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1")),
            Signers({wallet.id: key}), user.id, key,
        )  # fmt: skip
        try:
            yield stack
        finally:
            await pool.close()
            await db.dispose()
