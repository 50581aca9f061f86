"""Shared fixtures: a real PostgreSQL database and a real Redis database per test.

Both services run on localhost (``make test`` starts them when installed but stopped). When one does
not answer: under ``CI=true`` the test fails; elsewhere it is skipped with the reason.
Several test processes may share the machine, so every test gets its own PostgreSQL database and
claims a Redis db number with a lock key in db 0.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def service_unavailable(what: str, exc: BaseException) -> None:
    reason = f"{what} is not available: {exc!r}"
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure)")
    pytest.skip(reason)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database; dropped afterwards. Yields an SQLAlchemy asyncpg URL."""
    name = f"sniper_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
        )
    except (OSError, asyncpg.PostgresError) as exc:
        service_unavailable("PostgreSQL", exc)
        raise AssertionError("unreachable") from exc
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
        )
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A Redis db number (1..15) claimed for this test, flushed before and after."""
    control = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0, socket_timeout=5)
    try:
        await control.ping()
    except (OSError, aioredis.RedisError) as exc:
        await control.aclose()
        service_unavailable("Redis", exc)
        raise AssertionError("unreachable") from exc
    token = uuid.uuid4().hex
    claimed: int | None = None
    try:
        for _ in range(600):
            for db in range(1, 16):
                if await control.set(f"sniper-test:lock:db:{db}", token, nx=True, ex=300):
                    claimed = db
                    break
            if claimed is not None:
                break
            import asyncio

            await asyncio.sleep(0.1)
        if claimed is None:
            pytest.fail("no free Redis test db within 60 s")
        url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{claimed}"
        client = aioredis.Redis.from_url(url)
        await client.flushdb()
        await client.aclose()
        yield url
        client = aioredis.Redis.from_url(url)
        await client.flushdb()
        await client.aclose()
    finally:
        if claimed is not None:
            key = f"sniper-test:lock:db:{claimed}"
            if (await control.get(key)) == token.encode():
                await control.delete(key)
        await control.aclose()
