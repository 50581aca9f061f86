"""Partitioned order execution over real parts: localnet (pump.fun launches, RPC), PostgreSQL
(the app's repositories), a private Redis server (armed book sync, membership, groups).

Two replicas, each with its own armed book (synced through Redis) and ``PartitionExecutor``;
the feed leader is played by the test: it publishes each pump.fun logs notification through
the fenced script, as ``ClusteredFeed`` does.

* The owner of the user's partition fires the snipe from its group (the other replica, which
  holds the same order in its book, does not), the buy lands once and the order ends final once.
* The owner reads the launch and dies before firing (its entry pending, its heartbeat gone):
  the other replica, now owning the partition, reclaims the entry and fires it; the buy lands
  once, one order, CONFIRMED; reclaiming again finds nothing.
* The owner fires and finishes but dies before acknowledging: the reclaimer finds the order
  already gone from its book and fires nothing (still one order).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair

from hotpath.conftest import SOL, build_rpc
from hotpath.test_replicas_localnet import (
    Key,
    Replica,
    World,
    arm_creator,
    build_replica,
    eventually,
    prepared_in,
)
from localnet.pump.state import PUMP_PROGRAM_ID
from localnet.testing import running_localnet
from sniper_bot.cache import RedisManager
from sniper_bot.chain.ws import Notification
from sniper_bot.cluster import ClusterStore, Membership, PartitionExecutor, partition_of
from sniper_bot.cluster.feed import encode_note, event_id, is_pump_create
from sniper_bot.detection.pumpfun import PumpFunListener
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.hotpath.risk import LaunchDecider
from sniper_bot.hotpath.sniper import HotSniper
from sniper_bot.observability.metrics import Metrics
from sniper_bot.safety.creators import CreatorReputation
from sniper_bot.storage import Database, Repositories
from support.services import RedisServer

PARTITIONS = 4
TTL_MS = 600


@dataclass
class Node:
    replica: Replica
    store: ClusterStore
    members: Membership
    executor: PartitionExecutor


@dataclass
class Cluster:
    world: World
    nodes: list[Node]
    leader: ClusterStore
    token: int
    published: list[str]

    def owner_of(self, user_id: int) -> Node:
        name = self.nodes[0].members.owner(partition_of(user_id, PARTITIONS))
        return next(n for n in self.nodes if n.members.instance == name)

    def other(self, node: Node) -> Node:
        return next(n for n in self.nodes if n is not node)


def executor_for(world: World, replica: Replica, store: ClusterStore) -> PartitionExecutor:
    relay, after = replica.sniper._relay, replica.sniper._after  # the replica's own parts

    def sniper(book: Any) -> HotSniper:
        return HotSniper(book, relay, risk=LaunchDecider(world.reputation), after=after)

    def decoder(hot: Any) -> Callable[[Notification], Any]:
        listener = PumpFunListener(on_create=hot.on_create)
        return lambda note: listener.decode(note, time.monotonic())

    members = Membership(store, replica.name, partitions=PARTITIONS, ttl_ms=TTL_MS)
    return PartitionExecutor(store, "ws", members, replica.book, snipers=sniper,
                             decoders=decoder, claim_idle_ms=300, idle_wait_s=30.0)  # fmt: skip


@pytest.fixture
async def cluster(pg_url: str) -> AsyncIterator[Cluster]:
    server = RedisServer()
    server.start()
    managers: list[RedisManager] = []
    async with (
        running_localnet(seed=19, slot_ms=20) as net,
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
            user = await repos.users.get_or_create(1919, "sniper")
            wallet = await repos.wallets.create(
                user.id, str(kp.pubkey()), SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80),
                "main",
            )  # fmt: skip
            world = World(net, db, repos, rpc, server, user.id, Key(wallet.id, kp),
                          CreatorReputation())  # fmt: skip
            nodes = []
            for name in ("A", "B"):
                manager = RedisManager(server.url, metrics=Metrics())
                await manager.start()
                managers.append(manager)
                replica = await build_replica(world, name, manager)
                world.replicas.append(replica)
                store = ClusterStore(manager.client)
                executor = executor_for(world, replica, store)
                nodes.append(Node(replica, store, executor.membership, executor))
            leader = nodes[0].store
            token = await leader.acquire("ws", "leader", 60_000)
            await leader.ensure_groups("ws", PARTITIONS)
            published: list[str] = []
            pending: set[asyncio.Task[Any]] = set()

            def sink(_method: str, _sub: int, result: Any) -> None:
                """The feed leader: every pump.fun logs notification, published fenced."""
                note = Notification("launch:pumpfun", "logsNotification", "local",
                                    int(result["context"]["slot"]), result["value"])  # fmt: skip
                if not is_pump_create(note):
                    return  # trades go to the events stream only: not the executor's work
                event = (event_id(note), True, encode_note(note))
                task = asyncio.ensure_future(leader.publish("ws", "leader", token, [event]))
                pending.add(task)
                task.add_done_callback(pending.discard)
                published.append(event[0])

            net.cluster.hub.subscribe_logs(PUMP_PROGRAM_ID, depth=0, sink=sink)
            for node in nodes:
                assert await node.members.beat()
            for node in nodes:  # both see both
                assert await node.members.beat()
            yield Cluster(world, nodes, leader, token, published)
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


async def arm(cluster: Cluster) -> tuple[Any, Keypair]:
    world = cluster.world
    dev = Keypair()
    world.net.cluster.airdrop(dev.pubkey(), 2 * SOL)
    a, b = world.replicas
    target = await arm_creator(world, a, dev)
    await eventually(lambda: prepared_in(a, target.id) and prepared_in(b, target.id))
    await a.arming.wait_idle(5.0)
    return target, dev


async def one_order(world: World, target_id: int) -> Any:
    orders = await world.repos.orders.list_for_user(world.user_id)
    mine = [o for o in orders if o.idempotency_key == f"snipe:{target_id}"]
    assert len(mine) == 1, mine
    return mine[0]


async def launched(cluster: Cluster, dev: Keypair, symbol: str) -> Any:
    before = len(cluster.published)
    coin = cluster.world.net.launchpad.launch(dev, name=symbol, symbol=symbol)
    await eventually(lambda: len(cluster.published) > before)
    await asyncio.sleep(0.05)  # the publish task
    return coin


async def test_the_partition_owner_fires_and_the_other_replica_does_not(cluster: Cluster) -> None:
    world = cluster.world
    target, dev = await arm(cluster)
    owner = cluster.owner_of(world.user_id)
    other = cluster.other(owner)
    coin = await launched(cluster, dev, "OWN")
    for _ in range(200):
        await other.executor.poll_once()
        if await owner.executor.poll_once():
            break
        await asyncio.sleep(0.01)
    await owner.executor.sniper.wait_idle(30.0)
    # each replica took the launch from its own partitions' groups; only the owner's matched
    assert (owner.executor.handled, other.executor.handled) == (1, 1)
    order = await one_order(world, target.id)
    assert order.status is OrderStatus.CONFIRMED
    assert world.held(coin.mint) == order.out_amount > 0
    assert (owner.executor.sniper.fired_count, other.executor.sniper.fired_count) == (1, 0)


async def test_a_dead_owners_pending_launch_is_reclaimed_and_fired_once(cluster: Cluster) -> None:
    world = cluster.world
    target, dev = await arm(cluster)
    owner = cluster.owner_of(world.user_id)
    heir = cluster.other(owner)
    p = partition_of(world.user_id, PARTITIONS)
    coin = await launched(cluster, dev, "DEAD")
    # the owner read the launch (now pending for it) and was killed before firing
    got = await owner.store.read_group("ws", p, owner.members.instance)
    assert len(got) == 1
    await owner.store.leave(owner.members.instance)  # its heartbeat is gone
    assert await heir.members.beat()
    assert heir.members.members == [heir.members.instance]
    assert p in heir.members.owned
    assert await heir.executor.reclaim_once() == 0  # not idle long enough yet
    await asyncio.sleep(0.35)
    assert await heir.members.beat()  # (a running replica beats every ttl/3)
    assert await heir.executor.reclaim_once() == 1
    order = await one_order(world, target.id)
    assert order.status is OrderStatus.CONFIRMED
    assert world.held(coin.mint) == order.out_amount > 0
    stored = await world.repos.snipes.get_by_id(target.id)
    assert stored is not None
    assert stored.status.value == "FIRED"
    assert await heir.store.pending_count("ws", p) == 0
    await asyncio.sleep(0.35)
    assert await heir.members.beat()
    assert await heir.executor.reclaim_once() == 0  # nothing left: finished exactly once
    assert world.held(coin.mint) == order.out_amount


async def test_an_owner_that_finished_but_never_acknowledged_is_not_fired_again(
    cluster: Cluster,
) -> None:
    world = cluster.world
    target, dev = await arm(cluster)
    owner = cluster.owner_of(world.user_id)
    heir = cluster.other(owner)
    p = partition_of(world.user_id, PARTITIONS)
    coin = await launched(cluster, dev, "ACK")
    for _ in range(200):
        if await owner.executor.poll_once():
            break
        await asyncio.sleep(0.01)
    await owner.executor.sniper.wait_idle(30.0)  # fired, recorded, final; never acknowledged
    order = await one_order(world, target.id)
    assert order.status is OrderStatus.CONFIRMED
    await eventually(lambda: heir.replica.book.get(target.id) is None)  # FIRED reached it
    owned = len(owner.members.owned)  # the launch is pending in each of the owner's groups
    await owner.store.leave(owner.members.instance)
    assert await heir.members.beat()
    await asyncio.sleep(0.35)
    assert await heir.members.beat()
    assert await heir.executor.reclaim_once() == owned  # the entries are taken over ...
    assert heir.executor.sniper.fired_count == 0
    assert (await one_order(world, target.id)).id == order.id  # ... and nothing fired again
    assert world.held(coin.mint) == order.out_amount
    assert [await heir.store.pending_count("ws", q) for q in range(PARTITIONS)] == [0] * 4
    assert p in heir.members.owned
