"""``"CopyFollow"`` and ``"CopyTrade"`` (``storage.models.CopyFollowRow`` / ``CopyTradeRow``).

A follow is ACTIVE until ``remove`` (scoped by the user: another user's follow is reported like a
missing one). Each leader trade seen for a follow is claimed once: ``claim_buy`` / ``claim_sell``
insert its ``"CopyTrade"`` row unique per (follow, leader signature) in one transaction, the buy
after reading the day's spend under a lock of the follow row (PostgreSQL ``FOR UPDATE``; SQLite
serialises writers), so two replicas or a replay never mirror one trade twice nor overrun the
day's limit together. A claim that finds the row returns it with ``created=False``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sniper_bot.domain.copy import (
    CopyDecision,
    CopyFollow,
    CopyMode,
    CopyStatus,
    CopyTradeRecord,
)
from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.orders import OrderSide
from sniper_bot.storage.errors import NotFound
from sniper_bot.storage.models import CopyFollowRow, CopyTradeRow, WalletRow
from sniper_bot.storage.repositories.base import (
    Repository,
    compare_and_set,
    entity_of,
    insert_owned,
)

__all__ = ["NO_SUCH_FOLLOW_SENTENCE", "CopyRepository", "day_of", "to_follow"]

NO_SUCH_FOLLOW_SENTENCE = "No such followed wallet. Send /copy list to see yours."
PLACED, SKIPPED, FAILED = "PLACED", "SKIPPED", "FAILED"
_MAX_ERROR_CHARS = 500


def day_of(at: datetime) -> str:
    """The UTC day a spend counts for."""
    return at.date().isoformat()


def to_follow(row: CopyFollowRow) -> CopyFollow:
    return entity_of(
        CopyFollow, row, leader=row.leader_wallet, mode=CopyMode(row.mode),
        priority_fee=FeeLevel(row.priority_fee), status=CopyStatus(row.status),
    )  # fmt: skip


def to_record(row: CopyTradeRow) -> CopyTradeRecord:
    return CopyTradeRecord(
        id=row.id,
        follow_id=row.follow_id,
        leader_signature=row.leader_signature,
        token_mint=row.token_mint,
        is_buy=OrderSide(row.side) is OrderSide.BUY,
        lamports=row.lamports,
        token_amount=row.token_amount,
        day=row.day,
        status=row.status,
        order_id=row.order_id,
        error=row.error,
    )


class CopyRepository(Repository):
    # -- follows (user-scoped) -------------------------------------------------------------------

    async def create(
        self,
        *,
        user_id: int,
        wallet_id: int,
        leader: str,
        mode: CopyMode,
        size_value: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        max_per_trade: int | None = None,
        max_per_day: int | None = None,
        sell_with_leader: bool = False,
    ) -> CopyFollow:
        """A new ACTIVE follow; ``NotFound`` when the wallet is not the user's."""
        if size_value <= 0 or (mode is CopyMode.BPS and size_value > 10_000):
            raise ValueError(f"bad copy size {size_value} for {mode.value}")
        for cap in (max_per_trade, max_per_day):
            if cap is not None and cap <= 0:
                raise ValueError(f"a copy limit must be positive, got {cap}")
        validate_slippage_bps(slippage_bps)
        now = self._now()
        row = CopyFollowRow(
            user_id=user_id, wallet_id=wallet_id, leader_wallet=leader, mode=mode.value,
            size_value=size_value, max_per_trade=max_per_trade, max_per_day=max_per_day,
            sell_with_leader=sell_with_leader, slippage_bps=slippage_bps,
            priority_fee=priority_fee, status=CopyStatus.ACTIVE.value, created_at=now,
            updated_at=now,
        )  # fmt: skip
        return await insert_owned(self._db, row, WalletRow, to_follow)

    async def list_for_user(self, user_id: int) -> list[CopyFollow]:
        """The user's ACTIVE follows, oldest first."""
        stmt = (
            select(CopyFollowRow)
            .where(
                CopyFollowRow.user_id == user_id,
                CopyFollowRow.status == CopyStatus.ACTIVE.value,
            )
            .order_by(CopyFollowRow.id)
        )
        async with self._db.session() as session:
            return [to_follow(r) for r in await session.scalars(stmt)]

    async def remove(self, user_id: int, follow_id: int) -> CopyFollow:
        """ACTIVE -> REMOVED; ``NotFound`` for a missing, removed or another user's follow."""

        def missing(_: object = None) -> NotFound:  # a removed follow: as a missing one
            return NotFound(
                f"follow {follow_id} not found for user {user_id}",
                user_message=NO_SUCH_FOLLOW_SENTENCE,
                follow_id=follow_id,
                user_id=user_id,
            )

        scope = [CopyFollowRow.id == follow_id, CopyFollowRow.user_id == user_id]
        row = await compare_and_set(
            self._db, CopyFollowRow, scope, CopyStatus.ACTIVE.value,
            {"status": CopyStatus.REMOVED.value, "updated_at": self._now()},
            missing=missing, stale=missing,
        )  # fmt: skip
        return to_follow(row)

    # -- the copy trader (internal: never call with user input) -----------------------------------

    async def list_active(self, limit: int = 100_000) -> list[CopyFollow]:
        stmt = (
            select(CopyFollowRow)
            .where(CopyFollowRow.status == CopyStatus.ACTIVE.value)
            .order_by(CopyFollowRow.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            return [to_follow(r) for r in await session.scalars(stmt)]

    async def spent_on(self, follow_id: int, day: str) -> int:
        """Lamports of the follow's PLACED copied buys on ``day``."""
        async with self._db.session() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(CopyTradeRow.lamports), 0)).where(
                    CopyTradeRow.follow_id == follow_id,
                    CopyTradeRow.day == day,
                    CopyTradeRow.side == OrderSide.BUY,
                    CopyTradeRow.status == PLACED,
                )
            )
            return int(total or 0)

    async def get_trade(self, follow_id: int, signature: str) -> CopyTradeRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(CopyTradeRow).where(
                    CopyTradeRow.follow_id == follow_id,
                    CopyTradeRow.leader_signature == signature,
                )
            )
            return to_record(row) if row else None

    async def claim_buy(
        self,
        follow_id: int,
        signature: str,
        mint: str,
        decide: Callable[[int], CopyDecision],
    ) -> tuple[CopyTradeRecord, bool]:
        """The buy's row: PLACED with ``decide(spent today)``'s lamports, or SKIPPED with its
        reason; ``(existing, False)`` when this leader trade was claimed before."""
        day = day_of(self._now())
        try:
            async with self._db.session() as session:
                await session.execute(  # the follow's buys one at a time (PostgreSQL)
                    select(CopyFollowRow.id).where(CopyFollowRow.id == follow_id).with_for_update()
                )
                existing = await self._trade_in(session, follow_id, signature)
                if existing is not None:
                    return to_record(existing), False
                spent = await session.scalar(
                    select(func.coalesce(func.sum(CopyTradeRow.lamports), 0)).where(
                        CopyTradeRow.follow_id == follow_id,
                        CopyTradeRow.day == day,
                        CopyTradeRow.side == OrderSide.BUY,
                        CopyTradeRow.status == PLACED,
                    )
                )
                decision = decide(int(spent or 0))
                row = self._row(
                    follow_id, signature, mint, OrderSide.BUY, day,
                    lamports=decision.lamports, reason=decision.reason,
                )  # fmt: skip
                session.add(row)
                await session.flush()
                return to_record(row), True
        except IntegrityError:  # a concurrent claim of the same trade won
            return await self._existing(follow_id, signature), False

    async def claim_sell(
        self, follow_id: int, signature: str, mint: str, tokens: int, reason: str | None
    ) -> tuple[CopyTradeRecord, bool]:
        """The sell's row: PLACED for ``tokens`` (> 0), else SKIPPED with ``reason``."""
        day = day_of(self._now())
        try:
            async with self._db.session() as session:
                existing = await self._trade_in(session, follow_id, signature)
                if existing is not None:
                    return to_record(existing), False
                row = self._row(
                    follow_id, signature, mint, OrderSide.SELL, day,
                    tokens=tokens, reason=reason if tokens <= 0 else None,
                )  # fmt: skip
                session.add(row)
                await session.flush()
                return to_record(row), True
        except IntegrityError:
            return await self._existing(follow_id, signature), False

    async def list_unordered(self, older_than: timedelta) -> list[CopyTradeRecord]:
        """PLACED without an order for longer than ``older_than``: a crash between the claim and
        the order (the copy trader resubmits the same key: one order whatever happened)."""
        stmt = (
            select(CopyTradeRow)
            .where(
                CopyTradeRow.status == PLACED,
                CopyTradeRow.order_id.is_(None),
                CopyTradeRow.created_at <= self._now() - older_than,
            )
            .order_by(CopyTradeRow.id)
            .limit(100)
        )
        async with self._db.session() as session:
            return [to_record(r) for r in await session.scalars(stmt)]

    async def get_follow(self, follow_id: int) -> CopyFollow | None:
        async with self._db.session() as session:
            row = await session.get(CopyFollowRow, follow_id)
            return to_follow(row) if row else None

    async def attach_order(self, trade_id: int, order_id: str) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(CopyTradeRow).where(CopyTradeRow.id == trade_id).values(order_id=order_id)
            )

    async def mark_failed(self, trade_id: int, error: str) -> None:
        """Refused at submit (risk check, balance): no longer counted in the day's spend."""
        async with self._db.session() as session:
            await session.execute(
                update(CopyTradeRow)
                .where(CopyTradeRow.id == trade_id)
                .values(status=FAILED, error=error[:_MAX_ERROR_CHARS])
            )

    # -- helpers ---------------------------------------------------------------------------------

    def _row(
        self, follow_id: int, signature: str, mint: str, side: OrderSide, day: str, *,
        lamports: int = 0, tokens: int = 0, reason: str | None = None,
    ) -> CopyTradeRow:  # fmt: skip
        placed = (lamports if side is OrderSide.BUY else tokens) > 0
        return CopyTradeRow(
            follow_id=follow_id, leader_signature=signature, token_mint=mint, side=side,
            lamports=max(0, lamports), token_amount=max(0, tokens), day=day,
            status=PLACED if placed else SKIPPED,
            error=None if placed else (reason or "nothing to copy")[:_MAX_ERROR_CHARS],
            created_at=self._now(),
        )  # fmt: skip

    @staticmethod
    async def _trade_in(
        session: AsyncSession, follow_id: int, signature: str
    ) -> CopyTradeRow | None:
        row: CopyTradeRow | None = await session.scalar(
            select(CopyTradeRow).where(
                CopyTradeRow.follow_id == follow_id, CopyTradeRow.leader_signature == signature
            )
        )
        return row

    async def _existing(self, follow_id: int, signature: str) -> CopyTradeRecord:
        found = await self.get_trade(follow_id, signature)
        if found is None:  # pragma: no cover - the conflicting row cannot vanish
            raise RuntimeError("copy claim conflicted with a row that is gone")
        return found
