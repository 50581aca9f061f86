"""Shared plumbing for repositories: the injected clock and dialect-aware upserts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sniper_bot.storage.database import Database

__all__ = ["Clock", "Repository", "by_column", "insert_for", "utcnow"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def by_column(model: Any, values: Mapping[str, Any]) -> dict[Any, Any]:
    """Attribute-name keys to Column keys (``ON CONFLICT DO UPDATE SET`` wants column names)."""
    mapper = inspect(model)
    return {mapper.attrs[name].columns[0]: value for name, value in values.items()}


def insert_for(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` with ``on_conflict_do_*`` for the session's dialect (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class Repository:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the repository clock must return aware UTC datetimes")
        return now
