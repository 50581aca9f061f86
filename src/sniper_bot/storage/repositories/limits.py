"""``"LimitOrder"`` (``storage.models.LimitOrderRow``): limit buys and sells waiting for a price.

Every state change is a compare-and-set on the status (``UPDATE ... WHERE id AND status =
expected RETURNING``): of two replicas that see the same trigger, exactly one ``claim`` wins
(OPEN -> FIRED) and submits the order (key ``limit:<id>``); ``attach_order`` then records which
order it was. User-facing reads and ``cancel`` are scoped by the user id; another user's order
is reported like a missing one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.limits import LimitOrder, LimitStatus, TriggerKind
from sniper_bot.domain.orders import OrderSide
from sniper_bot.errors import PermanentError
from sniper_bot.storage.errors import NotFound
from sniper_bot.storage.models import LimitOrderRow, WalletRow
from sniper_bot.storage.repositories.base import (
    Repository,
    compare_and_set,
    entity_of,
    insert_owned,
)

__all__ = [
    "NO_SUCH_LIMIT_SENTENCE",
    "LimitNotOpen",
    "LimitOrderRepository",
    "StaleLimitState",
    "to_limit",
]

NO_SUCH_LIMIT_SENTENCE = "No such limit order. Send /orders to see yours."
_MAX_ERROR_CHARS = 500


def to_limit(row: LimitOrderRow) -> LimitOrder:
    return entity_of(
        LimitOrder, row, side=OrderSide(row.side), trigger_kind=TriggerKind(row.trigger_kind),
        priority_fee=FeeLevel(row.priority_fee), status=LimitStatus(row.status),
        order_id=row.order_id or row.paper_order_id, paper=bool(row.paper),
    )  # fmt: skip


class StaleLimitState(Exception):
    """The order is no longer in the status a compare-and-set expected (another replica won)."""

    def __init__(self, limit_id: int, expected: LimitStatus, actual: LimitStatus) -> None:
        super().__init__(f"limit {limit_id}: expected {expected.value}, is {actual.value}")
        self.actual = actual


class LimitNotOpen(PermanentError):
    """A cancel of an order that already fired, expired or was cancelled."""

    def __init__(self, order: LimitOrder) -> None:
        super().__init__(
            f"limit {order.id} is {order.status.value}",
            user_message=f"Limit order #{order.id} is already {order.status.value.lower()}; "
            "only an open one can be cancelled.",
        )
        self.order = order


class LimitOrderRepository(Repository):
    async def create(
        self,
        *,
        user_id: int,
        wallet_id: int,
        token_mint: str,
        side: OrderSide,
        trigger_kind: TriggerKind,
        trigger_value: int,
        decimals: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        expires_at: datetime,
        amount_lamports: int | None = None,
        sell_pct: int | None = None,
        paper: bool = False,
    ) -> LimitOrder:
        """A new OPEN order; ``NotFound`` when the wallet is not the user's."""
        if trigger_value <= 0:
            raise ValueError(f"trigger value must be positive, got {trigger_value}")
        if side is OrderSide.BUY and (amount_lamports is None or amount_lamports <= 0):
            raise ValueError(f"a limit buy needs positive lamports, got {amount_lamports}")
        if side is OrderSide.SELL and (sell_pct is None or not 1 <= sell_pct <= 100):
            raise ValueError(f"a limit sell needs a percentage 1..100, got {sell_pct}")
        validate_slippage_bps(slippage_bps)
        now = self._now()
        row = LimitOrderRow(
            user_id=user_id,
            wallet_id=wallet_id,
            token_mint=token_mint,
            side=side,
            trigger_kind=trigger_kind,
            trigger_value=trigger_value,
            amount_lamports=amount_lamports if side is OrderSide.BUY else None,
            sell_pct=sell_pct if side is OrderSide.SELL else None,
            decimals=decimals,
            slippage_bps=slippage_bps,
            priority_fee=priority_fee,
            status=LimitStatus.OPEN,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
            paper=paper,
        )
        return await insert_owned(self._db, row, WalletRow, to_limit)

    # -- user-scoped -----------------------------------------------------------------------------

    async def get(self, user_id: int, limit_id: int) -> LimitOrder | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(LimitOrderRow).where(
                    LimitOrderRow.id == limit_id, LimitOrderRow.user_id == user_id
                )
            )
            return to_limit(row) if row else None

    async def list_for_user(
        self, user_id: int, statuses: tuple[LimitStatus, ...] | None = None, limit: int = 20
    ) -> list[LimitOrder]:
        """Newest first."""
        stmt = select(LimitOrderRow).where(LimitOrderRow.user_id == user_id)
        if statuses is not None:
            stmt = stmt.where(LimitOrderRow.status.in_(list(statuses)))
        stmt = stmt.order_by(LimitOrderRow.id.desc()).limit(limit)
        async with self._db.session() as session:
            return [to_limit(r) for r in await session.scalars(stmt)]

    async def count_open_for_user(self, user_id: int) -> int:
        return len(await self.list_for_user(user_id, (LimitStatus.OPEN,), limit=1_000))

    async def cancel(self, user_id: int, limit_id: int) -> LimitOrder:
        """OPEN -> CANCELLED; ``NotFound`` (missing or another user's), ``LimitNotOpen``."""
        try:
            return await self._cas(
                limit_id, LimitStatus.OPEN, {"status": LimitStatus.CANCELLED}, user_id=user_id
            )
        except NotFound:
            raise NotFound(
                f"limit {limit_id} not found for user {user_id}",
                user_message=NO_SUCH_LIMIT_SENTENCE,
                limit_id=limit_id,
                user_id=user_id,
            ) from None
        except StaleLimitState:
            current = await self.get(user_id, limit_id)
            if current is None:  # pragma: no cover - deleted between the two reads
                raise
            raise LimitNotOpen(current) from None

    # -- monitor (internal: never call with user input) ------------------------------------------

    async def get_by_id(self, limit_id: int) -> LimitOrder | None:
        async with self._db.session() as session:
            row = await session.get(LimitOrderRow, limit_id)
            return to_limit(row) if row else None

    async def list_open(self, limit: int = 10_000) -> list[LimitOrder]:
        stmt = (
            select(LimitOrderRow)
            .where(LimitOrderRow.status == LimitStatus.OPEN)
            .order_by(LimitOrderRow.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            return [to_limit(r) for r in await session.scalars(stmt)]

    async def list_fired_without_order(self, older_than: timedelta) -> list[LimitOrder]:
        """Claimed but no order recorded, for longer than ``older_than``: a crash between the
        claim and the order (the monitor resubmits the same key: one order whatever happened)."""
        before = self._now() - older_than
        stmt = (
            select(LimitOrderRow)
            .where(
                LimitOrderRow.status == LimitStatus.FIRED,
                LimitOrderRow.order_id.is_(None),
                LimitOrderRow.paper_order_id.is_(None),
                LimitOrderRow.fired_at <= before,
            )
            .order_by(LimitOrderRow.id)
        )
        async with self._db.session() as session:
            return [to_limit(r) for r in await session.scalars(stmt)]

    async def claim(self, limit_id: int) -> LimitOrder:
        """OPEN -> FIRED (the one winner submits the order); ``StaleLimitState`` otherwise."""
        now = self._now()
        return await self._cas(
            limit_id, LimitStatus.OPEN, {"status": LimitStatus.FIRED, "fired_at": now}
        )

    async def attach_order(self, limit_id: int, order_id: str) -> LimitOrder:
        column = "paper_order_id" if order_id.startswith("paper:") else "order_id"
        return await self._cas(limit_id, LimitStatus.FIRED, {column: order_id})

    async def mark_failed(self, limit_id: int, error: str) -> LimitOrder:
        """FIRED -> FAILED: refused before any order existed (no position to sell...)."""
        return await self._cas(
            limit_id,
            LimitStatus.FIRED,
            {"status": LimitStatus.FAILED, "error": error[:_MAX_ERROR_CHARS]},
        )

    async def expire_due(self, now: datetime | None = None) -> list[LimitOrder]:
        """Every OPEN order past its ``expiresAt`` -> EXPIRED, in one statement."""
        at = now or self._now()
        async with self._db.session() as session:
            rows = await session.scalars(
                update(LimitOrderRow)
                .where(LimitOrderRow.status == LimitStatus.OPEN, LimitOrderRow.expires_at <= at)
                .values(status=LimitStatus.EXPIRED, updated_at=at)
                .returning(LimitOrderRow)
            )
            return [to_limit(r) for r in rows]

    async def _cas(
        self,
        limit_id: int,
        expected: LimitStatus,
        values: dict[str, Any],
        *,
        user_id: int | None = None,
    ) -> LimitOrder:
        scope = [LimitOrderRow.id == limit_id]
        if user_id is not None:
            scope.append(LimitOrderRow.user_id == user_id)
        row = await compare_and_set(
            self._db, LimitOrderRow, scope, expected, {**values, "updated_at": self._now()},
            missing=lambda: NotFound(f"limit {limit_id} does not exist", limit_id=limit_id),
            stale=lambda actual: StaleLimitState(limit_id, expected, LimitStatus(actual)),
        )  # fmt: skip
        return to_limit(row)
