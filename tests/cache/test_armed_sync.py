"""Two replicas' armed books (two ``ArmedBookSync`` on one database) converge through real Redis
on arm / cancel / fire, and again after Redis is SIGKILLed mid-way and comes back (rebuild at
resubscription), or stays gone (the degraded timer)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sniper_bot.cache import RedisManager, keys
from sniper_bot.cache.armed import ArmedChannel, ArmedEvent, decode_event, encode_event
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchFilter, SnipeStatus, SnipeTarget
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.hotpath.book import ArmedBook, ArmedBookSync, ArmedEntry
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff
from sniper_bot.storage import Database, Repositories

from .redis_server import RedisServer

FAST_RECONNECT = Backoff(base_s=0.01, factor=2.0, max_s=0.05, jitter=0.0)
NOW = datetime.now(UTC)


def addr(tag: str) -> str:
    return (tag + "1" * 44)[:44]


MINT = addr("Mint")
DEV = addr("Dev")


async def eventually(predicate: Callable[[], bool], what: str, limit_s: float = 10.0) -> None:
    """Wait for a background effect; the bound is a hang guard, not an assertion on time."""
    for _ in range(int(limit_s / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


@dataclass
class Replica:
    name: str
    db: Database
    repos: Repositories
    manager: RedisManager
    channel: ArmedChannel
    sync: ArmedBookSync[str]
    task: asyncio.Task[None] | None = None
    prepared_for: list[int] = field(default_factory=list)

    @property
    def book(self) -> ArmedBook[str]:
        return self.sync.book

    def ids(self) -> set[int]:
        return {e.target.id for e in self.book.entries()}


async def start_replica(
    name: str, db_url: str, redis_url: str, channel: str, *, degraded_every_s: float = 3600.0
) -> Replica:
    db = Database(db_url)
    await db.connect(attempts=1)
    repos = Repositories.build(db)
    manager = RedisManager(redis_url, metrics=Metrics(), reconnect_backoff=FAST_RECONNECT)
    await manager.start()
    armed = ArmedChannel(manager, channel=channel, poll_s=0.05)
    replica = Replica(name, db, repos, manager, armed, None)  # type: ignore[arg-type]

    def on_added(entry: ArmedEntry[str]) -> None:  # the arming code would prepare it here
        replica.prepared_for.append(entry.target.id)
        replica.book.set_prepared(entry.target.id, f"{name}:{entry.target.id}")

    replica.sync = ArmedBookSync(
        ArmedBook(),
        armed,
        repos.snipes,
        origin=name,
        rebuild_every_s=3600.0,  # convergence here comes from messages and resubscriptions
        rebuild_every_degraded_s=degraded_every_s,
        on_added=on_added,
    )
    replica.task = asyncio.create_task(replica.sync.run())
    return replica


async def stop_replica(replica: Replica) -> None:
    if replica.task is not None:
        replica.task.cancel()
        await asyncio.gather(replica.task, return_exceptions=True)
    await replica.manager.close()
    await replica.db.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'replicas.sqlite'}"


@pytest.fixture
def channel() -> str:
    """Pub/sub ignores db numbers: a channel of its own per test (other processes share Redis)."""
    return f"{keys.ARMED_CHANNEL}:test:{uuid.uuid4().hex}"


async def migrate(db_url: str) -> tuple[int, int]:
    db = Database(db_url)
    await db.connect(attempts=1)
    await db.upgrade()
    repos = Repositories.build(db)
    user = await repos.users.get_or_create(42, "u42")
    wallet = await repos.wallets.create(
        user.id, "Pk42", SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "w"
    )
    await db.dispose()
    return user.id, wallet.id


async def arm(replica: Replica, owner: tuple[int, int], **selector: object) -> SnipeTarget:
    target = await replica.repos.snipes.arm(  # type: ignore[arg-type]
        user_id=owner[0], wallet_id=owner[1], amount_lamports=7, slippage_bps=100,
        priority_fee=FeeLevel.LOW, expires_at=NOW + timedelta(minutes=10), **selector,
    )  # fmt: skip
    await replica.sync.armed(target, f"{replica.name}:own")
    return target


@pytest.fixture
async def pair(
    db_url: str, redis_url: str, channel: str
) -> AsyncIterator[tuple[Replica, Replica, tuple[int, int]]]:
    owner = await migrate(db_url)
    a = await start_replica("a", db_url, redis_url, channel)
    b = await start_replica("b", db_url, redis_url, channel)
    await eventually(lambda: a.channel.subscribed and b.channel.subscribed, "both subscribed")
    yield a, b, owner
    await stop_replica(a)
    await stop_replica(b)


async def test_two_replicas_converge_on_arm_cancel_and_fire(
    pair: tuple[Replica, Replica, tuple[int, int]],
) -> None:
    a, b, owner = pair
    await eventually(lambda: a.sync.rebuilds == 1 and b.sync.rebuilds == 1, "first rebuilds")
    by_mint = await arm(a, owner, token_mint=MINT)
    by_dev = await arm(b, owner, creator=DEV)
    by_filter = await arm(a, owner, launch_filter=LaunchFilter(symbol_contains=("cat",)))
    everything = {by_mint.id, by_dev.id, by_filter.id}
    await eventually(lambda: a.ids() == b.ids() == everything, "both books hold all three")
    # Each replica prepares what the other armed; its own entries keep their prepared state.
    assert sorted(b.prepared_for) == [by_mint.id, by_filter.id]
    assert a.prepared_for == [by_dev.id]
    assert a.book.get(by_mint.id).prepared == "a:own"  # type: ignore[union-attr]
    assert b.book.get(by_mint.id).prepared == f"b:{by_mint.id}"  # type: ignore[union-attr]
    hits = b.book.match(MINT, DEV, None, "CATZ", "pumpfun")
    assert [e.target.id for e in hits] == sorted(everything)

    await b.repos.snipes.cancel(owner[0], by_mint.id)
    await b.sync.cancelled(by_mint.id)
    await b.repos.snipes.mark_fired(by_dev.id, mint=addr("Fired"))
    await b.sync.fired(by_dev.id)
    await eventually(lambda: a.ids() == b.ids() == {by_filter.id}, "cancel and fire applied")
    assert a.book.match(MINT, DEV, None, None, "pumpfun") == []
    assert (a.sync.rebuilds, b.sync.rebuilds) == (1, 1)  # messages alone, no rebuild


async def test_redis_killed_mid_way_and_back_converges_after_the_rebuild(
    db_url: str, channel: str
) -> None:
    server = RedisServer()
    server.start()
    owner = await migrate(db_url)
    a = await start_replica("a", db_url, server.url, channel)
    b = await start_replica("b", db_url, server.url, channel)
    try:
        await eventually(lambda: a.channel.subscribed and b.channel.subscribed, "subscribed")
        before = await arm(a, owner, token_mint=MINT)
        await eventually(lambda: b.ids() == {before.id}, "b learns the first arm")

        server.kill()
        await eventually(
            lambda: not (a.manager.available or b.manager.available), "both see Redis down"
        )
        during = await arm(a, owner, creator=DEV)  # published into the void
        await b.repos.snipes.cancel(owner[0], before.id)
        await b.sync.cancelled(before.id)
        assert a.ids() == {before.id, during.id}
        assert b.ids() == set()
        # The local book keeps serving launches while Redis is gone.
        assert [e.target.id for e in a.book.match(addr("New"), DEV, None, None, "pumpfun")] == [
            during.id
        ]

        rebuilds = (a.sync.rebuilds, b.sync.rebuilds)
        server.start()  # same port: the managers reconnect, the channels resubscribe
        await eventually(
            lambda: a.sync.rebuilds > rebuilds[0] and b.sync.rebuilds > rebuilds[1],
            "a rebuild on each replica after the resubscription",
        )
        await eventually(lambda: a.ids() == b.ids() == {during.id}, "books converge")
        assert b.book.get(during.id).prepared == f"b:{during.id}"  # type: ignore[union-attr]

        after = await arm(b, owner, launch_filter=LaunchFilter(name_contains=("x",)))
        await eventually(lambda: a.ids() == {during.id, after.id}, "messages flow again")
    finally:
        await stop_replica(a)
        await stop_replica(b)
        server.kill()


async def test_without_redis_the_degraded_timer_rebuilds_the_book(
    db_url: str, channel: str
) -> None:
    server = RedisServer()
    server.start()
    owner = await migrate(db_url)
    a = await start_replica("a", db_url, server.url, channel)
    b = await start_replica("b", db_url, server.url, channel, degraded_every_s=0.05)
    try:
        await eventually(lambda: b.channel.subscribed, "b subscribed")
        server.kill()
        await eventually(lambda: not b.manager.available, "b sees Redis down")
        target = await arm(a, owner, token_mint=MINT)
        await eventually(lambda: b.ids() == {target.id}, "b's timer rebuilds from the database")
    finally:
        await stop_replica(a)
        await stop_replica(b)
        server.kill()


async def test_redis_disabled_channel_is_inert() -> None:
    manager = RedisManager(None, metrics=Metrics())
    await manager.start()
    armed = ArmedChannel(manager)
    assert not await armed.publish(ArmedEvent("cancel", 1, "a"))

    async def gap() -> None:
        raise AssertionError("no subscription, no gap")

    await asyncio.wait_for(armed.run(lambda _e: None, gap), 1.0)  # returns at once


def test_events_round_trip_and_bad_messages_are_refused_clearly() -> None:
    target = SnipeTarget(
        id=3, user_id=1, wallet_id=2, token_mint="", amount_lamports=9, slippage_bps=50,
        priority_fee=FeeLevel.HIGH, status=SnipeStatus.ARMED,
        created_at=NOW, expires_at=NOW + timedelta(seconds=5),
        launch_filter=LaunchFilter(name_contains=("a",), sources=("pumpfun",)),
        nonce_account=addr("Nonce"), nonce_value=addr("Hash"),
    )  # fmt: skip
    event = ArmedEvent("arm", 3, "a", target)
    assert decode_event(encode_event(event)) == event
    assert decode_event(encode_event(ArmedEvent("fire", 3, "b"))) == ArmedEvent("fire", 3, "b")
    with pytest.raises(ValueError, match="version"):
        decode_event(b'{"v":2,"kind":"arm","id":1,"origin":"a"}')
    with pytest.raises(ValueError, match="kind must be one of"):
        decode_event(b'{"v":1,"kind":"drop","id":1,"origin":"a"}')
    with pytest.raises(ValueError, match="carries its target"):
        decode_event(b'{"v":1,"kind":"arm","id":1,"origin":"a"}')
    with pytest.raises(ValueError, match="id must be an integer"):
        decode_event(b'{"v":1,"kind":"fire","id":"1","origin":"a"}')
    with pytest.raises(ValueError, match="not JSON"):
        decode_event(b"{nope")
    with pytest.raises(ValueError, match="at most"):
        decode_event(b" " * 20_000)
