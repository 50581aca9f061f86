"""Replicas of the hot path over real parts: localnet (pump.fun launches, RPC endpoints that count
every request), PostgreSQL (the app's repositories, every SQL statement counted) and a private
Redis server (every command counted by ``INFO commandstats``).

* A launch that matches nothing, decoded by both replicas' listeners, makes no database, RPC or
  Redis call; a matching one does (the counters count).
* One arm on replica A (its ``HotArming``: nonce account, target row, published) appears in
  replica B's book, prepared by B itself; both fire the launch; the buy lands exactly once, the
  order is stored once and ends CONFIRMED, the user is told once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.signature import Signature
from sqlalchemy import event

from localnet.node import Localnet
from localnet.pump.state import PUMP_PROGRAM_ID
from localnet.testing import running_localnet
from sniper_bot.cache import RedisManager
from sniper_bot.cache.armed import ArmedChannel
from sniper_bot.chain.relays import RelayFanout
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.chain.ws import Notification
from sniper_bot.detection.pumpfun import PumpFunListener
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchEvent
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.engine.probe import QuoteRouteProbe
from sniper_bot.engine.snipe import SnipeEngine, SnipeResult
from sniper_bot.hotpath.arming import HotArming
from sniper_bot.hotpath.book import ArmedBook, ArmedBookSync, ArmedEntry
from sniper_bot.hotpath.nonce import NonceManager, RpcNonceChain
from sniper_bot.hotpath.risk import DecisionRows, LaunchDecider
from sniper_bot.hotpath.sniper import FiredBookkeeping, HotOrder, HotSniper, TradingRecorder
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.creators import CreatorReputation
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.solana import pumpfun as pf
from sniper_bot.storage import Database, Repositories
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.pumpfun import PumpFunVenue
from support.services import RedisServer

from .conftest import SOL, build_rpc
from .test_book_no_io import redis_commands

BUY = SOL // 20


@dataclass(frozen=True)
class Key:
    """The user's wallet as ``WalletService.signer`` hands it to the trading code."""

    wallet_id: int
    keypair: Keypair

    @property
    def pubkey(self) -> Any:
        return self.keypair.pubkey()

    def sign_message(self, message: bytes) -> Any:
        return self.keypair.sign_message(message)


class Signers:
    def __init__(self, key: Key) -> None:
        self.key = key

    async def signer(self, user_id: int, wallet_id: int | None = None) -> Key:
        return self.key


@dataclass
class Replica:
    name: str
    sync: ArmedBookSync[HotOrder]
    arming: HotArming
    sniper: HotSniper
    listener: PumpFunListener
    trading: TradingService
    told: list[SnipeResult] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def book(self) -> ArmedBook[HotOrder]:
        return self.sync.book


@dataclass
class World:
    net: Localnet
    db: Database
    repos: Repositories
    rpc: SolanaRpc
    redis: RedisServer
    user_id: int
    key: Key
    reputation: CreatorReputation
    replicas: list[Replica] = field(default_factory=list)

    def rpc_requests(self) -> dict[str, int]:
        """Every JSON-RPC request the localnet endpoints served, by method."""
        total: dict[str, int] = {}
        for endpoint in self.net.endpoints.values():
            for method, count in endpoint.requests.items():
                total[method] = total.get(method, 0) + count
        return total

    def held(self, mint: Any) -> int:
        ata = pf.associated_token_address(self.key.pubkey, mint, pf.TOKEN_2022_PROGRAM_ID)
        account = self.net.cluster.get_account(ata)
        return 0 if account is None else int.from_bytes(bytes(account.data)[64:72], "little")


async def build_replica(world: World, name: str, manager: RedisManager) -> Replica:
    metrics = Metrics()
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
    raw = RpcNonceChain(world.rpc)
    nonces = NonceManager(raw, poll_s=0.01, confirm_timeout_s=10.0)
    holder: list[HotArming] = []

    def prepare(entry: ArmedEntry[HotOrder]) -> None:
        holder[0].prepare_later(entry)

    channel = ArmedChannel(manager, channel="snipes:armed:replicas", poll_s=0.05)
    sync: ArmedBookSync[HotOrder] = ArmedBookSync(
        ArmedBook(), channel, world.repos.snipes, rebuild_every_s=3600, on_added=prepare
    )
    signers = Signers(world.key)
    arming = HotArming(
        sync=sync, targets=world.repos.snipes, nonces=nonces, signers=signers,
        settings=world.repos.settings, chain=world.rpc,
    )  # fmt: skip
    holder.append(arming)
    executor = SwapExecutor(
        venue=PumpFunVenue(world.rpc), rpc=world.rpc, orders=world.repos.orders,
        trades=world.repos.trades, metrics=metrics, nonces=nonces, raw=raw,
        config=ExecutorConfig(worker_id=name, poll_interval_s=0.01, resend_interval_s=0.1,
                              land_deadline_s=15.0),
    )  # fmt: skip
    trading = TradingService(
        executor=executor, orders=world.repos.orders, signers=signers, metrics=metrics,
        max_priority_fee_lamports=1_000_000, nonces=nonces, raw=raw,
    )  # fmt: skip
    told: list[SnipeResult] = []

    async def notify(result: SnipeResult) -> None:
        told.append(result)

    after = FiredBookkeeping(
        targets=world.repos.snipes, recorder=TradingRecorder(trading), orders=world.repos.orders,
        launches=DecisionRows(world.repos.honeypot_checks), publisher=sync, retirement=arming,
        notify=notify, poll_s=0.02,
    )  # fmt: skip
    relay = RelayFanout(world.rpc.pool, [], breakers, metrics, clock=time.monotonic)
    sniper = HotSniper(sync.book, relay, risk=LaunchDecider(world.reputation), after=after)
    listener = PumpFunListener(on_create=sniper.on_create, on_curve=world.reputation.observe)
    replica = Replica(name, sync, arming, sniper, listener, trading, told)
    replica.tasks.append(asyncio.create_task(sync.run(), name=f"sync-{name}"))
    await eventually(lambda: channel.subscribed)
    return replica


def listen(world: World) -> None:
    """The pump program's logs at processed, decoded by every replica's own listener."""

    def sink(_method: str, _sub: int, result: Any) -> None:
        note = Notification("launch:pumpfun", "logsNotification", "local",
                            int(result["context"]["slot"]), result["value"])  # fmt: skip
        for replica in world.replicas:
            replica.listener.decode(note, time.monotonic())

    world.net.cluster.hub.subscribe_logs(PUMP_PROGRAM_ID, depth=0, sink=sink)


async def eventually(predicate: Callable[[], bool], tries: int = 1_000) -> None:
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


@pytest.fixture
async def world(pg_url: str) -> AsyncIterator[World]:
    server = RedisServer()
    server.start()
    managers: list[RedisManager] = []
    async with (
        running_localnet(seed=16, slot_ms=20) as net,
        aiohttp.ClientSession() as session,
    ):
        db = Database(pg_url, pool_size=5)
        await db.connect(attempts=1)
        await db.upgrade()
        rpc = build_rpc(net, session)
        world: World | None = None
        try:
            repos = Repositories.build(db)
            kp = Keypair()
            net.cluster.airdrop(kp.pubkey(), 5 * SOL)
            user = await repos.users.get_or_create(1515, "sniper")
            wallet = await repos.wallets.create(
                user.id, str(kp.pubkey()), SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80),
                "main",
            )  # fmt: skip
            world = World(net, db, repos, rpc, server, user.id, Key(wallet.id, kp),
                          CreatorReputation())  # fmt: skip
            for name in ("A", "B"):
                manager = RedisManager(server.url, metrics=Metrics())
                await manager.start()
                managers.append(manager)
                world.replicas.append(await build_replica(world, name, manager))
            listen(world)
            yield world
        finally:
            for replica in world.replicas if world is not None else []:
                await replica.sniper.close(5.0)
                await replica.arming.wait_idle(5.0)
                for task in replica.tasks:
                    task.cancel()
                await asyncio.gather(*replica.tasks, return_exceptions=True)
            for manager in managers:
                await manager.close()
            await rpc.pool.close()
            await db.dispose()
            server.kill()


async def arm_creator(world: World, replica: Replica, creator: Keypair) -> Any:
    return await replica.arming.arm(
        world.user_id, world.key.wallet_id, creator=str(creator.pubkey()), lamports=BUY,
        slippage_bps=500, fee_level=FeeLevel.LOW,
    )  # fmt: skip


def prepared_in(replica: Replica, target_id: int) -> bool:
    entry = replica.book.get(target_id)
    return entry is not None and entry.prepared is not None


async def test_a_launch_matching_nothing_makes_no_database_rpc_or_redis_call(
    world: World,
) -> None:
    a, b = world.replicas
    dev, stranger = Keypair(), Keypair()
    for who in (dev, stranger):
        world.net.cluster.airdrop(who.pubkey(), 2 * SOL)
    target = await arm_creator(world, a, dev)
    await eventually(lambda: prepared_in(a, target.id) and prepared_in(b, target.id))
    await a.arming.wait_idle(5.0)
    await b.arming.wait_idle(5.0)

    statements: list[str] = []
    event.listen(world.db.engine.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))  # fmt: skip
    rpc_before = world.rpc_requests()
    redis_before = await redis_commands(world.redis.url)

    coin = world.net.launchpad.launch(stranger, name="Nobody's", symbol="NONE")
    await eventually(lambda: world.reputation.get(str(stranger.pubkey())) is not None)
    for replica in (a, b):
        await replica.sniper.wait_idle(5.0)

    assert statements == []
    assert world.rpc_requests() == rpc_before
    assert await redis_commands(world.redis.url) == redis_before
    assert (a.sniper.fired_count, b.sniper.fired_count) == (0, 0)
    assert world.held(coin.mint) == 0
    assert prepared_in(a, target.id)

    # the counters count: the creator's launch fires, sends, stores and publishes
    world.net.launchpad.launch(dev, name="Mine", symbol="MINE")
    await eventually(lambda: a.sniper.fired_count + b.sniper.fired_count == 2)
    for replica in (a, b):
        await replica.sniper.wait_idle(20.0)
    assert world.rpc_requests().get("sendTransaction", 0) > rpc_before.get("sendTransaction", 0)
    assert any('"SnipeTarget"' in s for s in statements)
    after = await redis_commands(world.redis.url)
    assert after.get("cmdstat_publish", 0) > redis_before.get("cmdstat_publish", 0)


async def test_an_arm_on_one_replica_fires_from_both_and_lands_once(world: World) -> None:
    a, b = world.replicas
    dev = Keypair()
    world.net.cluster.airdrop(dev.pubkey(), 2 * SOL)
    target = await arm_creator(world, a, dev)
    await eventually(lambda: prepared_in(b, target.id))  # B prepared it itself
    held_a, held_b = a.book.get(target.id), b.book.get(target.id)
    assert held_a is not None
    assert held_b is not None
    assert held_a.prepared is not None
    assert held_b.prepared is not None
    assert held_b.prepared.prepared.nonce_value == held_a.prepared.prepared.nonce_value

    coin = world.net.launchpad.launch(dev, name="Both", symbol="BOTH")
    await eventually(lambda: a.sniper.fired_count == 1 and b.sniper.fired_count == 1)
    for replica in (a, b):
        await replica.sniper.wait_idle(30.0)

    orders = await world.repos.orders.list_for_user(world.user_id)
    (order,) = [o for o in orders if o.idempotency_key == f"snipe:{target.id}"]
    assert order.status is OrderStatus.CONFIRMED
    assert order.signature is not None
    assert world.held(coin.mint) == order.out_amount > 0  # one buy's tokens
    outcome = world.net.cluster.history.get(Signature.from_string(order.signature))
    assert outcome is not None
    assert outcome.ok
    stored = await world.repos.snipes.get_by_id(target.id)
    assert stored is not None
    assert stored.status.value == "FIRED"
    told = a.told + b.told
    assert len(told) == 1, told
    assert told[0].order is not None
    assert told[0].order.status is OrderStatus.CONFIRMED
    assert (a.book.get(target.id), b.book.get(target.id)) == (None, None)


async def test_the_slow_path_firing_a_hot_target_on_a_pool_launch_takes_it_out_of_every_book(
    world: World,
) -> None:
    """A mint snipe the hot path holds (armed while the coin did not route) and a launch the
    hot path never sees (a PumpSwap pool event for that mint): ``SnipeEngine`` buys it, and the
    target leaves both replicas' hot books before the claim (neither can fire it again)."""
    a, b = world.replicas
    dev = Keypair()
    world.net.cluster.airdrop(dev.pubkey(), 2 * SOL)
    coin = world.net.launchpad.launch(dev, name="Pool", symbol="POOL")
    target = await a.arming.arm(
        world.user_id, world.key.wallet_id, mint=str(coin.mint), lamports=BUY,
        slippage_bps=500, fee_level=FeeLevel.LOW,
    )  # fmt: skip
    await eventually(lambda: prepared_in(a, target.id) and prepared_in(b, target.id))
    venue = PumpFunVenue(world.rpc)
    engine = SnipeEngine(
        feeds=[], targets=world.repos.snipes, trading=a.trading,
        risk=RiskService(SnapshotFetcher(world.rpc, venue)), metrics=Metrics(),
        probe=QuoteRouteProbe(venue), hot=a.arming,
    )  # fmt: skip
    launch = LaunchEvent("pumpswap", str(coin.mint), str(Keypair().pubkey()), str(dev.pubkey()),
                         None, None, time.monotonic(), "")  # fmt: skip
    (result,) = await engine.on_launch(launch)
    assert result.order is not None
    assert result.order.status is OrderStatus.CONFIRMED
    assert world.held(coin.mint) == result.order.out_amount > 0
    await eventually(lambda: b.book.get(target.id) is None)
    assert a.book.get(target.id) is None
    stored = await world.repos.snipes.get_by_id(target.id)
    assert stored is not None
    assert stored.status.value == "FIRED"
    assert await engine.on_launch(launch) == []  # nothing left to fire, on either path
    assert (a.sniper.fired_count, b.sniper.fired_count) == (0, 0)
