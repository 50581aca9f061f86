"""Broadcasts (0013): an admin's message to every user, resumable without sending anyone twice.

Recipients go in ascending ``"User".id``. Before each send the runner claims the user by
compare-and-set on ``cursor`` (``UPDATE ... WHERE cursor = previous``): of two runners (replicas
resuming at once) one wins each user, and a restart resumes after the last claim. The trade-off,
as for the order outbox: a process killed between a claim and its send loses that one message;
nobody ever gets it twice. A send given up at stop gives its claim back (``release``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select, update

from sniper_bot.storage.database import Database
from sniper_bot.storage.models import BroadcastRow, UserRow

from .base import Clock, utcnow

__all__ = ["BroadcastRecord", "BroadcastRepository", "Outcome"]

Outcome = Literal["sent", "blocked", "failed"]


@dataclass(frozen=True, slots=True)
class BroadcastRecord:
    id: int
    text: str
    created_by: int
    status: str  # RUNNING | DONE
    total: int
    cursor: int
    sent: int
    blocked: int
    failed: int


def _record(row: BroadcastRow) -> BroadcastRecord:
    return BroadcastRecord(row.id, row.message, row.created_by, row.status, row.total, row.cursor,
                           row.sent, row.blocked, row.failed)  # fmt: skip


class BroadcastRepository:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def create(self, text: str, *, by: int) -> BroadcastRecord:
        async with self._db.session() as session:
            total = await session.scalar(select(func.count()).select_from(UserRow))
            row = BroadcastRow(message=text, created_by=by, status="RUNNING", total=int(total or 0),
                               cursor=0, sent=0, blocked=0, failed=0)  # fmt: skip
            session.add(row)
            await session.flush()
            return _record(row)

    async def get(self, broadcast_id: int) -> BroadcastRecord | None:
        async with self._db.session() as session:
            row = await session.get(BroadcastRow, broadcast_id)
            return None if row is None else _record(row)

    async def running(self) -> list[BroadcastRecord]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(BroadcastRow)
                .where(BroadcastRow.status == "RUNNING")
                .order_by(BroadcastRow.id)
            )
            return [_record(r) for r in rows]

    async def latest(self) -> BroadcastRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(BroadcastRow).order_by(BroadcastRow.id.desc()).limit(1)
            )
            return None if row is None else _record(row)

    async def recipients(self, after_user_id: int, limit: int = 100) -> list[tuple[int, int]]:
        """(user id, Telegram id) of the next users after ``after_user_id``, ascending."""
        async with self._db.session() as session:
            rows = await session.execute(
                select(UserRow.id, UserRow.telegram_id)
                .where(UserRow.id > after_user_id)
                .order_by(UserRow.id)
                .limit(limit)
            )
            return [(int(a), int(b)) for a, b in rows]

    async def claim(self, broadcast_id: int, previous: int, user_id: int) -> bool:
        """Move the cursor from ``previous`` to ``user_id``; False when someone else moved it."""
        return await self._move(broadcast_id, previous, user_id)

    async def release(self, broadcast_id: int, user_id: int, previous: int) -> bool:
        """Give a claim back (its send was given up at stop): the next run sends to that user."""
        return await self._move(broadcast_id, user_id, previous)

    async def _move(self, broadcast_id: int, expected: int, to: int) -> bool:
        async with self._db.session() as session:
            result = await session.execute(
                update(BroadcastRow)
                .where(
                    BroadcastRow.id == broadcast_id,
                    BroadcastRow.cursor == expected,
                    BroadcastRow.status == "RUNNING",
                )
                .values(cursor=to)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def count(self, broadcast_id: int, outcome: Outcome) -> None:
        column = {"sent": BroadcastRow.sent, "blocked": BroadcastRow.blocked,
                  "failed": BroadcastRow.failed}[outcome]  # fmt: skip
        async with self._db.session() as session:
            await session.execute(
                update(BroadcastRow)
                .where(BroadcastRow.id == broadcast_id)
                .values({column: column + 1})
            )

    async def finish(self, broadcast_id: int) -> BroadcastRecord | None:
        """RUNNING -> DONE once; None when it was already done (another runner finished it)."""
        async with self._db.session() as session:
            row = await session.scalar(
                update(BroadcastRow)
                .where(BroadcastRow.id == broadcast_id, BroadcastRow.status == "RUNNING")
                .values(status="DONE", finished_at=self._clock())
                .returning(BroadcastRow)
            )
            return None if row is None else _record(row)
