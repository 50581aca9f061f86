"""Module-scoped PostgreSQL databases and Redis dbs/servers for the e2e bots.

``tests/conftest.py`` gives one database per test; an e2e module shares one bot between its tests,
so it needs the same services for the module's lifetime. Same rules: a missing service skips the
tests, or fails them under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
import redis.asyncio as aioredis

__all__ = ["RedisServer", "free_port", "postgres_database", "redis_database"]

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "/usr/bin/redis-server")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str, exc: BaseException) -> None:
    reason = f"{what} is not available: {exc!r}"
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure)")
    pytest.skip(reason)


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
        )
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
        raise AssertionError("unreachable") from exc


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its SQLAlchemy asyncpg URL."""
    name = f"sniper_e2e_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def redis_database() -> AsyncIterator[str]:
    """A Redis db number claimed with the same lock keys as ``tests/conftest.py``; flushed."""
    control = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0, socket_timeout=5)
    try:
        await control.ping()
    except (OSError, aioredis.RedisError) as exc:
        await control.aclose()
        unavailable("Redis", exc)
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A private redis-server the test may SIGKILL: the real failure, not a fake."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.mkdtemp(prefix="sniper-e2e-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if not os.path.exists(REDIS_SERVER):
            unavailable("redis-server", FileNotFoundError(REDIS_SERVER))
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", self._dir]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, like a crashed or OOM-killed Redis."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None
