"""Feed failover with real processes on a real Redis.

* The leader is SIGKILLed: the standby takes over (bounded by the lease) and every tick of the
  shared feed is in the stream exactly once across the handover, and the survivor's detector
  got each tick once, without a gap, before and after it became leader.
* The leader is cut off from Redis by a proxy that holds its bytes and lets them through after
  another replica took over: its late writes are refused by the fencing script (tokens never go
  back in the stream), and still nothing is lost or doubled.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sniper_bot.cache import RedisManager
from sniper_bot.cluster import ClusterStore
from sniper_bot.cluster.feed import decode_note
from sniper_bot.observability.metrics import Metrics
from support.services import RedisServer

from .proxy import HoldingProxy

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("feed_child.py")
LEASE_MS = 600


@dataclass
class Child:
    name: str
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def yielded(self) -> list[int]:
        return [int(line[2:]) for line in self.lines if line.startswith("Y ")]

    @property
    def tokens(self) -> list[int]:
        return [int(line[2:]) for line in self.lines if line.startswith("L ")]

    def leads(self) -> bool:
        marks = [line for line in self.lines if line.startswith(("L ", "F"))]
        return bool(marks) and marks[-1].startswith("L ")


async def spawn(url: str, name: str, prefix: str, *extra: str) -> Child:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT / 'tests'}", "LOG_LEVEL": "ERROR"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), url, name, str(LEASE_MS), prefix, *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
    )  # fmt: skip
    child = Child(name, proc)

    async def read() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            child.lines.append(raw.decode().strip())

    child.reader = asyncio.create_task(read())
    return child


async def until(predicate: object, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


async def stop(child: Child) -> None:
    if child.proc.returncode is None:
        child.proc.kill()
    await child.proc.wait()
    if child.reader is not None:
        await asyncio.wait_for(child.reader, 5)


@pytest.fixture
async def redis() -> AsyncIterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.kill()


async def stream(url: str, prefix: str, key: str = "tick") -> list[tuple[int, int]]:
    """(seq, fencing token) of every entry of subscription ``key``, in stream order."""
    manager = RedisManager(url, metrics=Metrics())
    await manager.start()
    try:
        store = ClusterStore(manager.client, prefix=prefix)
        entries = await store.read("ws", "0-0", count=1_000_000, block_ms=0)
        notes = [(decode_note(e.payload), e.token) for e in entries]
        return [(int(n.value["seq"]), token) for n, token in notes if n.key == key]
    finally:
        await manager.close()


def assert_once_without_gap(seqs: list[int]) -> None:
    assert len(seqs) == len(set(seqs)), "an event was published twice"
    missing = sorted(set(range(min(seqs), max(seqs) + 1)) - set(seqs))
    assert missing == [], f"{len(missing)} events lost: {missing[:10]}"


async def test_a_killed_leader_is_replaced_and_nothing_is_lost_or_doubled(
    redis: RedisServer,
) -> None:
    a = await spawn(redis.url, "A", "kill")
    b: Child | None = None
    try:
        await until(a.leads)
        b = await spawn(redis.url, "B", "kill")
        follower = b
        await until(lambda: len(follower.yielded) > 50)  # B decodes the stream A publishes
        assert not b.leads()
        a.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await a.proc.wait()
        await until(follower.leads)
        print(f"failover after SIGKILL: {(time.monotonic() - killed) * 1000:.0f} ms "
              f"(lease {LEASE_MS} ms)")  # fmt: skip
        before = len(b.yielded)
        await until(lambda: len(follower.yielded) > before + 50)  # B publishes now
    finally:
        await stop(a)
        if b is not None:
            await stop(b)
    entries = await stream(redis.url, "kill")
    seqs = [seq for seq, _ in entries]
    assert_once_without_gap(seqs)
    tokens = {token for _, token in entries}
    assert tokens == {a.tokens[0], b.tokens[0]}
    assert b.tokens[0] > a.tokens[0]
    # B's detector: every tick once, no gap, across its change from follower to leader
    assert_once_without_gap(b.yielded)
    assert set(b.yielded) <= set(seqs)


async def test_a_leader_cut_off_from_redis_cannot_write_after_it_was_replaced(
    redis: RedisServer,
) -> None:
    proxy = HoldingProxy(redis.port)
    await proxy.start()
    a = await spawn(proxy.url, "A", "cut", "own")
    b: Child | None = None
    try:
        await until(a.leads)
        b = await spawn(redis.url, "B", "cut")
        follower = b
        await until(lambda: len(follower.yielded) > 50)
        proxy.hold()  # A's publishes and renewals are held in the proxy
        await until(follower.leads)
        before = len(b.yielded)
        await until(lambda: len(follower.yielded) > before + 30)
        held = proxy.held_bytes
        proxy.release()  # what A sent while cut off arrives now, after B took over
        await asyncio.sleep(LEASE_MS / 1000 * 2)
        assert held > 0
        assert a.proc.returncode is None  # A kept running (on its own feed meanwhile)
    finally:
        await stop(a)
        if b is not None:
            await stop(b)
        await proxy.close()
    entries = await stream(redis.url, "cut")
    tokens = [token for _, token in entries]
    assert tokens == sorted(tokens)
    assert set(tokens) == {a.tokens[0], b.tokens[0]}
    # A's own events (nobody else sees them): those it sent while cut off arrived late, after B
    # took over, and were refused; the last one in the stream is older than B's first entry
    own = await stream(redis.url, "cut", key="own")
    assert own, "A published its own events while it led"
    assert {token for _, token in own} == {a.tokens[0]}
    first_b = min(seq for seq, token in entries if token == b.tokens[0])
    late = [seq for seq, _ in own if seq >= first_b]
    assert late == [], f"{len(late)} late writes of the deposed leader reached the stream"
    assert_once_without_gap([seq for seq, _ in entries])
    assert_once_without_gap(b.yielded)
