"""Conversation state: one contract over every storage the bot can run on, and Redis dying."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import event

from sniper_bot.observability.metrics import Metrics
from sniper_bot.storage.database import Database
from sniper_bot.storage.repositories import Repositories
from sniper_bot.storage.repositories.sessions import SessionRepository
from sniper_bot.telegram.bot import build_dispatcher
from sniper_bot.telegram.storage import FallbackStorage, RedisDocStore
from support.services import RedisServer

KEY = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
OTHER = StorageKey(bot_id=42, chat_id=2002, user_id=2002)


async def _sessions(url: str) -> tuple[SessionRepository, Database]:
    db = Database(url)
    await db.connect(attempts=1)
    await db.upgrade()
    return Repositories.build(db).sessions, db


async def _durable(url: str) -> tuple[FallbackStorage, Database]:
    """The database alone (Redis not configured)."""
    sessions, db = await _sessions(url)
    return FallbackStorage(None, sessions, lambda: False), db


@pytest.fixture(params=["memory", "durable-sqlite", "durable-postgres", "redis", "fallback"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str, redis_url: str
) -> AsyncIterator[BaseStorage]:
    db: Database | None = None
    client: aioredis.Redis | None = None
    kind = request.param
    if kind == "memory":
        store: BaseStorage = MemoryStorage()
    elif kind == "durable-sqlite":
        store, db = await _durable(f"sqlite+aiosqlite:///{tmp_path}/fsm.sqlite")
    elif kind == "durable-postgres":
        store, db = await _durable(pg_url)
    else:
        client = aioredis.Redis.from_url(redis_url)
        if kind == "redis":
            store = RedisStorage(client)
        else:
            sessions, db = await _sessions(f"sqlite+aiosqlite:///{tmp_path}/fsm.sqlite")
            store = FallbackStorage(RedisDocStore(client), sessions, lambda: True)
            assert await store.resync()  # Redis trusted: reads are served by the copy
    yield store
    if client is not None:
        await client.aclose()
    if db is not None:
        await db.dispose()


async def test_state_and_data_round_trip_per_user(storage: BaseStorage) -> None:
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    await storage.set_state(KEY, "WalletFlow:withdraw_pin")
    await storage.set_data(KEY, {"destination": "9xQe", "amount": "0.5"})
    assert await storage.get_state(KEY) == "WalletFlow:withdraw_pin"
    assert await storage.get_data(KEY) == {"destination": "9xQe", "amount": "0.5"}
    assert await storage.get_state(OTHER) is None  # scoped per chat/user
    await storage.set_state(KEY, None)
    await storage.set_data(KEY, {})
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}


async def test_durable_state_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fsm.sqlite"
    first, db = await _durable(url)
    await first.set_state(KEY, "BuyX:amount")
    await first.set_data(KEY, {"mint": "So11111111111111111111111111111111111111112"})
    await db.dispose()
    second, db = await _durable(url)
    try:
        assert await second.get_state(KEY) == "BuyX:amount"
        assert (await second.get_data(KEY))["mint"].startswith("So111")
    finally:
        await db.dispose()


async def test_fallback_serves_from_the_database_when_redis_dies(tmp_path: Path) -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)  # nothing listens
    sessions, db = await _sessions(f"sqlite+aiosqlite:///{tmp_path}/fsm.sqlite")
    failures: list[Exception] = []
    store = FallbackStorage(
        RedisDocStore(dead), sessions, lambda: not failures, failures.append, resync_interval_s=None
    )
    try:
        await store.set_state(KEY, "WalletFlow:import_secret")
        assert len(failures) == 1  # reported once, then Redis is skipped
        assert await store.get_state(KEY) == "WalletFlow:import_secret"
        durable = FallbackStorage(None, sessions, lambda: False)
        assert await durable.get_state(KEY) == "WalletFlow:import_secret"
        assert len(failures) == 1
    finally:
        await dead.aclose()
        await db.dispose()


# --- Redis partitions: conversation state never goes back in time --------------------------------
# The storage is built exactly as the bot builds it (build_dispatcher), over a private redis-server
# this test pauses (SIGSTOP: a partition, commands time out) or kills and restarts empty, and a
# real database (SQLite and PostgreSQL).

MINT = "So11111111111111111111111111111111111111112"


class _RedisHealth:
    """What RedisManager does for the storage: down on the first failure, up once a ping answers."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.available = True
        self.failures = 0

    def mark_failed(self, exc: Exception) -> None:
        self.available = False
        self.failures += 1

    async def reconnect(self) -> None:
        for _ in range(200):
            try:
                await self.client.ping()
            except (OSError, aioredis.RedisError, TimeoutError):
                await asyncio.sleep(0.05)
                continue
            self.available = True
            return
        raise AssertionError("redis-server never answered again")


async def _redis_mentions(client: aioredis.Redis, text: str) -> bool:
    async for key in client.scan_iter("*"):
        if await client.type(key) == b"string" and text.encode() in (await client.get(key) or b""):
            return True
    return False


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll until ``check`` holds; the deadline only bounds a failing test."""
    for _ in range(400):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def _trusted(store: BaseStorage) -> None:
    """Wait until the storage reads Redis again (the bot's reads schedule this in the background;
    ``resync`` is that same step, run now)."""
    assert isinstance(store, FallbackStorage)
    await _eventually(store.resync, "Redis trusted")


@pytest.fixture(params=["sqlite", "postgres"])
async def bot_storage(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str
) -> AsyncIterator[tuple[BaseStorage, _RedisHealth, RedisServer]]:
    server = RedisServer()
    server.start()
    client = aioredis.Redis.from_url(server.url, socket_timeout=0.3, socket_connect_timeout=0.3)
    url = f"sqlite+aiosqlite:///{tmp_path}/fsm.sqlite" if request.param == "sqlite" else pg_url
    db = Database(url)
    await db.connect(attempts=1)
    await db.upgrade()
    health = _RedisHealth(client)
    dispatcher = build_dispatcher(
        cast(Any, None),
        Metrics(),
        redis_client=client,
        redis_available=lambda: health.available,
        on_redis_failure=health.mark_failed,
        sessions=Repositories.build(db).sessions,
    )
    try:
        yield dispatcher.storage, health, server
    finally:
        if server.proc is not None:
            os.kill(server.proc.pid, signal.SIGCONT)
        await dispatcher.storage.close()
        await client.aclose()
        server.kill()
        await db.dispose()


async def test_a_cleared_state_stays_cleared_after_a_redis_partition_heals(
    bot_storage: tuple[BaseStorage, _RedisHealth, RedisServer],
) -> None:
    store, health, server = bot_storage
    assert server.proc is not None
    # "Buy X SOL" pressed: the bot waits for an amount (written to Redis and the database).
    await store.set_state(KEY, "TradeFlow:buy_amount")
    await store.set_data(KEY, {"mint": MINT})
    await _trusted(store)
    assert await _redis_mentions(health.client, "TradeFlow:buy_amount")
    assert await store.get_state(KEY) == "TradeFlow:buy_amount"

    os.kill(server.proc.pid, signal.SIGSTOP)  # Redis partitioned: commands time out
    # "0.05": the read falls back to the database copy; the buy is made; the state is cleared.
    assert await store.get_state(KEY) == "TradeFlow:buy_amount"
    assert (await store.get_data(KEY))["mint"] == MINT
    await store.set_state(KEY, None)
    await store.set_data(KEY, {})
    assert health.failures >= 1  # the partition was really hit
    assert await store.get_state(KEY) is None

    os.kill(server.proc.pid, signal.SIGCONT)  # the partition heals
    await health.reconnect()
    # "0.2": the stale copy in Redis must not bring the buy prompt back.
    assert await store.get_state(KEY) is None
    assert await store.get_data(KEY) == {}

    # Once the storage trusts Redis again, Redis holds the clear too, and reads still say so.
    async def repaired() -> bool:
        assert await store.get_state(KEY) is None  # every message reads; reads drive the resync
        return not await _redis_mentions(health.client, "TradeFlow:buy_amount")

    await _eventually(repaired, "Redis repaired")
    await _trusted(store)
    assert await store.get_state(KEY) is None
    assert await store.get_data(KEY) == {}
    await store.set_state(KEY, "WalletFlow:withdraw_pin")  # and the conversation goes on
    assert await store.get_state(KEY) == "WalletFlow:withdraw_pin"


async def test_a_redis_restarted_empty_does_not_lose_the_conversation(
    bot_storage: tuple[BaseStorage, _RedisHealth, RedisServer],
) -> None:
    store, health, server = bot_storage
    await store.set_state(KEY, "TradeFlow:buy_amount")
    await store.set_data(KEY, {"mint": MINT})
    await _trusted(store)
    assert await _redis_mentions(health.client, "TradeFlow:buy_amount")
    port = server.port
    server.kill()
    server.port = port
    server.start()  # same address, no data: a restart without persistence
    await health.reconnect()
    assert await store.get_state(KEY) == "TradeFlow:buy_amount"
    assert (await store.get_data(KEY))["mint"] == MINT
    await store.set_state(KEY, None)
    await store.set_data(KEY, {})
    assert await store.get_state(KEY) is None


async def test_a_healthy_read_costs_no_database_statement_beyond_the_lease_renewal(
    tmp_path: Path, redis_url: str
) -> None:
    sessions, db = await _sessions(f"sqlite+aiosqlite:///{tmp_path}/fsm.sqlite")
    client = aioredis.Redis.from_url(redis_url)
    now = [100.0]
    store = FallbackStorage(
        RedisDocStore(client), sessions, lambda: True, clock=lambda: now[0], resync_interval_s=None
    )
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if not sql.startswith("BEGIN"):
            statements.append(sql)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert await store.resync()
        await store.set_state(KEY, "TradeFlow:buy_amount")
        statements.clear()
        for _ in range(20):
            assert await store.get_state(KEY) == "TradeFlow:buy_amount"
            assert await store.get_data(KEY) == {}
        assert statements == []  # 40 reads, all from Redis
        now[0] += 1.5  # past half the 2 s lease: the next read renews it with one mode read
        for _ in range(20):
            assert await store.get_state(KEY) == "TradeFlow:buy_amount"
        assert len(statements) == 1
        await store.set_state(KEY, None)  # and a write costs the database a read and a CAS
        assert len(statements) == 3
    finally:
        await client.aclose()
        await db.dispose()
