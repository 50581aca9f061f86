"""Creator outcomes derived from ``"HoneypotCheck"`` rows (no table of its own).

Every stored report on a pump.fun coin names its creator in a finding's evidence (``dev_holding``,
``dev_sold``, the ``creator`` layer's findings, the hot path's decisions); a ``dev_sold`` finding
means the creator emptied its account: a rug. ``safety.creators.CreatorReputation.refresh`` reads
these at start and in the background, so a restart remembers the ruggers the bot judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from sniper_bot.storage.models import HoneypotCheckRow

from .base import Repository

__all__ = ["CreatorHistoryRepository", "CreatorOutcome", "outcome_of"]

_CREATOR_CODES = frozenset({"dev_holding", "dev_sold", "launchpad_unchecked"})
_RUG_CODES = frozenset({"dev_sold"})


@dataclass(frozen=True, slots=True)
class CreatorOutcome:
    creator: str
    mint: str
    rugged: bool


def outcome_of(mint: str, details: Any) -> CreatorOutcome | None:
    """The creator and rug verdict one stored report gives (None: it names no creator)."""
    if not isinstance(details, dict):
        return None
    findings = details.get("findings")
    if not isinstance(findings, list):
        return None
    creator: str | None = None
    rugged = False
    for item in findings:
        if not isinstance(item, dict):
            continue
        code = item.get("code")
        evidence = item.get("evidence")
        if code in _CREATOR_CODES and isinstance(evidence, dict):
            named = evidence.get("creator")
            if isinstance(named, str) and named:
                creator = creator or named
        rugged = rugged or code in _RUG_CODES
    return None if creator is None else CreatorOutcome(creator, mint, rugged)


class CreatorHistoryRepository(Repository):
    async def outcomes(self, since: datetime, limit: int) -> list[CreatorOutcome]:
        """Outcomes of the newest ``limit`` reports checked after ``since``, one per mint (a
        rug verdict in any of its reports wins)."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        stmt = (
            select(HoneypotCheckRow.token_mint, HoneypotCheckRow.details)
            .where(HoneypotCheckRow.checked_at > since)
            .order_by(HoneypotCheckRow.checked_at.desc(), HoneypotCheckRow.id.desc())
            .limit(limit)
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        found: dict[str, CreatorOutcome] = {}
        for mint, details in rows:
            outcome = outcome_of(mint, details)
            if outcome is None:
                continue
            known = found.get(mint)
            if known is None or (outcome.rugged and not known.rugged):
                found[mint] = outcome
        return list(found.values())
