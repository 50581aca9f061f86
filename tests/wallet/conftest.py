"""Wallet fixtures: a migrated database (SQLite file or fresh PostgreSQL), a keyring, the service.

One clock drives everything (database timestamps, PIN lock-out, signer TTL) and only moves when a
test advances it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sniper_bot.observability.metrics import Metrics
from sniper_bot.storage import Database, Repositories
from sniper_bot.wallet.crypto import Keyring
from sniper_bot.wallet.pin import Argon2Params, LockoutPolicy, PinHasher
from sniper_bot.wallet.pingate import PinGate
from sniper_bot.wallet.service import WalletService
from sniper_bot.wallet.sessions import SignerCache

# Lighter Argon2id than production (8 MiB, 1 pass) so PIN-heavy tests stay fast; test_pin.py
# exercises the production parameters.
TEST_ARGON2 = Argon2Params(memory_kib=8_192, iterations=1)
SIGNER_TTL_S = 300.0


class TestClock:
    __test__ = False

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - datetime(2026, 1, 1, tzinfo=UTC)).total_seconds()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite for the service behaviour tests (fast); the storage suite runs the repositories on
    both backends, and the authorization, rotation and leak tests below use PostgreSQL."""
    return f"sqlite+aiosqlite:///{tmp_path / 'wallet.sqlite'}"


async def open_db(url: str) -> Database:
    database = Database(url, pool_size=5)
    await database.connect(attempts=1)
    await database.upgrade()
    return database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_db(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    database = await open_db(pg_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.from_settings(secrets.token_hex(32))


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


def build_service(
    repos: Repositories,
    keyring: Keyring,
    clock: TestClock,
    metrics: Metrics | None = None,
    admin_ids: frozenset[int] = frozenset(),
    signer_ttl_s: float = SIGNER_TTL_S,
) -> WalletService:
    return WalletService(
        users=repos.users,
        wallets=repos.wallets,
        keyring=keyring,
        signers=SignerCache(signer_ttl_s, clock.monotonic),
        pins=PinGate(repos.users, PinHasher(TEST_ARGON2), LockoutPolicy(), clock),
        metrics=metrics,
        admin_ids=admin_ids,
    )


@pytest.fixture
def repos(db: Database, clock: TestClock) -> Repositories:
    return Repositories.build(db, clock)


@pytest.fixture
def pg_repos(pg_db: Database, clock: TestClock) -> Repositories:
    return Repositories.build(pg_db, clock)


@pytest.fixture
def service(
    repos: Repositories, keyring: Keyring, clock: TestClock, metrics: Metrics
) -> WalletService:
    return build_service(repos, keyring, clock, metrics)
