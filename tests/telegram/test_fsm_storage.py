"""Conversation state: one contract over every storage the bot can run on, and Redis dying."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage

from sniper_bot.storage.database import Database
from sniper_bot.storage.repositories import Repositories
from sniper_bot.telegram.storage import DurableStorage, FallbackStorage

KEY = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
OTHER = StorageKey(bot_id=42, chat_id=2002, user_id=2002)


async def _durable(url: str) -> tuple[DurableStorage, Database]:
    db = Database(url)
    await db.connect(attempts=1)
    await db.upgrade()
    return DurableStorage(Repositories.build(db).sessions), db


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
        primary = RedisStorage(client)
        if kind == "redis":
            store = primary
        else:
            durable, db = await _durable(f"sqlite+aiosqlite:///{tmp_path}/fsm.sqlite")
            store = FallbackStorage(primary, durable, lambda: True)
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
    durable, db = await _durable(f"sqlite+aiosqlite:///{tmp_path}/fsm.sqlite")
    failures: list[Exception] = []
    store = FallbackStorage(RedisStorage(dead), durable, lambda: not failures, failures.append)
    try:
        await store.set_state(KEY, "WalletFlow:import_secret")
        assert len(failures) == 1  # reported once, then Redis is skipped
        assert await store.get_state(KEY) == "WalletFlow:import_secret"
        assert await durable.get_state(KEY) == "WalletFlow:import_secret"
        assert len(failures) == 1
    finally:
        await dead.aclose()
        await db.dispose()
