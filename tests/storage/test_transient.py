"""A PostgreSQL restart under a request: reads wait for the server, writes are never re-run.

A private PostgreSQL cluster (``support.services.PostgresServer``) is stopped and started for
real; a dropped connection is a real ``pg_terminate_backend``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sniper_bot.errors import TemporaryError
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.errors import DatabaseUnavailable, DatabaseWriteFailed
from support.services import PostgresServer, postgres_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNREACHABLE = (
    "The database is restarting or unreachable; nothing was changed. Try again in a few seconds."
)
NOT_SAVED = "The database connection dropped; nothing was saved. Try again in a few seconds."
MAYBE_SAVED = (
    "The database connection dropped while saving, so it may not have been saved. "
    "Check before you repeat it."
)


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with postgres_server() as pg:
        yield pg


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def url(server: PostgresServer) -> AsyncIterator[str]:
    database_url = await server.create_database("transient")
    db = Database(database_url)
    await db.upgrade()
    await db.dispose()
    yield database_url


@pytest_asyncio.fixture(loop_scope="module")
async def db(url: str, server: PostgresServer) -> AsyncIterator[Database]:
    database = Database(url)
    await database.connect(attempts=1)
    yield database
    if not await _up(server):
        await asyncio.to_thread(server.start)
    await database.dispose()


async def _up(server: PostgresServer) -> bool:
    try:
        conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres",
                                     database="postgres", timeout=2)  # fmt: skip
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def _count(db: Database, prefix: str) -> list[str]:
    """Statements starting with ``prefix`` that reached the server, as they are executed."""
    seen: list[str] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(prefix):
            seen.append(statement)

    return seen


async def _terminate(server: PostgresServer, pid: int) -> None:
    admin = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres",
                                  database="postgres", timeout=5)  # fmt: skip
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_read_during_a_restart_waits_for_the_server_and_answers(
    db: Database, server: PostgresServer
) -> None:
    users = Repositories.build(db).users
    user = await users.get_or_create(901, "restart")
    server.stop("fast")
    restarted = threading.Timer(0.3, server.start)
    restarted.start()
    try:
        again = await users.get_by_telegram_id(901)
    finally:
        restarted.join()

    assert again == user


async def test_a_read_while_the_server_stays_down_says_try_again(
    url: str, server: PostgresServer
) -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    db = Database(url, sleep=no_wait)
    await db.connect(attempts=1)
    server.stop("fast")
    try:
        with pytest.raises(DatabaseUnavailable) as raised:
            await Repositories.build(db).users.get_by_telegram_id(902)
    finally:
        server.start()
        await db.dispose()

    assert raised.value.user_message == UNREACHABLE
    assert isinstance(raised.value, TemporaryError)
    assert not isinstance(raised.value, DatabaseWriteFailed)
    assert waits == [0.25, 0.75, 1.5, 2.5]  # a few retries, about 5 s in all, then the sentence
    assert "127.0.0.1" in raised.value.message  # the operator's message names the server


def _insert(telegram_id: int) -> Any:
    return text(
        'INSERT INTO "User" ("telegramId", "isAdmin", "pinFailedAttempts", "createdAt", '
        f'"updatedAt") VALUES ({telegram_id}, false, 0, now(), now())'
    )


async def _insert_then(
    db: Database, telegram_id: int, then: Callable[[AsyncSession], Awaitable[None]]
) -> None:
    """One transaction: insert a user, then ``then`` (which may cut the connection)."""
    async with db.session() as session:
        await session.execute(_insert(telegram_id))
        await then(session)


def _cut(server: PostgresServer, *, then_select: bool) -> Callable[[AsyncSession], Awaitable[None]]:
    async def cut(session: AsyncSession) -> None:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        await _terminate(server, int(pid))
        if then_select:
            await session.execute(text("SELECT 1"))

    return cut


async def test_a_write_cut_mid_transaction_is_not_run_again_and_nothing_is_saved(
    db: Database, server: PostgresServer
) -> None:
    inserts = _count(db, "INSERT")

    with pytest.raises(DatabaseWriteFailed) as raised:
        await _insert_then(db, 903, _cut(server, then_select=True))

    assert raised.value.user_message == NOT_SAVED
    assert raised.value.saved is False
    assert len(inserts) == 1  # never re-run
    assert await Repositories.build(db).users.get_by_telegram_id(903) is None


async def test_a_commit_cut_off_says_it_may_not_be_saved(
    db: Database, server: PostgresServer
) -> None:
    inserts = _count(db, "INSERT")

    with pytest.raises(DatabaseWriteFailed) as raised:
        await _insert_then(db, 904, _cut(server, then_select=False))

    assert raised.value.user_message == MAYBE_SAVED
    assert raised.value.saved is None
    assert len(inserts) == 1


async def test_an_integrity_error_is_not_retried_nor_hidden(db: Database) -> None:
    await Repositories.build(db).users.get_or_create(905, "dup")
    inserts = _count(db, "INSERT")

    async def nothing(_session: AsyncSession) -> None:
        return None

    with pytest.raises(IntegrityError):
        await _insert_then(db, 905, nothing)

    assert len(inserts) == 1


async def test_other_errors_in_a_session_pass_through_and_roll_back(db: Database) -> None:
    async def fail(_session: AsyncSession) -> None:
        raise LookupError("the caller's own error")

    with pytest.raises(LookupError):
        await _insert_then(db, 906, fail)

    assert await Repositories.build(db).users.get_by_telegram_id(906) is None
