"""``"Trade"`` and ``"Position"``: a landed swap is recorded and applied to the position in ONE
transaction, with average-cost accounting (``sniper_bot.domain.entities.apply_fill``).

Recording is idempotent per order (``"Trade"."orderId"`` is unique): recovery may call
``record_trade`` again for an order whose trade is already stored, and the position is not
touched twice.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sniper_bot.domain.entities import (
    Position,
    PositionStatus,
    PositionTotals,
    Trade,
    apply_fill,
)
from sniper_bot.domain.exits import ExitRule, rule_from_json, rule_to_json
from sniper_bot.domain.orders import OrderSide
from sniper_bot.storage.errors import NotFound
from sniper_bot.storage.models import PositionRow, SniperOrderRow, TradeRow

from .base import Repository

__all__ = ["PositionRepository", "TradeRepository"]


def to_position(row: PositionRow) -> Position:
    return Position(
        id=row.id,
        user_id=row.user_id,
        wallet_id=row.wallet_id,
        token_mint=row.token_mint,
        token_amount=row.token_amount,
        cost_basis_lamports=row.cost_basis_lamports,
        realized_pnl_lamports=row.realized_pnl_lamports,
        status=PositionStatus(row.status),
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        exit_plan=None if row.exit_plan is None else rule_from_json(row.exit_plan),
    )


def to_trade(row: TradeRow) -> Trade:
    return Trade(
        id=row.id,
        order_id=row.order_id,
        user_id=row.user_id,
        wallet_id=row.wallet_id,
        token_mint=row.token_mint,
        side=OrderSide(row.side),
        in_amount=row.in_amount,
        out_amount=row.out_amount,
        fee_lamports=row.fee_lamports,
        signature=row.signature,
        slot=row.slot,
        created_at=row.created_at,
    )


class TradeRepository(Repository):
    async def record_trade(
        self,
        *,
        order_id: str,
        in_amount: int,
        out_amount: int,
        fee_lamports: int,
        signature: str,
        slot: int | None = None,
    ) -> tuple[Trade, Position]:
        """Store the landed trade of ``order_id`` and apply it to its position, atomically.

        User, wallet, mint and side come from the order row, so a trade cannot be filed under
        the wrong user. Calling it again for the same order returns the stored trade and the
        position unchanged. Two first trades racing to create the same position are retried.
        """
        for attempt in range(3):
            try:
                return await self._record(
                    order_id, in_amount, out_amount, fee_lamports, signature, slot
                )
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _record(
        self,
        order_id: str,
        in_amount: int,
        out_amount: int,
        fee_lamports: int,
        signature: str,
        slot: int | None,
    ) -> tuple[Trade, Position]:
        now = self._now()
        async with self._db.session() as session:
            order = await session.get(SniperOrderRow, order_id, with_for_update=True)
            if order is None:
                raise NotFound(f"order {order_id} does not exist")
            if order.wallet_id is None:
                raise NotFound(f"order {order_id} has no wallet any more (it was deleted)")
            existing = await session.scalar(select(TradeRow).where(TradeRow.order_id == order_id))
            position = await session.scalar(
                select(PositionRow)
                .where(
                    PositionRow.wallet_id == order.wallet_id,
                    PositionRow.token_mint == order.token_mint,
                )
                .with_for_update()
            )
            if existing is not None:
                if position is None:  # pragma: no cover - a stored trade always made a position
                    raise NotFound(f"position for order {order_id} is missing")
                return to_trade(existing), to_position(position)

            side = OrderSide(order.side)
            before = (
                PositionTotals(
                    position.token_amount,
                    position.cost_basis_lamports,
                    position.realized_pnl_lamports,
                )
                if position is not None
                else PositionTotals(0, 0, 0)
            )
            after = apply_fill(before, side, in_amount, out_amount, fee_lamports)
            status = PositionStatus.OPEN if after.is_open else PositionStatus.CLOSED
            if position is None:
                position = PositionRow(
                    user_id=order.user_id,
                    wallet_id=order.wallet_id,
                    token_mint=order.token_mint,
                    opened_at=now,
                )
                session.add(position)
            elif not before.is_open and after.is_open:
                position.opened_at = now  # a closed position re-opens
                position.exit_plan = None  # with the owner's exits again (a new lifetime)
            position.token_amount = after.token_amount
            position.cost_basis_lamports = after.cost_basis_lamports
            position.realized_pnl_lamports = after.realized_pnl_lamports
            position.status = status
            position.updated_at = now

            trade = TradeRow(
                order_id=order_id,
                user_id=order.user_id,
                wallet_id=order.wallet_id,
                token_mint=order.token_mint,
                side=side,
                in_amount=in_amount,
                out_amount=out_amount,
                fee_lamports=fee_lamports,
                signature=signature,
                slot=slot,
                created_at=now,
            )
            session.add(trade)
            await session.flush()
            return to_trade(trade), to_position(position)

    async def list_trades(self, user_id: int, limit: int = 20) -> list[Trade]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(TradeRow)
                .where(TradeRow.user_id == user_id)
                .order_by(TradeRow.created_at.desc(), TradeRow.id.desc())
                .limit(limit)
            )
            return [to_trade(r) for r in rows]

    async def get_for_order(self, user_id: int, order_id: str) -> Trade | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(TradeRow).where(TradeRow.order_id == order_id, TradeRow.user_id == user_id)
            )
            return to_trade(row) if row else None


class PositionRepository(Repository):
    async def get_position(self, user_id: int, wallet_id: int, mint: str) -> Position | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(PositionRow).where(
                    PositionRow.user_id == user_id,
                    PositionRow.wallet_id == wallet_id,
                    PositionRow.token_mint == mint,
                )
            )
            return to_position(row) if row else None

    async def list_open(self, user_id: int) -> list[Position]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(PositionRow)
                .where(PositionRow.user_id == user_id, PositionRow.status == PositionStatus.OPEN)
                .order_by(PositionRow.opened_at, PositionRow.id)
            )
            return [to_position(r) for r in rows]

    async def get_open_by_id(self, user_id: int, position_id: int) -> Position | None:
        """The user's open position ``position_id`` (None: not theirs, unknown, or closed)."""
        async with self._db.session() as session:
            row = await session.get(PositionRow, position_id)
            if row is None or row.user_id != user_id or row.status != PositionStatus.OPEN:
                return None
            return to_position(row)

    async def set_exit_plan(
        self, user_id: int, position_id: int, plan: ExitRule | None
    ) -> Position:
        """Give the user's open position its own exits (``None``: back to the owner's defaults).
        ``NotFound`` when it is not theirs or not open."""
        async with self._db.session() as session:
            row = await session.get(PositionRow, position_id, with_for_update=True)
            if row is None or row.user_id != user_id or row.status != PositionStatus.OPEN:
                raise NotFound(
                    f"open position {position_id} of user {user_id} does not exist",
                    user_message="That position is not open any more. Send /positions.",
                )
            row.exit_plan = None if plan is None else rule_to_json(plan)
            row.updated_at = self._now()
            await session.flush()
            return to_position(row)

    async def list_all_open(self) -> list[Position]:
        """Every open position (the exit monitor watches all users)."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(PositionRow)
                .where(PositionRow.status == PositionStatus.OPEN)
                .order_by(PositionRow.id)
            )
            return [to_position(r) for r in rows]
