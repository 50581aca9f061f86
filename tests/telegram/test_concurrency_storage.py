"""What every update touches in storage, under many users at once: the user look-up writes
nothing for a known user, and SQLite's transactions take turns in arrival order inside the
process (never SQLite's sleep-polling busy timeout, never a failure under concurrency)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from sniper_bot.storage import Database, Repositories, database
from sniper_bot.storage.errors import DatabaseUnavailable
from sniper_bot.storage.models import Base
from support.services import postgres_database

pytestmark = pytest.mark.asyncio


async def _db(url: str) -> Database:
    db = Database(url, pool_size=5)
    await db.connect(attempts=1)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return db


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        opened = await _db(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite'}")
        try:
            yield opened
        finally:
            await opened.dispose()
        return
    async with postgres_database() as url:
        opened = await _db(url)
        try:
            yield opened
        finally:
            await opened.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await _db(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite'}")
    try:
        yield opened
    finally:
        await opened.dispose()


def _writes(db: Database) -> list[str]:
    """Every statement but a SELECT (and transaction control) the engine sends from now on."""
    seen: list[str] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = statement.lstrip().split(None, 1)[0].upper()
        if head not in ("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", ";"):
            seen.append(statement)

    return seen


async def test_a_known_user_is_only_read(db: Database) -> None:
    repos = Repositories.build(db)
    first = await repos.users.get_or_create(4001, "alice")
    writes = _writes(db)

    again = await asyncio.gather(*(repos.users.get_or_create(4001, "alice") for _ in range(20)))

    assert {u.id for u in again} == {first.id}
    assert writes == []
    renamed = await repos.users.get_or_create(4001, "alice2")  # a changed username is saved
    assert (renamed.id, renamed.username) == (first.id, "alice2")
    assert len(writes) == 1
    assert "INSERT" in writes[0].upper()
    gone = await repos.users.get_or_create(4001, None)  # a username removed in Telegram too
    assert gone.username is None
    assert (await repos.users.get(first.id)).username is None  # type: ignore[union-attr]


async def test_a_new_user_under_concurrency_is_one_row(db: Database) -> None:
    repos = Repositories.build(db)
    users = await asyncio.gather(*(repos.users.get_or_create(4002, "bob") for _ in range(30)))
    assert len({u.id for u in users}) == 1
    async with db.engine.connect() as conn:
        count = (await conn.execute(text('SELECT count(*) FROM "User"'))).scalar_one()
    assert count == 1


async def test_sqlite_transactions_take_turns_in_arrival_order(sqlite_db: Database) -> None:
    repos = Repositories.build(sqlite_db)
    holding, release = asyncio.Event(), asyncio.Event()
    order: list[int] = []

    async def first() -> None:
        async with sqlite_db.session() as session:
            await session.execute(text("SELECT 1"))
            holding.set()
            await release.wait()

    async def later(i: int) -> None:
        async with sqlite_db.session() as session:
            order.append(i)
            await session.execute(text("SELECT 1"))

    holder = asyncio.create_task(first())
    await holding.wait()
    waiting = []
    for i in range(12):
        waiting.append(asyncio.create_task(later(i)))
        await asyncio.sleep(0.005)  # each one is waiting before the next arrives
    release.set()
    await asyncio.gather(holder, *waiting)

    assert order == list(range(12))
    # and the repositories keep working side by side (each update's user look-up, at once)
    users = await asyncio.gather(*(repos.users.get_or_create(5000 + i, None) for i in range(50)))
    assert len({u.id for u in users}) == 50


async def test_in_memory_sqlite_serves_concurrent_sessions() -> None:
    """One shared connection: sessions side by side would interleave their BEGINs on it."""
    memory = await _db("sqlite+aiosqlite:///:memory:")
    try:
        repos = Repositories.build(memory)
        users = await asyncio.gather(*(repos.users.get_or_create(6000 + i, "u") for i in range(40)))
        assert len({u.id for u in users}) == 40
    finally:
        await memory.dispose()


async def test_waiting_past_the_busy_timeout_is_a_sentence(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with sqlite_db.session():
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with sqlite_db.session():
                pass
    finally:
        release.set()
        await holder
    assert caught.value.user_message == database.BUSY_SENTENCE
    assert "was busy" in caught.value.message
    async with sqlite_db.session() as session:  # the turn was handed on: nothing is stuck
        await session.execute(text("SELECT 1"))
