"""``sniper-bot backup PATH`` / ``restore PATH``: the bot's database to a file and back.

PostgreSQL: ``pg_dump -F c`` (custom format, what the runbook's ``pg_restore`` reads) and
``pg_restore --clean --if-exists --no-owner``; the password goes to the tools through
``PGPASSWORD``, never on a command line or in a message. SQLite: the online backup API (a
consistent copy while the bot writes), restored page by page into the live file.
A dump names its format by its first bytes, so restoring one into the other backend is refused.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sniper_bot.errors import SniperBotError
from sniper_bot.storage.urls import DatabaseUrl, parse_database_url

__all__ = ["BackupError", "BackupReport", "backup", "find_pg_tool", "restore"]

PG_ROOTS = ("/usr/lib/postgresql", "/usr/pgsql")
PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"
TOOL_TIMEOUT_S = 3600.0


class BackupError(SniperBotError):
    """A backup or restore that could not be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    backend: str
    path: Path
    size_bytes: int

    def summary(self, verb: str) -> str:
        return f"{verb} {self.backend} database {'to' if verb == 'backed up' else 'from'} " + (
            f"{self.path} ({self.size_bytes} bytes)"
        )


def find_pg_tool(name: str, roots: tuple[str, ...] = PG_ROOTS) -> str:
    """``name`` (pg_dump, pg_restore) from PATH, else the newest under ``roots``/N/bin (Debian's
    postgresql-client keeps them off PATH)."""
    exe = shutil.which(name)
    if exe is not None:
        return exe
    found: list[tuple[int, str]] = []
    for root in roots:
        for version in os.listdir(root) if os.path.isdir(root) else ():
            candidate = os.path.join(root, version, "bin", name)
            if version.isdigit() and os.access(candidate, os.X_OK):
                found.append((int(version), candidate))
    if not found:
        raise BackupError(
            f"{name} was not found on PATH nor in {', '.join(r + '/*/bin' for r in roots)}. "
            "Install the PostgreSQL client (Debian: apt-get install postgresql-client)."
        )
    return max(found)[1]


def _pg_args(db: DatabaseUrl) -> tuple[list[str], dict[str, str]]:
    url = db.url
    args = ["-h", url.host or "localhost", "-p", str(url.port or 5432)]
    if url.username:
        args += ["-U", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    ssl = url.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = ssl
    return args, env


async def _run(tool: str, args: list[str], env: dict[str, str], secret: str | None) -> None:
    proc = await asyncio.create_subprocess_exec(
        tool,
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TOOL_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BackupError(f"{Path(tool).name} did not finish in {TOOL_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        text = out.decode(errors="replace").strip()
        if secret:
            text = text.replace(secret, "***")
        raise BackupError(f"{Path(tool).name} failed (exit {proc.returncode}): {text[-800:]}")


def _sqlite_file(db: DatabaseUrl) -> Path:
    path = db.sqlite_path
    if path is None:
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return path


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise BackupError(f"{path} is a directory; give a file name, e.g. {path}/sniper-bot.dump")
    if not path.parent.is_dir():
        raise BackupError(f"the directory {path.parent} does not exist")


async def backup(database_url: str, path: Path) -> BackupReport:
    db = parse_database_url(database_url)
    _check_target(path)
    if db.backend == "postgresql":
        args, env = _pg_args(db)
        tool = find_pg_tool("pg_dump")
        dump = [*args, "-d", str(db.url.database), "-F", "c", "-b", "-f", str(path)]
        await _run(tool, dump, env, env.get("PGPASSWORD"))
    else:
        source = _sqlite_file(db)
        if not source.is_file():
            raise BackupError(f"the SQLite database {source} does not exist (nothing to back up)")
        await asyncio.to_thread(_sqlite_copy, source, path)
    return BackupReport(db.backend, path, _size(path))


def _size(path: Path) -> int:
    return path.stat().st_size


def _head(path: Path) -> bytes:
    if not path.is_file():
        raise BackupError(f"the backup {path} does not exist")
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC))


async def restore(database_url: str, path: Path) -> BackupReport:
    """Replace the database's contents with the backup at ``path``. Stop the bot first."""
    db = parse_database_url(database_url)
    head = _head(path)
    if db.backend == "postgresql":
        if not head.startswith(PG_MAGIC):
            raise BackupError(
                f"{path} is not a pg_dump custom-format file (made by sniper-bot backup or "
                "pg_dump -F c); DATABASE_URL is a PostgreSQL database"
            )
        args, env = _pg_args(db)
        tool = find_pg_tool("pg_restore")
        cmd = [*args, "-d", str(db.url.database), "--clean", "--if-exists", "--no-owner"]
        await _run(tool, [*cmd, str(path)], env, env.get("PGPASSWORD"))
    else:
        if head != SQLITE_MAGIC:
            raise BackupError(
                f"{path} is not an SQLite database file; DATABASE_URL is an SQLite database"
            )
        target = _sqlite_file(db)
        if not target.parent.is_dir():
            raise BackupError(f"the directory {target.parent} does not exist")
        await asyncio.to_thread(_sqlite_copy, path, target)
    return BackupReport(db.backend, path, _size(path))


def _sqlite_copy(source: Path, target: Path) -> None:
    """The online backup API: a consistent snapshot of ``source`` written into ``target``."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(target, timeout=30)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"SQLite copy {source} -> {target} failed: {exc}") from None
