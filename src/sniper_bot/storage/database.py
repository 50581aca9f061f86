"""``Database``: one engine (PostgreSQL via asyncpg, or embedded SQLite via aiosqlite).

SQLite runs every transaction as ``BEGIN IMMEDIATE`` (writers queue on the busy timeout instead
of failing with "database is locked" on a read-to-write upgrade), with ``journal_mode=WAL`` and
``foreign_keys=ON`` on each connection. The sessions of one process take turns on an asyncio lock
(first come, first served) before their ``BEGIN``: SQLite runs one such transaction at a time
anyway, and a connection waiting on SQLite's busy timeout polls with sleeps of up to 100 ms, so
200 concurrent users would otherwise wait seconds behind each other for sub-millisecond work.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event, pool, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.util import await_

from sniper_bot.errors import ConfigError, SniperBotError

from . import migrate
from .errors import DatabaseUnavailable, DatabaseWriteFailed
from .transient import is_transient
from .urls import DatabaseUrl, parse_database_url

__all__ = ["Database"]

log = structlog.get_logger(__name__)

SQLITE_BUSY_TIMEOUT_S = 10.0
# How long ``dispose`` waits for the server to answer the pool's goodbyes before aborting them.
CLOSE_TIMEOUT_S = 2.0
_AUTH_SQLSTATES = {"28P01": "the password is wrong", "28000": "the role may not log in"}
_MISSING_DB_SQLSTATE = "3D000"

Sleep = Callable[[float], Awaitable[None]]
# Waits before re-trying to get a connection for a session (about 5 s in all: a restart).
SESSION_RETRY_DELAYS_S = (0.25, 0.75, 1.5, 2.5)
_WROTE = "sniper_wrote"  # Session.info key: the transaction ran something other than a SELECT
UNREACHABLE_SENTENCE = (
    "The database is restarting or unreachable; nothing was changed. Try again in a few seconds."
)
NOT_SAVED_SENTENCE = (
    "The database connection dropped; nothing was saved. Try again in a few seconds."
)
BUSY_SENTENCE = "The database is busy; nothing was changed. Try again in a few seconds."
MAYBE_SAVED_SENTENCE = (
    "The database connection dropped while saving, so it may not have been saved. "
    "Check before you repeat it."
)


class _TrackedSession(Session):
    """A session that notes whether its transaction ran anything but a SELECT."""


@event.listens_for(_TrackedSession, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


@event.listens_for(_TrackedSession, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


def _from_the_database(exc: BaseException) -> bool:
    """A transient driver failure inside a session body; the caller's own errors (ours, also
    ``TemporaryError`` ones such as an RPC outage) pass through unchanged."""
    return isinstance(exc, Exception) and not isinstance(exc, SniperBotError) and is_transient(exc)


class Database:
    """Engine, sessions, health and migrations for one ``DATABASE_URL``."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int | None = None,
        max_overflow: int = 5,
        connect_timeout_s: float = 5.0,
        echo: bool = False,
        retry_delays_s: tuple[float, ...] = SESSION_RETRY_DELAYS_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.url: DatabaseUrl = parse_database_url(url)
        self.pool_size = pool_size or self.url.pool_size_hint or 10
        self._connect_timeout_s = connect_timeout_s
        self._echo = echo
        self._retry_delays_s = retry_delays_s
        self._sleep = sleep
        self.engine = self._make_engine(foreign_keys=True, pooled=True, max_overflow=max_overflow)
        # the driver's connections, so ``dispose`` can drop them when the server does not answer
        self._drivers: weakref.WeakSet[Any] = weakref.WeakSet()
        if self.is_postgres:
            event.listen(self.engine.sync_engine, "connect", self._track_driver)
        self._sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=_TrackedSession
        )
        # SQLite: the lock sessions take turns on (made in the loop that first uses it) and
        # the task holding it (a session opened inside another one does not wait on itself)
        self._turn_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._turn_holder: asyncio.Task[Any] | None = None

    @property
    def backend(self) -> str:
        return self.url.backend

    @property
    def is_postgres(self) -> bool:
        return self.url.backend == "postgresql"

    def _make_engine(
        self, *, foreign_keys: bool, pooled: bool, max_overflow: int = 0
    ) -> AsyncEngine:
        target = self.url.url
        if self.url.backend == "sqlite":
            in_memory = self.url.sqlite_path is None
            # An in-memory database lives in one connection: share it (tests, throwaway runs).
            poolclass: type[pool.Pool] | None = pool.StaticPool if in_memory else None
            engine = create_async_engine(
                target,
                echo=self._echo,
                poolclass=poolclass if pooled or in_memory else pool.NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
            )
            _sqlite_events(engine, foreign_keys=foreign_keys)
            return engine
        connect_args: dict[str, Any] = {"timeout": self._connect_timeout_s}
        if self.url.search_path:
            connect_args["server_settings"] = {"search_path": self.url.search_path}
        if not pooled:
            return create_async_engine(
                target, echo=self._echo, poolclass=pool.NullPool, connect_args=connect_args
            )
        engine = create_async_engine(
            target,
            echo=self._echo,
            pool_size=self.pool_size,
            max_overflow=max_overflow,
            connect_args=connect_args,
        )
        _ping_on_checkout(engine)
        return engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commits on normal exit, rolls back on an exception.

        The connection is taken before the body runs; a refused or lost connection at that point
        (nothing was sent yet, so reads and writes alike) is tried again after each of
        ``retry_delays_s``: a restarting server answers a moment later. A connection lost while
        the body or the ``COMMIT`` runs is never re-run: it raises ``DatabaseUnavailable`` (the
        transaction only read) or ``DatabaseWriteFailed`` (it wrote; ``saved`` says whether the
        change can have been kept), each with a sentence for the user. Other errors pass through.
        """
        async with self._turn(), self._transaction() as session:
            yield session

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """SQLite: wait for this process's other transactions (in arrival order), at most the
        busy timeout; PostgreSQL runs them side by side."""
        if self.url.backend != "sqlite":
            yield
            return
        task = asyncio.current_task()
        if task is not None and task is self._turn_holder:
            yield  # nested in this task's own transaction: SQLite decides, as it always did
            return
        loop = asyncio.get_running_loop()
        if self._turn_lock is None or self._turn_lock[0] is not loop:
            self._turn_lock = (loop, asyncio.Lock())
        lock = self._turn_lock[1]
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_S):
                await lock.acquire()
        except TimeoutError:
            raise DatabaseUnavailable(
                f"{self._what()} was busy: other transactions of this process held it for "
                f"{SQLITE_BUSY_TIMEOUT_S:.0f} s.",
                user_message=BUSY_SENTENCE,
                retry_after=1.0,
            ) from None
        self._turn_holder = task
        try:
            yield
        finally:
            self._turn_holder = None
            lock.release()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        session = await self._open_session()
        try:
            try:
                yield session
            except BaseException as exc:
                await _quiet_rollback(session)
                if _from_the_database(exc):
                    raise self._lost(exc, session, committing=False) from exc
                raise
            try:
                await session.commit()
            except Exception as exc:
                await _quiet_rollback(session)
                if is_transient(exc):
                    raise self._lost(exc, session, committing=True) from exc
                raise
        finally:
            await _quiet_close(session)

    async def _open_session(self) -> AsyncSession:
        attempt = 0
        while True:
            session = self._sessions()
            try:
                await session.connection()
            except Exception as exc:
                await _quiet_close(session)
                if not is_transient(exc):
                    raise
                if attempt >= len(self._retry_delays_s):
                    raise DatabaseUnavailable(
                        f"{self._what()} refused or dropped the connection "
                        f"{attempt + 1} times ({type(_root(exc)).__name__}: {_root_text(exc)}); "
                        "check that the server runs and accepts connections.",
                        user_message=UNREACHABLE_SENTENCE,
                        retry_after=self._retry_delays_s[-1] if self._retry_delays_s else 1.0,
                    ) from exc
                delay = self._retry_delays_s[attempt]
                attempt += 1
                log.warning(
                    "database_session_retry",
                    target=self._target(),
                    attempt=attempt,
                    delay_s=delay,
                    error=type(_root(exc)).__name__,
                )
                await self._sleep(delay)
                continue
            return session

    def _lost(
        self, exc: BaseException, session: AsyncSession, *, committing: bool
    ) -> DatabaseUnavailable:
        cause = f"{type(_root(exc)).__name__}: {_root_text(exc)}"
        wrote = bool(session.info.get(_WROTE))
        log.warning(
            "database_connection_lost",
            target=self._target(),
            during="commit" if committing else "transaction",
            wrote=wrote,
            error=type(_root(exc)).__name__,
        )
        if committing and wrote:
            return DatabaseWriteFailed(
                f"{self._what()} dropped the connection during COMMIT ({cause}); the "
                "transaction may or may not have been applied. It was not run again.",
                saved=None,
                user_message=MAYBE_SAVED_SENTENCE,
                retry_after=1.0,
            )
        if wrote:
            return DatabaseWriteFailed(
                f"{self._what()} dropped the connection in a transaction before COMMIT "
                f"({cause}); nothing was applied and it was not run again.",
                saved=False,
                user_message=NOT_SAVED_SENTENCE,
                retry_after=1.0,
            )
        return DatabaseUnavailable(
            f"{self._what()} dropped the connection during a read ({cause}).",
            user_message=UNREACHABLE_SENTENCE,
            retry_after=1.0,
        )

    # -- lifecycle -------------------------------------------------------------------------------

    async def connect(
        self, attempts: int = 5, backoff: float = 0.5, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        """Check the database answers, retrying an unreachable server with exponential backoff.

        Raises ``ConfigError`` for problems retrying cannot fix (bad password, missing database,
        unwritable SQLite directory) and ``DatabaseUnavailable`` when every attempt failed.
        """
        if self.url.backend == "sqlite":
            self._prepare_sqlite_dir()
        last: BaseException | None = None
        for attempt in range(1, max(1, attempts) + 1):
            try:
                await self.ping()
            except (OSError, SQLAlchemyError) as exc:
                self._raise_if_permanent(exc)
                last = exc
                log.warning(
                    "database_connect_failed",
                    backend=self.backend,
                    target=self._target(),
                    attempt=attempt,
                    attempts=attempts,
                    error=type(_root(exc)).__name__,
                )
                if attempt < attempts:
                    await sleep(min(backoff * 2 ** (attempt - 1), 30.0))
            else:
                log.info("database_connected", backend=self.backend, target=self._target())
                return
        raise DatabaseUnavailable(
            f"{self._what()} is unreachable after {attempts} attempts "
            f"({type(_root(last)).__name__ if last else 'unknown'}: {_root_text(last)}). "
            "Start the database server or fix the host/port in DATABASE_URL.",
            user_message="The database is unavailable right now; try again in a minute.",
            retry_after=backoff,
        ) from last

    async def ping(self) -> float:
        """Round-trip ``SELECT 1``; returns the latency in seconds."""
        started = time.perf_counter()
        async with self._turn(), self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return time.perf_counter() - started

    def _track_driver(self, dbapi_connection: Any, _record: Any) -> None:
        self._drivers.add(dbapi_connection.driver_connection)

    async def dispose(self, *, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Close the pool, saying goodbye to the server on each connection.

        The goodbye waits for the server's answer, without end when the server is hung or the
        network drops packets: after ``timeout_s`` the connections are aborted instead (the
        server ends their sessions when it notices), so a stop never waits on the database.
        """
        closing = asyncio.ensure_future(self.engine.dispose())
        try:
            done, _ = await asyncio.wait({closing}, timeout=timeout_s)
            if not done:
                log.warning("database_close_timed_out", target=self._target(), timeout_s=timeout_s)
                for driver in list(self._drivers):
                    driver.terminate()  # drops the socket: the goodbye waiting on it ends too
                await asyncio.wait({closing}, timeout=timeout_s)
        finally:
            if not closing.done():
                closing.cancel()
            await asyncio.gather(closing, return_exceptions=True)

    # -- migrations ------------------------------------------------------------------------------

    async def migration_status(self) -> tuple[str | None, str]:
        """``(current revision or None for an empty database, head revision)``."""
        async with self.engine.connect() as conn:
            current = await conn.run_sync(migrate.current_revision)
        return current, migrate.head_revision()

    async def is_up_to_date(self) -> bool:
        current, head = await self.migration_status()
        return current == head

    async def upgrade(self, revision: str = "head") -> None:
        await self._migrate(migrate.upgrade, revision)

    async def downgrade(self, revision: str) -> None:
        await self._migrate(migrate.downgrade, revision)

    async def schema_drift(self) -> list[Any]:
        """Differences between the live schema and the models; empty when migrations match."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(migrate.schema_drift)

    async def _migrate(self, step: Callable[[Any, str], None], revision: str) -> None:
        if self.url.backend == "sqlite":
            self._prepare_sqlite_dir()
        # A separate unpooled engine: on SQLite, foreign keys must be OFF while batch mode
        # copies tables, or dropping the old copy would cascade-delete child rows.
        if self.url.backend == "sqlite" and self.url.sqlite_path is None:
            # In memory: only the shared connection sees the database (it starts empty, so
            # there are no child rows for batch copies to cascade-delete).
            async with self.engine.begin() as conn:
                await conn.run_sync(step, revision)
            return
        engine = self._make_engine(foreign_keys=False, pooled=False)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(step, revision)
        finally:
            await engine.dispose()
        log.info("database_migrated", backend=self.backend, revision=revision)

    # -- diagnostics -----------------------------------------------------------------------------

    def _what(self) -> str:
        if self.url.backend == "sqlite":
            return f"SQLite database {self.url.sqlite_path or ':memory:'}"
        return f"PostgreSQL at {self.url.host_port}"

    def _target(self) -> str:
        if self.url.backend == "sqlite":
            return str(self.url.sqlite_path or ":memory:")
        return self.url.host_port

    def _raise_if_permanent(self, exc: BaseException) -> None:
        state = _sqlstate(exc)
        if state in _AUTH_SQLSTATES:
            raise ConfigError(
                f"{self._what()} refused the login: {_AUTH_SQLSTATES[state]}. "
                "Fix the user/password in DATABASE_URL."
            ) from exc
        if state == _MISSING_DB_SQLSTATE:
            raise ConfigError(
                f"{self._what()} has no database {self.url.url.database!r}. Create it "
                f"(createdb {self.url.url.database}) or fix the database name in DATABASE_URL."
            ) from exc
        if self.url.backend == "sqlite" and "unable to open database" in str(exc):
            raise ConfigError(
                f"{self._what()} cannot be opened. Check DATABASE_URL's path and its permissions."
            ) from exc

    def _prepare_sqlite_dir(self) -> None:
        path = self.url.sqlite_path
        if path is None:
            return
        directory = path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / f".sniper-bot-write-probe-{uuid.uuid4().hex}"
            with probe.open("wb") as handle:
                handle.write(b"\0" * 4096)
                handle.flush()
                os.fsync(handle.fileno())
            probe.unlink()
        except OSError as exc:
            raise ConfigError(_sqlite_dir_problem(directory, exc)) from exc
        if path.exists() and not os.access(path, os.W_OK):
            raise ConfigError(
                f"SQLite database file {path} is read-only. Make it writable by the bot's user "
                "or point DATABASE_URL elsewhere."
            )


def _sqlite_dir_problem(directory: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return (
            f"The disk holding the SQLite directory {directory} is full. Free space or point "
            "DATABASE_URL (or the data directory) at another disk."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"The SQLite directory {directory} is not writable ({os.strerror(exc.errno)}). "
            "Make it writable by the bot's user or point DATABASE_URL (or the data directory) "
            "at a writable path."
        )
    return (
        f"The SQLite directory {directory} cannot be used ({exc.strerror or exc}). "
        "Point DATABASE_URL (or the data directory) at a writable directory."
    )


def _ping_on_checkout(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling in one round trip: SQLAlchemy's ``pool_pre_ping`` on
    asyncpg costs three (``BEGIN``, ``;``, ``ROLLBACK``), about a fifth of a Telegram update's
    handling. Here ``SELECT 1`` goes as a simple query (nothing prepared: fine behind
    pgbouncer); a dead connection raises ``DisconnectionError`` at checkout, so the pool drops it
    and connects anew before the session's work starts, exactly as with pre-ping."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver.is_closed():
            raise DisconnectionError("the server closed this pooled connection")
        try:
            await_(driver.execute("SELECT 1"))
        except Exception as exc:
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def _sqlite_events(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Driver-level autocommit: SQLAlchemy's "begin" event below owns BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


async def _quiet_rollback(session: AsyncSession) -> None:
    try:
        await session.rollback()
    except Exception as exc:  # the connection is gone: the server has rolled back already
        log.debug("database_rollback_failed", error=type(exc).__name__)


async def _quiet_close(session: AsyncSession) -> None:
    try:
        await session.close()
    except Exception as exc:
        log.debug("database_session_close_failed", error=type(exc).__name__)


def _root(exc: BaseException | None) -> BaseException | None:
    seen: set[int] = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        nxt = getattr(current, "orig", None) or current.__cause__
        if nxt is None:
            return current
        current = nxt
    return current


def _root_text(exc: BaseException | None) -> str:
    root = _root(exc)
    return str(root).splitlines()[0][:200] if root is not None and str(root) else "no detail"


def _sqlstate(exc: BaseException) -> str | None:
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str):
            return state
        if isinstance(current, DBAPIError) and current.orig is not None:
            current = current.orig
        else:
            current = current.__cause__
    return None
