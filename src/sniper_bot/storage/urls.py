"""``DATABASE_URL`` parsing: accept the forms operators paste, reject the rest clearly.

Accepted: ``postgresql+asyncpg://``, ``postgresql://`` and ``postgres://`` (converted to asyncpg),
``sqlite+aiosqlite:///path`` and ``sqlite:///path`` (converted to aiosqlite). Prisma-style query
parameters from the runbook (``schema``, ``connection_limit``) are understood; ``sslmode`` becomes
asyncpg's ``ssl``. Error messages never contain the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sniper_bot.errors import ConfigError

__all__ = ["DatabaseUrl", "default_sqlite_url", "parse_database_url"]

Backend = Literal["postgresql", "sqlite"]

ACCEPTED = (
    "postgresql+asyncpg://user:password@host:5432/dbname, postgresql://..., postgres://..., "
    "or sqlite+aiosqlite:////absolute/path/sniper-bot.sqlite"
)
_PG_SCHEMES = {"postgresql+asyncpg", "postgresql", "postgres"}
_SQLITE_SCHEMES = {"sqlite+aiosqlite", "sqlite"}
_PG_PASSTHROUGH = {"ssl", "prepared_statement_cache_size", "command_timeout"}
_PG_DROPPED = {"connection_limit", "pool_timeout", "connect_timeout", "pgbouncer", "schema"}
DEFAULT_SQLITE_NAME = "sniper-bot.sqlite"


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    url: URL = field(repr=False)
    backend: Backend
    pool_size_hint: int | None = None  # from ``?connection_limit=`` (Prisma style)
    search_path: str | None = None  # from ``?schema=`` when it is not "public"

    @property
    def safe(self) -> str:
        """The URL with the password masked, fit for logs and error messages."""
        return self.url.render_as_string(hide_password=True)

    @property
    def host_port(self) -> str:
        return f"{self.url.host or 'localhost'}:{self.url.port or 5432}"

    @property
    def sqlite_path(self) -> Path | None:
        if self.backend != "sqlite" or not self.url.database or self.url.database == ":memory:":
            return None
        return Path(self.url.database)


def _problem(problem: str) -> ConfigError:
    return ConfigError(f"DATABASE_URL is invalid: {problem}. Use one of: {ACCEPTED}")


def parse_database_url(raw: str) -> DatabaseUrl:
    """Parse and normalise ``DATABASE_URL``; raises ``ConfigError`` naming the problem."""
    text = raw.strip()
    if not text:
        raise _problem("it is empty")
    if "://" not in text:
        raise _problem("it has no scheme (the part before ://)")
    scheme = text.split("://", 1)[0].lower()
    if scheme not in _PG_SCHEMES | _SQLITE_SCHEMES:
        raise _problem(f"the scheme {scheme!r} is not supported")
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise _problem("it could not be parsed") from None
    if scheme in _SQLITE_SCHEMES:
        return _sqlite(url)
    return _postgres(url)


def _sqlite(url: URL) -> DatabaseUrl:
    if not url.database:
        raise _problem("the SQLite URL has no file path (sqlite+aiosqlite:///path/file.sqlite)")
    return DatabaseUrl(url=url.set(drivername="sqlite+aiosqlite"), backend="sqlite")


def _postgres(url: URL) -> DatabaseUrl:
    if not url.host:
        raise _problem("the PostgreSQL URL has no host")
    if not url.database:
        raise _problem("the PostgreSQL URL has no database name after the host")
    query: dict[str, str] = {}
    pool_hint: int | None = None
    search_path: str | None = None
    for key, value in url.query.items():
        single = value if isinstance(value, str) else value[-1]
        if key == "connection_limit":
            if not single.isdigit() or int(single) < 1:
                raise _problem(f"connection_limit must be a positive integer, got {single!r}")
            pool_hint = int(single)
        elif key == "schema":
            search_path = None if single == "public" else single
        elif key == "sslmode":
            query["ssl"] = single
        elif key in _PG_PASSTHROUGH:
            query[key] = single
        elif key not in _PG_DROPPED:
            raise _problem(f"the query parameter {key!r} is not supported")
    normalised = url.set(drivername="postgresql+asyncpg", query=query)
    return DatabaseUrl(
        url=normalised, backend="postgresql", pool_size_hint=pool_hint, search_path=search_path
    )


def default_sqlite_url(data_dir: Path) -> str:
    """The embedded default database: ``<data_dir>/sniper-bot.sqlite``."""
    return f"sqlite+aiosqlite:///{(data_dir / DEFAULT_SQLITE_NAME).resolve()}"
