"""``"HoneypotCheck"``: every risk verdict, newest wins (the runbook queries it by token_mint)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from sniper_bot.domain.entities import HoneypotCheckRecord
from sniper_bot.storage.models import HoneypotCheckRow

from .base import Repository

__all__ = ["HoneypotCheckRepository"]


def to_record(row: HoneypotCheckRow) -> HoneypotCheckRecord:
    return HoneypotCheckRecord(
        id=row.id,
        token_mint=row.token_mint,
        risk_score=row.risk_score,
        is_honeypot=row.is_honeypot,
        details=row.details,
        checked_at=row.checked_at,
    )


class HoneypotCheckRepository(Repository):
    async def save(
        self, mint: str, score: int, is_honeypot: bool, details: Mapping[str, Any]
    ) -> HoneypotCheckRecord:
        if not 0 <= score <= 100:
            raise ValueError(f"risk score must be 0..100, got {score}")
        async with self._db.session() as session:
            row = HoneypotCheckRow(
                token_mint=mint,
                risk_score=score,
                is_honeypot=is_honeypot,
                details=dict(details),
                checked_at=self._now(),
            )
            session.add(row)
            await session.flush()
            return to_record(row)

    async def latest(
        self, mint: str, newer_than: datetime | None = None
    ) -> HoneypotCheckRecord | None:
        """The most recent check of ``mint`` (optionally only one made after ``newer_than``)."""
        stmt = select(HoneypotCheckRow).where(HoneypotCheckRow.token_mint == mint)
        if newer_than is not None:
            stmt = stmt.where(HoneypotCheckRow.checked_at > newer_than)
        stmt = stmt.order_by(HoneypotCheckRow.checked_at.desc(), HoneypotCheckRow.id.desc())
        async with self._db.session() as session:
            row = await session.scalar(stmt.limit(1))
            return to_record(row) if row else None
