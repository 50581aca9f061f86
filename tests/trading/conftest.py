"""Localnet (real LiteSVM behind HTTP JSON-RPC + the Jupiter-compatible API) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.cluster import Cluster
from localnet.market import Market
from localnet.market.api import create_jupiter_app
from localnet.rpc.server import RpcEndpoint
from localnet.tokens import TokenFactory
from sniper_bot.chain.client import JsonRpcClient
from sniper_bot.observability.metrics import Metrics
from sniper_bot.storage import Database, Repositories
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue

from .chain_adapter import ChainAdapter


@dataclass(frozen=True)
class Key:
    wallet_id: int
    pubkey: Pubkey
    keypair: Keypair

    def sign_message(self, message: bytes) -> Signature:
        return self.keypair.sign_message(message)


@dataclass
class Env:
    cluster: Cluster
    market: Market
    factory: TokenFactory
    rpc: ChainAdapter
    venue: JupiterVenue
    repos: Repositories
    metrics: Metrics
    user_id: int
    key: Key

    def executor(self, cosigners: frozenset[Pubkey], **kw: object) -> SwapExecutor:
        cfg = ExecutorConfig(
            poll_interval_s=0.02,
            resend_interval_s=0.1,
            allowed_cosigners=cosigners,
            land_deadline_s=10.0,
            **kw,  # type: ignore[arg-type]
        )
        return SwapExecutor(
            venue=self.venue,
            rpc=self.rpc,
            orders=self.repos.orders,
            trades=self.repos.trades,
            metrics=self.metrics,
            config=cfg,
        )


@pytest.fixture
async def env(pg_url: str) -> AsyncIterator[Env]:
    cluster = Cluster(seed=11, slot_ms=20)
    market = Market(cluster, seed=11)
    factory = TokenFactory(cluster, market)
    await cluster.start()
    endpoint = RpcEndpoint("local", cluster)
    await endpoint.start()
    jup = TestServer(create_jupiter_app(market))
    await jup.start_server()
    db = Database(pg_url, pool_size=5)
    await db.connect(attempts=1)
    await db.upgrade()
    repos = Repositories.build(db)
    kp = Keypair()
    cluster.airdrop(kp.pubkey(), 5 * 10**9)
    user = await repos.users.get_or_create(4242, "trader")
    from sniper_bot.domain.wallets import SealedSecret

    wallet = await repos.wallets.create(
        user.id, str(kp.pubkey()), SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "main"
    )
    async with aiohttp.ClientSession() as session:
        rpc = ChainAdapter(JsonRpcClient("local", endpoint.http_url, session))
        venue = JupiterVenue(JupiterClient(session, str(jup.make_url(""))))
        try:
            yield Env(
                cluster,
                market,
                factory,
                rpc,
                venue,
                repos,
                Metrics(),
                user.id,
                Key(wallet.id, kp.pubkey(), kp),
            )
        finally:
            await jup.close()
            await endpoint.stop()
            await db.dispose()
            await cluster.stop()
