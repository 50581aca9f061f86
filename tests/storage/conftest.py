"""Storage fixtures: one migrated database per test, parametrised over SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from sniper_bot.domain.entities import OrderKind, User, Wallet
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.models import Base

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")  # same variables as tests/conftest.py
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

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


@pytest.fixture(scope="session")
def shared_pg_url() -> Iterator[str]:
    """One PostgreSQL database (with the schema) for the whole contract suite; tables are
    truncated before each test. Creating a database per test costs ~0.5 s, this ~20 ms."""
    name = f"sniper_storage_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(
            f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres",
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
            connect_args={"timeout": 5},
        )
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql(sql)
        finally:
            await engine.dispose()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, SQLAlchemyError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is not available: {exc!r} (CI=true: this is a failure)")
        pytest.skip(f"PostgreSQL is not available: {exc!r}")
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"

    async def schema() -> None:
        database = Database(url)
        async with database.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await database.dispose()

    asyncio.run(schema())
    try:
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
    async with database.engine.begin() as conn:
        if database.is_postgres:
            for table in reversed(Base.metadata.sorted_tables):  # DELETE beats TRUNCATE here
                await conn.execute(table.delete())
        else:
            await conn.run_sync(Base.metadata.create_all)
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
