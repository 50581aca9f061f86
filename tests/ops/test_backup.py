"""`sniper-bot backup` / `restore`: a real round trip on PostgreSQL and on SQLite.

Data written, backed up, wiped (the schema dropped, the file deleted), restored: the data is back
and the schema is at this version's head.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pytest

from sniper_bot.ops.backup import BackupError, backup, find_pg_tool, restore
from sniper_bot.storage.database import Database
from sniper_bot.storage.repositories import Repositories

SNIPER_BOT = Path(sys.executable).parent / "sniper-bot"
SECRET = "9d3f6b1a7c2e4f80b5a6c9d1e3f7a2b4c6d8e0f1a3b5c7d9e2f4a6b8c0d1e3f5"


async def _write(url: str, telegram_ids: list[int]) -> None:
    db = Database(url)
    await db.connect(attempts=3)
    try:
        await db.upgrade()
        repos = Repositories.build(db)
        for tid in telegram_ids:
            await repos.users.get_or_create(tid, f"user{tid}")
    finally:
        await db.dispose()


async def _read(url: str) -> tuple[list[int], str | None]:
    db = Database(url)
    await db.connect(attempts=3)
    try:
        repos = Repositories.build(db)
        found = [tid for tid in (1, 2, 3) if await repos.users.get_by_telegram_id(tid)]
        current, _ = await db.migration_status()
        return found, current
    finally:
        await db.dispose()


async def _cli(*args: str, database_url: str, cwd: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE"))}
    env |= {"DATABASE_URL": database_url, "DATA_DIR": str(cwd), "SESSION_MASTER_SECRET": SECRET}
    proc = await asyncio.create_subprocess_exec(
        str(SNIPER_BOT), *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(errors="replace")


async def test_postgres_round_trip_through_the_cli(pg_url: str, tmp_path: Path) -> None:
    await _write(pg_url, [1, 2, 3])
    head = (await _read(pg_url))[1]
    dump = tmp_path / "sniper.dump"

    code, out = await _cli("backup", str(dump), database_url=pg_url, cwd=tmp_path)
    assert code == 0, out
    assert "backed up postgresql database to" in " ".join(out.split())
    assert dump.read_bytes().startswith(b"PGDMP")

    raw = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(raw)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    with pytest.raises(Exception, match="User"):
        await _read(pg_url)

    code, out = await _cli("restore", str(dump), database_url=pg_url, cwd=tmp_path)
    assert code == 0, out
    assert await _read(pg_url) == ([1, 2, 3], head)


async def test_sqlite_round_trip_with_the_online_backup_api(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite"
    url = f"sqlite+aiosqlite:///{live}"
    await _write(url, [1, 2])
    copy = tmp_path / "backup.sqlite"

    report = await backup(url, copy)
    assert report.backend == "sqlite"
    assert report.size_bytes > 0
    await _write(url, [3])  # written after the backup: gone after the restore
    live.unlink()

    await restore(url, copy)
    found, current = await _read(url)
    assert found == [1, 2]
    assert current is not None


async def test_sqlite_backup_while_the_database_is_open_and_written(tmp_path: Path) -> None:
    live = tmp_path / "busy.sqlite"
    url = f"sqlite+aiosqlite:///{live}"
    await _write(url, [1])
    db = Database(url)
    await db.connect(attempts=1)
    try:
        repos = Repositories.build(db)
        writer = asyncio.create_task(repos.users.get_or_create(2, "two"))
        await backup(url, tmp_path / "b.sqlite")
        await writer
    finally:
        await db.dispose()
    restored = f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite'}"
    found, _ = await _read(restored)
    assert 1 in found


async def test_wrong_files_and_backends_are_refused_clearly(pg_url: str, tmp_path: Path) -> None:
    sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'a.sqlite'}"
    await _write(sqlite_url, [1])
    sqlite_copy = tmp_path / "a.backup"
    await backup(sqlite_url, sqlite_copy)

    with pytest.raises(BackupError, match="is not a pg_dump custom-format file"):
        await restore(pg_url, sqlite_copy)
    (tmp_path / "x.dump").write_bytes(b"PGDMP....")
    with pytest.raises(BackupError, match="is not an SQLite database file"):
        await restore(sqlite_url, tmp_path / "x.dump")
    with pytest.raises(BackupError, match="does not exist"):
        await restore(sqlite_url, tmp_path / "missing.backup")
    with pytest.raises(BackupError, match="is a directory"):
        await backup(sqlite_url, tmp_path)
    with pytest.raises(BackupError, match="pg_nothing was not found on PATH"):
        find_pg_tool("pg_nothing", roots=(str(tmp_path),))
    code, out = await _cli(
        "restore", str(tmp_path / "nope.dump"), database_url=pg_url, cwd=tmp_path
    )
    assert code == 1
    assert "does not exist" in " ".join(out.split())
    assert "Traceback" not in out


async def test_a_failing_pg_dump_names_the_tool_and_never_the_password(tmp_path: Path) -> None:
    url = "postgresql://postgres:hunter2secret@127.0.0.1:1/nowhere"
    with pytest.raises(BackupError) as info:
        await backup(url, tmp_path / "x.dump")
    assert "pg_dump failed" in info.value.message
    assert "hunter2secret" not in info.value.message
