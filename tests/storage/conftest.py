"""Storage fixtures: one migrated database per test, parametrised over SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sniper_bot.domain.entities import OrderKind, User, Wallet
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.models import Base
from support.services import session_database

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class StepClock:
    """Deterministic clock: every reading is 1 ms after the previous one."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def _session_pg_database(
    prefix: str, prepare: Callable[[Database], Awaitable[None]]
) -> Iterator[str]:
    """A PostgreSQL database shared by a whole session (creating one costs ~0.5-1 s)."""
    with session_database(prefix) as url:

        async def run_prepare() -> None:
            database = Database(url)
            try:
                await prepare(database)
            finally:
                await database.dispose()

        asyncio.run(run_prepare())
        yield url


async def _create_all(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def _migrate(database: Database) -> None:
    await database.upgrade()


@pytest.fixture(scope="session")
def shared_pg_url() -> Iterator[str]:
    """The contract suite's PostgreSQL database (schema from the models); rows are deleted
    before each test."""
    yield from _session_pg_database("sniper_storage", _create_all)


@pytest.fixture(scope="session")
def migrated_pg_url() -> Iterator[str]:
    """A PostgreSQL database built by the Alembic migrations (for the runbook SQL tests)."""
    yield from _session_pg_database("sniper_storage_mig", _migrate)


async def clear_all_rows(database: Database) -> None:
    async with database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):  # DELETE beats TRUNCATE here
            await conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty database: a file under tmp_path, or the shared PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.sqlite'}"
    url: str = request.getfixturevalue("shared_pg_url")
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The contract suite builds the schema from the models (fast); test_migrations proves the
    migrations produce exactly this schema on both backends."""
    database = Database(database_url, pool_size=5)
    await database.connect(attempts=1)
    if database.is_postgres:
        await clear_all_rows(database)
    else:
        await _create_all(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """For the migration tests: a new SQLite file, or a fresh PostgreSQL database (``pg_url``)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm' / 'bot.sqlite'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def empty_db(empty_url: str) -> AsyncIterator[Database]:
    """A connected database with no schema at all: each migration test upgrades it itself."""
    database = Database(empty_url)
    await database.connect(attempts=1)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def repos(db: Database, clock: StepClock) -> Repositories:
    return Repositories.build(db, clock)


def sealed(key_id: str = "k1", tag: bytes = b"\x01") -> SealedSecret:
    return SealedSecret(key_id=key_id, salt=tag * 16, nonce=tag * 12, ciphertext=tag * 80)


async def make_user(repos: Repositories, telegram_id: int = 1001) -> User:
    return await repos.users.get_or_create(telegram_id, f"user{telegram_id}")


async def make_wallet(repos: Repositories, user: User, public_key: str | None = None) -> Wallet:
    key = public_key or f"Pk{user.telegram_id}x{len(await repos.wallets.list_for_user(user.id))}"
    return await repos.wallets.create(user.id, key, sealed(), "main")


ORDER_DEFAULTS: dict[str, Any] = {
    "kind": OrderKind.MANUAL,
    "token_mint": "MintA111111111111111111111111111111111111",
    "side": OrderSide.BUY,
    "amount": 500_000_000,
    "slippage_bps": 100,
    "priority_fee": FeeLevel.MEDIUM,
    "priority_fee_lamports": 10_000,
}
