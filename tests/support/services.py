"""Real services for tests: a fresh PostgreSQL database, a claimed Redis db, a private Redis server,
a private PostgreSQL cluster (``PostgresServer``: stop and start it for a real outage).

The ``pg_url``/``redis_url`` fixtures of ``tests/conftest.py`` wrap the first two per test; suites
that share a bot or a database for a module or session use the context managers directly. A
missing service skips the tests, or fails them under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress

import asyncpg
import pytest
import redis.asyncio as aioredis

__all__ = [
    "IN_CI",
    "PostgresServer",
    "RedisServer",
    "create_database",
    "drop_database",
    "find_pg_dump",
    "free_port",
    "postgres_database",
    "postgres_server",
    "redis_database",
    "session_database",
    "unavailable",
]

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


def find_pg_dump(roots: tuple[str, ...] = ("/usr/lib/postgresql", "/usr/pgsql")) -> str:
    """``pg_dump`` from PATH, else the newest one under ``roots`` (Debian's postgresql-client keeps
    it in /usr/lib/postgresql/N/bin, off PATH). None: skipped, or under ``CI=true`` a failure."""
    exe = shutil.which("pg_dump")
    if exe is not None:
        return exe
    found: list[tuple[int, str]] = []
    for root in roots:
        for version in os.listdir(root) if os.path.isdir(root) else ():
            candidate = os.path.join(root, version, "bin", "pg_dump")
            if version.isdigit() and os.access(candidate, os.X_OK):
                found.append((int(version), candidate))
    if not found:
        unavailable("pg_dump", FileNotFoundError(f"not on PATH nor in {', '.join(roots)}/*/bin"))
    return max(found)[1]


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
        )
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
        raise AssertionError("unreachable") from exc


async def create_database(prefix: str = "sniper_test") -> str:
    """Create a fresh PostgreSQL database; returns its SQLAlchemy asyncpg URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def postgres_database(prefix: str = "sniper_test") -> AsyncIterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its SQLAlchemy asyncpg URL."""
    url = await create_database(prefix)
    try:
        yield url
    finally:
        await drop_database(url)


@contextmanager
def session_database(prefix: str) -> Iterator[str]:
    """The same for a synchronous (session-scoped) fixture: each step runs its own loop."""
    url = asyncio.run(create_database(prefix))
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))


@asynccontextmanager
async def redis_database() -> AsyncIterator[str]:
    """A Redis db number (1..15) claimed with a lock key in db 0 (several test processes may share
    the server), flushed before and after."""
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
    """A private redis-server the test may SIGKILL and restart: the real failure, not a fake."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
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


PG_BIN = os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin")


class PostgresServer:
    """A private PostgreSQL cluster the test may stop and start: a real outage, not a fake.

    ``initdb`` in a temporary directory (as the ``postgres`` user when the tests run as root,
    since PostgreSQL refuses to run as root), trust authentication on 127.0.0.1, fsync off. The
    data survives ``stop``/``start`` like a server restart; ``remove`` deletes the cluster.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._dir = tempfile.mkdtemp(prefix="sniper-pg-")
        self.data = os.path.join(self._dir, "data")
        self._log = os.path.join(self._dir, "server.log")
        self._initialised = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = [os.path.join(PG_BIN, args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, check=False, timeout=120)
        if check and done.returncode != 0:
            log = ""
            if os.path.exists(self._log):
                with open(self._log, errors="replace") as handle:
                    log = handle.read()[-2000:]
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stdout.decode(errors='replace')}"
                f"{done.stderr.decode(errors='replace')}\nserver log:\n{log}"
            )
        return done

    def start(self) -> None:
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            unavailable("PostgreSQL binaries", FileNotFoundError(PG_BIN))
        if not self._initialised:
            if os.geteuid() == 0:
                shutil.chown(self._dir, "postgres")
            self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
            self._initialised = True
        options = (
            f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", self.data, "-l", self._log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: disconnect clients, shut down; ``immediate``: like a crash (no checkpoint)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP the server and its backends, SIGCONT afterwards: connections stay open but
        nothing answers (a frozen host, or a network that drops packets), unlike ``stop``."""
        with open(os.path.join(self.data, "postmaster.pid")) as handle:
            postmaster = int(handle.readline())
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        frozen = [postmaster, *map(int, children)]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in frozen:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    async def create_database(self, name: str = "sniper") -> str:
        admin = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres", timeout=10
        )
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return self.url(name)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster, started; stopped and deleted afterwards."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()
