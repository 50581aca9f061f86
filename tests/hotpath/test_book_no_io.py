"""A launch that matches nothing costs no database or network call: the book is rebuilt from a
real repository and shared through a private real Redis, then 1,000 non-matching launches (and
matching ones) are looked up while every SQL statement, every store call and every Redis
command is counted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from sniper_bot.cache import RedisManager
from sniper_bot.cache.armed import ArmedChannel
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchFilter, SnipeTarget
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.hotpath.book import ArmedBook, ArmedBookSync
from sniper_bot.observability.metrics import Metrics
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.repositories.snipes import SnipeTargetRepository
from support.services import RedisServer


def addr(tag: str) -> str:
    return (tag + "1" * 44)[:44]


class RecordingStore:
    """The real repository; every method call is recorded before it is forwarded."""

    def __init__(self, inner: SnipeTargetRepository) -> None:
        self.inner = inner
        self.calls: list[str] = []

    async def list_armed(
        self, now: datetime | None = None, limit: int | None = None
    ) -> list[SnipeTarget]:
        self.calls.append("list_armed")
        return await self.inner.list_armed(now, limit)


async def redis_commands(url: str) -> dict[str, int]:
    """Commands the private server executed, by name (``INFO commandstats``), minus INFO."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        stats: dict[str, Any] = await client.info("commandstats")
    finally:
        await client.aclose()
    return {k: v["calls"] for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_hello")}


async def eventually(predicate: Callable[[], bool]) -> None:
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_a_launch_matching_nothing_costs_no_database_or_redis_call(tmp_path: Path) -> None:
    server = RedisServer()
    server.start()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'noio.sqlite'}")
    await db.connect(attempts=1)
    await db.upgrade()
    manager = RedisManager(server.url, metrics=Metrics())
    task: asyncio.Task[None] | None = None
    try:
        repos = Repositories.build(db)
        user = await repos.users.get_or_create(1, "u1")
        wallet = await repos.wallets.create(
            user.id, "Pk1", SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "w"
        )
        expires = datetime.now(UTC) + timedelta(minutes=10)
        common: dict[str, Any] = {
            "user_id": user.id, "wallet_id": wallet.id, "amount_lamports": 1,
            "slippage_bps": 100, "priority_fee": FeeLevel.LOW, "expires_at": expires,
        }  # fmt: skip
        await repos.snipes.arm(token_mint=addr("Mint"), **common)
        await repos.snipes.arm(creator=addr("Dev"), **common)
        await repos.snipes.arm(launch_filter=LaunchFilter(name_contains=("pepe",)), **common)
        store = RecordingStore(repos.snipes)
        await manager.start()
        channel = ArmedChannel(manager, channel="snipes:armed:noio", poll_s=0.05)
        sync: ArmedBookSync[str] = ArmedBookSync(ArmedBook(), channel, store, rebuild_every_s=3600)
        task = asyncio.create_task(sync.run())
        await eventually(lambda: len(sync.book) == 3 and channel.subscribed)

        statements: list[str] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))  # fmt: skip
        calls_before = list(store.calls)
        redis_before = await redis_commands(server.url)

        misses = 0
        for i in range(1_000):
            misses += not sync.book.match(
                addr(f"Q{i % 9 + 1}"), addr("Zed"), "doge", "D", "pumpfun"
            )
        hits = sync.book.match(addr("Mint"), addr("Dev"), "PEPE", None, "pumpfun")

        assert misses == 1_000
        assert len(hits) == 3
        assert statements == []
        assert store.calls == calls_before
        assert await redis_commands(server.url) == redis_before
        # The counters do count: a rebuild reads the table through the store, a fire publishes.
        await sync.rebuild()
        assert any('FROM "SnipeTarget"' in s for s in statements)
        assert store.calls == [*calls_before, "list_armed"]
        await sync.fired(999)
        after = await redis_commands(server.url)
        assert after.get("cmdstat_publish", 0) == redis_before.get("cmdstat_publish", 0) + 1
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await manager.close()
        await db.dispose()
        server.kill()
