"""Conversation state never goes back in time, over every interleaving of Redis faults and messages.

Two bot replicas share one database (real SQLite) and one Redis. Redis is faked at the process
boundary, at the level of the redis-py client the bot hands to the storage, because hundreds of
interleavings against a real redis-server would take minutes (the real-server reproductions live
in ``test_fsm_storage.py``). The fake can be down (connection refused), paused (SIGSTOP: commands
time out, and the writes already sent are applied when it resumes, as a real server does),
restarted empty, or cut off from one replica only. After every step, every replica that reads
must see exactly the last write made (the model), whatever it reads from.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniper_bot.storage.database import Database
from sniper_bot.storage.models import Base
from sniper_bot.storage.repositories import Repositories

KEYS = [StorageKey(bot_id=7, chat_id=100 + i, user_id=100 + i) for i in range(2)]
REPLICAS = 2
STATES = ["TradeFlow:buy_amount", "WalletFlow:withdraw_pin", "SnipeFlow:amount"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class FakeRedisServer:
    """The server: its data, and whether it is up, down or paused."""

    data: dict[str, bytes] = field(default_factory=dict)
    status: str = "up"  # up | down | paused
    queued: list[Callable[[], None]] = field(default_factory=list)

    def resume(self) -> None:
        if self.status == "paused":
            for apply in self.queued:
                apply()
        self.queued.clear()
        self.status = "up"

    def restart_empty(self) -> None:
        self.queued.clear()  # a killed server never runs what it had not read yet
        self.data.clear()
        self.status = "up"


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class FakeRedisClient:
    """The slice of ``redis.asyncio.Redis`` the FSM storage uses, as seen from one replica."""

    def __init__(self, server: FakeRedisServer) -> None:
        self.server = server
        self.reachable = True

    def _gate(self, write: Callable[[], Any] | None = None) -> Any:
        if not self.reachable or self.server.status == "down":
            raise ConnectionError("Connection refused")
        if self.server.status == "paused":
            if write is not None:
                self.server.queued.append(write)  # sent; runs when the server resumes
            raise TimeoutError("Timeout reading from socket")
        return write() if write is not None else None

    async def ping(self) -> bool:
        self._gate()
        return True

    async def get(self, name: Any) -> bytes | None:
        self._gate()
        return self.server.data.get(_b(name).decode())

    async def mget(self, *names: Any) -> list[bytes | None]:
        self._gate()
        return [self.server.data.get(_b(n).decode()) for n in names]

    async def set(self, name: Any, value: Any, **_ttl: Any) -> bool:
        key, raw = _b(name).decode(), _b(value)

        def apply() -> bool:
            self.server.data[key] = raw
            return True

        result: bool = self._gate(apply)
        return result

    async def delete(self, *names: Any) -> int:
        keys = [_b(n).decode() for n in names]

        def apply() -> int:
            return sum(self.server.data.pop(k, None) is not None for k in keys)

        result: int = self._gate(apply)
        return result

    async def eval(self, script: str, numkeys: int, *args: Any) -> Any:
        from sniper_bot.telegram.storage import REDIS_WRITE_SCRIPT

        assert script == REDIS_WRITE_SCRIPT, "the fake only knows the storage's write script"
        assert numkeys == 1
        key, version, payload = _b(args[0]).decode(), int(args[1]), _b(args[2])

        def apply() -> int:  # what the Lua script does: keep the newer version
            old = self.server.data.get(key)
            if old is not None and int(json.loads(old)["v"]) >= version:
                return 0
            self.server.data[key] = payload
            return 1

        return self._gate(apply)

    async def aclose(self, **_kw: Any) -> None:
        return None


class Health:
    """RedisManager's contract: down on the first reported failure, up again after a good ping."""

    def __init__(self, client: FakeRedisClient) -> None:
        self.client = client
        self.available = True

    def mark_failed(self, exc: Exception) -> None:
        self.available = False

    async def reconnect(self) -> None:
        try:
            await self.client.ping()
        except (ConnectionError, TimeoutError):
            return
        self.available = True


def build_storage(
    client: FakeRedisClient, health: Health, sessions: Any, clock: FakeClock
) -> BaseStorage:
    from sniper_bot.telegram.storage import FallbackStorage, RedisDocStore

    return FallbackStorage(
        RedisDocStore(client),
        sessions,
        lambda: health.available,
        health.mark_failed,
        clock=clock,
        sleep=clock.sleep,
        resync_interval_s=None,  # the interleaving decides when a replica resyncs
    )


async def resync(storage: BaseStorage) -> None:
    await storage.resync()  # type: ignore[attr-defined]


_state = st.one_of(st.none(), st.sampled_from(STATES))
_data = st.dictionaries(st.sampled_from(["mint", "amount"]), st.sampled_from("ab"), max_size=2)
_replica = st.integers(0, REPLICAS - 1)
_key = st.integers(0, len(KEYS) - 1)
STEP = st.one_of(
    st.tuples(st.just("set_state"), _replica, _key, _state),
    st.tuples(st.just("set_data"), _replica, _key, _data),
    st.tuples(st.just("clear"), _replica, _key),
    st.tuples(st.just("redis"), st.sampled_from(["down", "up", "pause", "resume", "restart"])),
    st.tuples(st.just("cut"), _replica, st.booleans()),
    st.tuples(st.just("reconnect"), _replica),
    st.tuples(st.just("resync"), _replica),
    st.tuples(st.just("tick"), st.sampled_from([0.3, 1.0, 2.5, 10.0])),
)


async def run(steps: list[tuple[Any, ...]], db_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.connect(attempts=1)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    server = FakeRedisServer()
    clock = FakeClock()
    clients = [FakeRedisClient(server) for _ in range(REPLICAS)]
    healths = [Health(c) for c in clients]
    sessions = Repositories.build(db).sessions
    stores = [build_storage(c, h, sessions, clock) for c, h in zip(clients, healths, strict=True)]
    model: dict[int, tuple[str | None, dict[str, Any]]] = {i: (None, {}) for i in range(len(KEYS))}
    try:
        for i in range(REPLICAS):
            await resync(stores[i])
        for n, step in enumerate(steps):
            kind = step[0]
            if kind == "set_state":
                _, r, k, state = step
                await stores[r].set_state(KEYS[k], state)
                model[k] = (state, model[k][1])
            elif kind == "set_data":
                _, r, k, data = step
                await stores[r].set_data(KEYS[k], data)
                model[k] = (model[k][0], dict(data))
            elif kind == "clear":  # FSMContext.clear()
                _, r, k = step
                await stores[r].set_state(KEYS[k], None)
                await stores[r].set_data(KEYS[k], {})
                model[k] = (None, {})
            elif kind == "redis":
                action = step[1]
                if action == "resume":
                    server.resume()
                elif action == "restart":
                    server.restart_empty()
                elif action == "pause" and server.status == "up":
                    server.status = "paused"
                elif action in ("down", "up"):
                    server.queued.clear()
                    server.status = action
            elif kind == "cut":
                clients[step[1]].reachable = not step[2]
            elif kind == "reconnect":
                await healths[step[1]].reconnect()
            elif kind == "resync":
                await resync(stores[step[1]])
            elif kind == "tick":
                clock.now += step[1]
            for r, store in enumerate(stores):
                for k, key in enumerate(KEYS):
                    seen = (await store.get_state(key), await store.get_data(key))
                    assert seen == model[k], (
                        f"after step {n} {step}: replica {r} reads {seen} for key {k}, "
                        f"the last write was {model[k]}"
                    )
    finally:
        for store in stores:
            await store.close()
        await db.dispose()


_TMP = Path(tempfile.mkdtemp(prefix="fsm-interleavings-"))


# ~0.35 s an example unloaded; 120 examples keep the test near 45 s, and its own timeout leaves
# room for a loaded CI box (200 examples passed the suite's 120 s limit there)
@pytest.mark.timeout(360)
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(STEP, min_size=1, max_size=30))
def test_readers_always_see_the_last_write_whatever_redis_does(
    steps: list[tuple[Any, ...]],
) -> None:
    path = _TMP / "fsm.sqlite"
    path.unlink(missing_ok=True)
    asyncio.run(run(steps, path))


def test_the_partition_from_the_issue_is_one_of_the_interleavings() -> None:
    """Issue 10 item 1, step by step: buy prompt, pause, amount (clear), resume, another amount."""
    steps: list[tuple[Any, ...]] = [
        ("set_state", 0, 0, "TradeFlow:buy_amount"),
        ("set_data", 0, 0, {"mint": "a"}),
        ("redis", "pause"),
        ("clear", 0, 0),
        ("redis", "resume"),
        ("reconnect", 0),
        ("reconnect", 1),
        ("resync", 1),
        ("tick", 2.5),
    ]
    asyncio.run(run(steps, _TMP / "fsm-issue.sqlite"))  # a fresh file per test


def test_a_replica_cut_off_from_redis_cannot_leave_the_others_a_stale_copy() -> None:
    """Replica 0 loses Redis (the others keep it) and clears; replica 1 must see the clear."""
    steps: list[tuple[Any, ...]] = [
        ("set_state", 0, 0, "TradeFlow:buy_amount"),
        ("cut", 0, True),
        ("clear", 0, 0),
        ("set_state", 1, 0, "WalletFlow:withdraw_pin"),
        ("cut", 0, False),
        ("reconnect", 0),
        ("resync", 0),
        ("clear", 1, 0),
    ]
    asyncio.run(run(steps, _TMP / "fsm-cut.sqlite"))
