"""Shared fixtures: a real PostgreSQL database and a real Redis database per test.

Both services run on localhost (``make test`` starts them when installed but stopped). When one does
not answer: under ``CI=true`` the test fails; elsewhere it is skipped with the reason.
Several test processes may share the machine, so every test gets its own PostgreSQL database and
claims a Redis db number with a lock key in db 0.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from support.services import postgres_database, redis_database


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database; dropped afterwards. Yields an SQLAlchemy asyncpg URL."""
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A Redis db number (1..15) claimed for this test, flushed before and after."""
    async with redis_database() as url:
        yield url
