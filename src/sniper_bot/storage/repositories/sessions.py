"""``"Session"``: the durable session store used when Redis is absent or down."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from sniper_bot.domain.entities import SessionRecord
from sniper_bot.storage.models import SessionRow

from .base import Repository, by_column, insert_for

__all__ = ["SessionRepository"]


def to_session(row: SessionRow) -> SessionRecord:
    return SessionRecord(key=row.id, user_id=row.user_id, data=row.data, expires_at=row.expires_at)


class SessionRepository(Repository):
    async def get(self, key: str) -> SessionRecord | None:
        """The live session for ``key``; an expired one reads as absent."""
        async with self._db.session() as session:
            row = await session.scalar(
                select(SessionRow).where(SessionRow.id == key, SessionRow.expires_at > self._now())
            )
            return to_session(row) if row else None

    async def set(
        self, key: str, user_id: int | None, data: Mapping[str, Any], ttl_s: float
    ) -> SessionRecord:
        if ttl_s <= 0:
            raise ValueError(f"session ttl must be positive, got {ttl_s}")
        expires = self._now() + timedelta(seconds=ttl_s)
        values = {"user_id": user_id, "data": dict(data), "expires_at": expires}
        async with self._db.session() as session:
            stmt = insert_for(session, SessionRow).values(id=key, **values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[SessionRow.id], set_=by_column(SessionRow, values)
            )
            await session.execute(stmt)
        return SessionRecord(key=key, user_id=user_id, data=dict(data), expires_at=expires)

    async def delete(self, key: str) -> bool:
        async with self._db.session() as session:
            result = await session.execute(
                delete(SessionRow).where(SessionRow.id == key).returning(SessionRow.id)
            )
            return result.scalar_one_or_none() is not None

    async def purge_expired(self, now: datetime) -> int:
        """Delete sessions that expired at or before ``now``; returns how many."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(SessionRow).where(SessionRow.expires_at <= now).returning(SessionRow.id)
            )
            return len(result.all())
