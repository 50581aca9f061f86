"""Leases and the fenced publish on a real Redis: tokens only grow, a deposed leader's write is
refused and writes nothing, an event id is published once whoever publishes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sniper_bot.cache import RedisManager
from sniper_bot.cluster import ClusterStore, Leadership
from sniper_bot.observability.metrics import Metrics


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[ClusterStore]:
    manager = RedisManager(redis_url, metrics=Metrics())
    await manager.start()
    yield ClusterStore(manager.client, prefix="t")
    await manager.close()


async def test_a_deposed_leaders_late_publish_is_refused_and_writes_nothing(
    store: ClusterStore,
) -> None:
    a = await store.acquire("ws", "A", 300)
    assert a > 0
    assert await store.acquire("ws", "B", 300) == 0  # held
    assert await store.publish("ws", "A", a, [("e1", False, b"one")]) not in (None, [""])
    await asyncio.sleep(0.4)  # A stops renewing: the lease runs out
    b = await store.acquire("ws", "B", 5_000)
    assert b > a  # the fencing token only grows
    # A wakes up (a GC pause, a partition) and writes with its old token: refused
    assert await store.publish("ws", "A", a, [("e2", False, b"late")]) is None
    assert not await store.renew("ws", "A", a, 5_000)
    # even with A's name: the token must be the current one
    assert await store.publish("ws", "B", a, [("e2", False, b"late")]) is None
    ids = await store.publish("ws", "B", b, [("e3", False, b"three"), ("e1", False, b"again")])
    assert ids is not None
    assert ids[0]
    assert ids[1] == ""  # e1 was published by A: not twice
    entries = await store.read("ws", "0-0")
    assert [(e.event_id, e.token, e.payload) for e in entries] == [
        ("e1", a, b"one"), ("e3", b, b"three"),
    ]  # fmt: skip


async def test_an_expired_lease_nobody_took_still_refuses_the_old_token(
    store: ClusterStore,
) -> None:
    a = await store.acquire("ws", "A", 150)
    await asyncio.sleep(0.25)
    assert await store.publish("ws", "A", a, [("x", False, b"x")]) is None
    again = await store.acquire("ws", "A", 150)
    assert again > a  # a new term, a new token


async def test_leadership_steps_renew_and_hand_over(store: ClusterStore) -> None:
    now = [0.0]
    changes: list[tuple[str, bool, int]] = []
    a = Leadership(store, "ws", "A", lease_ms=400, clock=lambda: now[0],
                   on_change=lambda up, t: changes.append(("A", up, t)))  # fmt: skip
    b = Leadership(store, "ws", "B", lease_ms=400, clock=lambda: now[0],
                   on_change=lambda up, t: changes.append(("B", up, t)))  # fmt: skip
    assert await a.step()
    assert not await b.step()
    assert await a.step()  # renewed
    now[0] += 10.0  # A's local view expires (it stopped renewing); so does Redis' lease
    await asyncio.sleep(0.45)
    assert not a.is_leader
    assert await b.step()
    assert b.token > a.token
    assert not await a.step()  # A campaigns again: B holds it
    # A learns it lost on its own next step; it never wrote as leader in between (fenced)
    assert [c[:2] for c in changes] == [("A", True), ("B", True), ("A", False)]
    await b.resign()
    assert await a.step()  # a stop hands the lease over at once
