"""Localnet (real LiteSVM behind HTTP JSON-RPC + the Jupiter-compatible API) and PostgreSQL.

The chain is reached exactly as in production: ``SolanaRpc`` over an ``RpcPool`` (breakers on a
memory store) speaking HTTP to localnet's endpoints. The test drives the market through
localnet's control API (another trader, freezes, slots), i.e. over the process boundary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.node import Localnet
from localnet.testing import running_localnet
from localnet.tokens import TokenInfo
from sniper_bot.chain.endpoints import endpoints_from_urls
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.risk import RiskChecker
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.database import SESSION_RETRY_DELAYS_S
from sniper_bot.trading.executor import Boundary, ExecutorConfig, SwapExecutor, TradeAccount
from sniper_bot.trading.ports import ChainPort
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue

SLOT_MS = 20
SOL = 1_000_000_000


@dataclass(frozen=True)
class Key:
    wallet_id: int
    pubkey: Pubkey
    keypair: Keypair

    def sign_message(self, message: bytes) -> Signature:
        return self.keypair.sign_message(message)


@dataclass
class Control:
    """localnet's control API over HTTP."""

    session: aiohttp.ClientSession
    url: str

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.post(self.url + path, json=body or {}) as resp:
            data = await resp.json()
            assert resp.status < 300, data
            return data

    async def advance_slots(self, n: int) -> None:
        await self.post("/slots/advance", {"n": n})

    async def trade(self, mint: Pubkey, side: str, lamports: int) -> None:
        result = await self.post(f"/tokens/{mint}/trade", {"side": side, "amount": lamports})
        assert result["err"] is None, result

    async def freeze_buyers(self, mint: Pubkey) -> int:
        return int((await self.post(f"/tokens/{mint}/freeze"))["frozen"])


@dataclass
class Env:
    net: Localnet
    rpc: SolanaRpc
    venue: JupiterVenue
    control: Control
    repos: Repositories
    metrics: Metrics
    user_id: int
    key: Key
    _keys: int = field(default=0)

    @property
    def account(self) -> TradeAccount:
        return TradeAccount(self.key.pubkey, self.key, 1_000_000)

    def token(self, kind: str = "honest") -> TokenInfo:
        info: TokenInfo = self.net.factory.create(kind)
        return info

    def balance(self, pubkey: Pubkey) -> int:
        return int(self.net.cluster.get_balance(pubkey))

    def executor(
        self,
        *,
        risk_gate: RiskChecker | None = None,
        boundary: Boundary | None = None,
        **config: Any,
    ) -> SwapExecutor:
        values: dict[str, Any] = {
            "poll_interval_s": 0.01,
            "resend_interval_s": 0.1,
            "land_deadline_s": 10.0,
            "cosigners": "presigned",  # localnet's market co-signs with per-pool keys
        }
        values.update(config)
        chain: ChainPort = self.rpc  # the real facade satisfies the port
        return SwapExecutor(
            venue=self.venue,
            rpc=chain,
            orders=self.repos.orders,
            trades=self.repos.trades,
            metrics=self.metrics,
            config=ExecutorConfig(**values),
            risk_gate=risk_gate,
            boundary=boundary,
        )

    async def order(
        self,
        mint: Pubkey | str,
        amount: int,
        key: str,
        *,
        side: OrderSide = OrderSide.BUY,
        fee: FeeLevel = FeeLevel.LOW,
        slippage_bps: int = 100,
    ) -> Order:
        order, _ = await self.repos.orders.create(
            user_id=self.user_id,
            wallet_id=self.key.wallet_id,
            kind=OrderKind.MANUAL,
            token_mint=str(mint),
            side=side,
            amount=amount,
            slippage_bps=slippage_bps,
            priority_fee=fee,
            idempotency_key=key,
        )
        return order


def build_rpc(net: Localnet, session: aiohttp.ClientSession, metrics: Metrics) -> SolanaRpc:
    """``SolanaRpc`` over an ``RpcPool`` of localnet's three endpoints, as the app builds it."""
    urls = net.urls
    assert urls is not None
    endpoints = endpoints_from_urls(
        urls.rpc["helius"]["http"],
        urls.rpc["quicknode"]["http"],
        urls.rpc["public"]["http"],
        None,
        rates={"helius": 10_000, "quicknode": 10_000, "solana": 10_000},
    )
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
    return SolanaRpc(RpcPool(endpoints, breakers, metrics, session, default_timeout_s=5.0))


@pytest.fixture
def db_retry_delays_s() -> tuple[float, ...]:
    """The Database's session retry delays (shipped; a test may parametrize shorter ones)."""
    return SESSION_RETRY_DELAYS_S


@pytest.fixture
async def env(pg_url: str, db_retry_delays_s: tuple[float, ...]) -> AsyncIterator[Env]:
    async with (
        running_localnet(seed=11, slot_ms=SLOT_MS) as net,
        aiohttp.ClientSession() as session,
    ):
        urls = net.urls
        assert urls is not None
        db = Database(pg_url, pool_size=5, retry_delays_s=db_retry_delays_s)
        await db.connect(attempts=1)
        await db.upgrade()
        repos = Repositories.build(db)
        kp = Keypair()
        net.cluster.airdrop(kp.pubkey(), 5 * SOL)
        user = await repos.users.get_or_create(4242, "trader")
        wallet = await repos.wallets.create(
            user.id, str(kp.pubkey()), SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "main"
        )
        metrics = Metrics()
        rpc = build_rpc(net, session, metrics)
        venue = JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1"))
        try:
            yield Env(
                net,
                rpc,
                venue,
                Control(session, urls.control),
                repos,
                metrics,
                user.id,
                Key(wallet.id, kp.pubkey(), kp),
            )
        finally:
            await rpc.pool.close()
            await db.dispose()
