"""``"Session"``: the durable session store, the source of truth for conversation state.

Every write sets ``version`` to a hybrid timestamp: the clock in microseconds, or the previous
version + 1 when that is higher, so versions only grow per key, also across an expiry and a purge
(a Redis copy made before a purge can never look newer than what is written after it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from sniper_bot.domain.entities import SessionRecord
from sniper_bot.storage.models import SessionRow

from .base import Repository, insert_for

__all__ = ["SessionRepository"]


def to_session(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        key=row.id,
        user_id=row.user_id,
        data=row.data,
        expires_at=row.expires_at,
        version=row.version,
    )


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
        """Write ``data`` whatever is there (last writer wins); bumps the version."""
        for _ in range(16):
            _, version = await self.load(key)
            record = await self.swap(key, version, data, ttl_s, user_id=user_id)
            if record is not None:
                return record
        raise RuntimeError(f"session {key!r} kept changing under 16 writes in a row")

    async def load(self, key: str) -> tuple[SessionRecord | None, int]:
        """``(live session or None, version of the row)``: an expired row reads as absent but
        still has a version, which the next write must go beyond (0 when there is no row)."""
        async with self._db.session() as session:
            row = await session.scalar(select(SessionRow).where(SessionRow.id == key))
            if row is None:
                return None, 0
            live = to_session(row) if row.expires_at > self._now() else None
            return live, row.version

    async def swap(
        self,
        key: str,
        expected_version: int,
        data: Mapping[str, Any],
        ttl_s: float,
        *,
        user_id: int | None = None,
    ) -> SessionRecord | None:
        """Compare-and-set: write ``data`` only if the row's version is still ``expected_version``
        (0: no row). Returns the new record, or None when another write came first."""
        if ttl_s <= 0:
            raise ValueError(f"session ttl must be positive, got {ttl_s}")
        now = self._now()
        version = max(expected_version + 1, int(now.timestamp() * 1_000_000))
        expires = now + timedelta(seconds=ttl_s)
        values = {"user_id": user_id, "data": dict(data), "expires_at": expires, "version": version}
        async with self._db.session() as session:
            if expected_version == 0:
                stmt = (
                    insert_for(session, SessionRow)
                    .values(id=key, **values)
                    .on_conflict_do_nothing(index_elements=[SessionRow.id])
                    .returning(SessionRow.id)
                )
            else:
                stmt = (
                    update(SessionRow)
                    .where(SessionRow.id == key, SessionRow.version == expected_version)
                    .values(**values)
                    .returning(SessionRow.id)
                )
            if (await session.execute(stmt)).scalar_one_or_none() is None:
                return None
        return SessionRecord(
            key=key, user_id=user_id, data=dict(data), expires_at=expires, version=version
        )

    async def scan(self, prefix: str) -> list[SessionRecord]:
        """Every live session whose key starts with ``prefix``."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(SessionRow).where(
                    SessionRow.id.startswith(prefix, autoescape=True),
                    SessionRow.expires_at > self._now(),
                )
            )
            return [to_session(row) for row in rows]

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
