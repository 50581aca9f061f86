"""Database: URL handling, start-up failures that say what to do, SQLite specifics."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from sniper_bot.errors import ConfigError, TemporaryError
from sniper_bot.storage import (
    Database,
    DatabaseUnavailable,
    default_sqlite_url,
    parse_database_url,
)
from sniper_bot.storage.migrate import MIGRATIONS_DIR, head_revision
from support.services import unavailable

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("raw", "driver", "pool_hint"),
    [
        ("postgresql+asyncpg://u:pw@db:5432/sniper_bot", "postgresql+asyncpg", None),
        ("postgresql://u:pw@db:5432/sniper_bot", "postgresql+asyncpg", None),
        ("postgres://u:pw@db/sniper_bot", "postgresql+asyncpg", None),
        (
            "postgresql://postgres:password@db-host:5432/sniper_bot?schema=public&connection_limit=20",
            "postgresql+asyncpg",
            20,
        ),
        ("sqlite+aiosqlite:////var/lib/sniper/bot.sqlite", "sqlite+aiosqlite", None),
        ("sqlite:////var/lib/sniper/bot.sqlite", "sqlite+aiosqlite", None),
    ],
)
def test_accepted_urls_are_normalised(raw: str, driver: str, pool_hint: int | None) -> None:
    parsed = parse_database_url(raw)
    assert parsed.url.drivername == driver
    assert parsed.pool_size_hint == pool_hint
    assert dict(parsed.url.query) == {}


def test_prisma_parameters_map_to_pool_size_search_path_and_ssl() -> None:
    parsed = parse_database_url(
        "postgresql://u:pw@h/db?schema=trading&connection_limit=7&sslmode=require"
    )
    assert parsed.search_path == "trading"
    assert dict(parsed.url.query) == {"ssl": "require"}
    db = Database("postgresql://u:pw@h/db?connection_limit=7")
    assert db.pool_size == 7
    assert Database("postgresql://u:pw@h/db?connection_limit=7", pool_size=3).pool_size == 3


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "empty"),
        ("localhost:5432/db", "no scheme"),
        (f"mysql://root:{SECRET}@h/db", "'mysql' is not supported"),
        (f"postgresql+psycopg2://u:{SECRET}@h/db", "not supported"),
        (f"postgresql://u:{SECRET}@/db", "no host"),
        (f"postgresql://u:{SECRET}@h:5432", "no database"),
        (f"postgresql://u:{SECRET}@h/db?connection_limit=lots", "connection_limit"),
        (f"postgresql://u:{SECRET}@h/db?application=x", "'application' is not supported"),
        ("sqlite+aiosqlite://", "no file path"),
        (f"postgresql://u:{SECRET}@h:notaport/db", "could not be parsed"),
    ],
)
def test_rejected_urls_name_the_variable_the_problem_and_the_fix(raw: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_database_url(raw)
    message = str(info.value)
    assert "DATABASE_URL" in message
    assert problem in message
    assert "postgresql+asyncpg://" in message
    assert SECRET not in message


@settings(deadline=None)
@given(st.text(max_size=80))
def test_parsing_any_text_either_works_or_raises_a_config_error_without_the_secret(
    junk: str,
) -> None:
    for raw in (junk, f"postgresql://u:{SECRET}@{junk}", f"postgres://u:{SECRET}@h/{junk}"):
        try:
            shown = parse_database_url(raw).safe
        except ConfigError as exc:
            shown = str(exc)
        assert SECRET not in shown


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_server_is_retried_with_backoff_then_named() -> None:
    port = closed_port()
    db = Database(f"postgresql://bot:{SECRET}@127.0.0.1:{port}/sniper_bot", connect_timeout_s=1)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(DatabaseUnavailable) as info:
        await db.connect(attempts=3, backoff=0.25, sleep=fake_sleep)
    await db.dispose()
    assert isinstance(info.value, TemporaryError)
    assert slept == [0.25, 0.5]
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "after 3 attempts" in message
    assert "DATABASE_URL" in message
    assert SECRET not in message


async def test_a_missing_database_is_a_config_error_not_a_retry(shared_pg_url: str) -> None:
    missing = shared_pg_url.rsplit("/", 1)[0] + "/sniper_no_such_db"
    db = Database(missing)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(ConfigError, match="sniper_no_such_db"):
        await db.connect(attempts=3, backoff=0.01, sleep=fake_sleep)
    await db.dispose()
    assert slept == []


async def test_sqlite_creates_its_directory_and_sets_wal_and_foreign_keys(
    tmp_path: Path,
) -> None:
    url = default_sqlite_url(tmp_path / "nested" / "data")
    assert url.endswith("/nested/data/sniper-bot.sqlite")
    db = Database(url)
    await db.connect(attempts=1)
    assert (tmp_path / "nested" / "data").is_dir()
    assert await db.ping() > 0
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await db.dispose()


def _refuses_new_files(directory: Path) -> bool:
    try:
        (directory / ".probe").touch()
    except OSError:
        return True
    (directory / ".probe").unlink()
    return False


@pytest.fixture
def unwritable_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot write. chmod 555; as root (modes do not bind it) the same
    directory made immutable (chattr +i), else a sysfs directory. None: skipped, or a failure under
    CI=true."""
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        if _refuses_new_files(directory):
            yield directory
            return
    finally:
        directory.chmod(0o755)
    chattr = shutil.which("chattr")
    if (
        chattr
        and subprocess.run([chattr, "+i", str(directory)], capture_output=True).returncode == 0
    ):
        try:
            if _refuses_new_files(directory):
                yield directory
                return
        finally:
            subprocess.run([chattr, "-i", str(directory)], check=True)
    sysfs = Path("/sys/fs")
    if sysfs.is_dir() and _refuses_new_files(sysfs):
        yield sysfs
        return
    unavailable(
        "an unwritable directory",
        OSError("chmod 555 does not bind this user, chattr +i failed and /sys/fs is writable"),
    )


async def test_read_only_sqlite_directory_is_a_clear_config_error(unwritable_dir: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{unwritable_dir / 'bot.sqlite'}")
    try:
        with pytest.raises(ConfigError) as info:
            await db.connect(attempts=1)
    finally:
        await db.dispose()
    message = str(info.value)
    assert str(unwritable_dir) in message
    assert "not writable" in message
    assert "DATABASE_URL" in message


async def test_sqlite_path_under_a_file_is_a_clear_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    db = Database(f"sqlite+aiosqlite:///{blocker / 'bot.sqlite'}")
    with pytest.raises(ConfigError, match="cannot be used"):
        await db.connect(attempts=1)
    await db.dispose()


async def test_session_rolls_back_on_error(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite'}")
    await db.upgrade()

    async def insert_then_fail() -> None:
        async with db.session() as session:
            await session.execute(text('INSERT INTO "User" ("telegramId") VALUES (1)'))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await insert_then_fail()
    async with db.session() as session:
        assert (await session.execute(text('SELECT count(*) FROM "User"'))).scalar() == 0
    await db.dispose()


async def test_in_memory_sqlite_shares_one_database_across_sessions() -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    await db.connect(attempts=1)
    await db.upgrade()
    async with db.session() as session:
        await session.execute(text('INSERT INTO "User" ("telegramId") VALUES (1)'))
    async with db.session() as session:
        assert (await session.execute(text('SELECT count(*) FROM "User"'))).scalar() == 1
    await db.dispose()


def test_the_alembic_cli_runs_the_packaged_env_with_database_url(tmp_path: Path) -> None:
    ini = MIGRATIONS_DIR / "alembic.ini"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}"}
    alembic = Path(sys.executable).with_name("alembic")
    subprocess.run([alembic, "-c", ini, "upgrade", "head"], env=env, check=True, timeout=60)
    current = subprocess.run(
        [alembic, "-c", ini, "current"], env=env, check=True, capture_output=True, text=True
    )
    assert head_revision() in current.stdout
