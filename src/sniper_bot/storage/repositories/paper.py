"""Paper trading's simulated book (``"PaperAccount"``, ``"PaperPosition"``, ``"PaperTrade"``) and
the read queries of ``/pnl`` (real and paper trades, oldest first).

``fill`` applies one simulated fill in ONE transaction: the account (created with the starting
balance on first use), the funds check, the position (average cost, ``apply_fill``) and the trade
row. It is idempotent per (user, idempotency key): a double-tap returns the first fill and moves
nothing twice. Paper rows never mix with ``"Position"``/``"Trade"``: the exit monitor, the hot path
and every real balance ignore them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sniper_bot.domain.entities import Position, PositionStatus, PositionTotals, Trade, apply_fill
from sniper_bot.domain.orders import OrderSide
from sniper_bot.storage.models import PaperAccountRow, PaperPositionRow, PaperTradeRow, TradeRow

from .base import Repository
from .positions import to_trade

__all__ = ["PAPER_WALLET_ID", "PaperFunds", "PaperRepository", "PaperResult", "PnlReads"]

PAPER_WALLET_ID = 0  # the wallet id a paper ``Position`` carries (no wallet holds it)


class PaperFunds(ValueError):
    """The simulated balance cannot pay for this fill (nothing was written)."""

    def __init__(self, message: str, *, have: int, need: int) -> None:
        super().__init__(message)
        self.have = have
        self.need = need


@dataclass(frozen=True, slots=True)
class PaperResult:
    trade: Trade
    position: Position
    lamports: int  # the simulated SOL balance after the fill
    created: bool  # False: the idempotency key had filled before (nothing moved now)


def _position(row: PaperPositionRow) -> Position:
    return Position(
        id=row.id,
        user_id=row.user_id,
        wallet_id=PAPER_WALLET_ID,
        token_mint=row.token_mint,
        token_amount=row.token_amount,
        cost_basis_lamports=row.cost_basis_lamports,
        realized_pnl_lamports=row.realized_pnl_lamports,
        status=PositionStatus(row.status),
        opened_at=row.opened_at,
        updated_at=row.updated_at,
    )


def _trade(row: PaperTradeRow) -> Trade:
    return Trade(
        id=row.id,
        order_id=f"paper:{row.id}",
        user_id=row.user_id,
        wallet_id=None,
        token_mint=row.token_mint,
        side=OrderSide(row.side),
        in_amount=row.in_amount,
        out_amount=row.out_amount,
        fee_lamports=row.fee_lamports,
        signature="",
        slot=None,
        created_at=row.created_at,
    )


class PaperRepository(Repository):
    async def balance(self, user_id: int, start_lamports: int) -> int:
        """The simulated SOL balance (``start_lamports`` before the first paper trade)."""
        async with self._db.session() as session:
            row = await session.get(PaperAccountRow, user_id)
            return row.lamports if row is not None else start_lamports

    async def position(self, user_id: int, mint: str) -> Position | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(PaperPositionRow).where(
                    PaperPositionRow.user_id == user_id, PaperPositionRow.token_mint == mint
                )
            )
            return _position(row) if row is not None else None

    async def list_open(self, user_id: int) -> list[Position]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(PaperPositionRow)
                .where(
                    PaperPositionRow.user_id == user_id,
                    PaperPositionRow.status == PositionStatus.OPEN,
                )
                .order_by(PaperPositionRow.opened_at, PaperPositionRow.id)
            )
            return [_position(r) for r in rows]

    async def list_all_open(self) -> list[Position]:
        """Every user's open paper positions (the paper exit monitor watches them)."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(PaperPositionRow)
                .where(PaperPositionRow.status == PositionStatus.OPEN)
                .order_by(PaperPositionRow.id)
            )
            return [_position(r) for r in rows]

    async def trades_by_key_prefix(self, user_id: int, prefix: str) -> list[tuple[str, Trade]]:
        """(idempotency key, trade) of the user's paper fills whose key starts with
        ``prefix`` (which exit steps of a position lifetime filled), oldest first."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        async with self._db.session() as session:
            rows = await session.scalars(
                select(PaperTradeRow)
                .where(
                    PaperTradeRow.user_id == user_id,
                    PaperTradeRow.idempotency_key.like(pattern, escape="\\"),
                )
                .order_by(PaperTradeRow.id)
            )
            return [(r.idempotency_key, _trade(r)) for r in rows]

    async def fill(
        self,
        *,
        user_id: int,
        idempotency_key: str,
        mint: str,
        side: OrderSide,
        in_amount: int,
        out_amount: int,
        fee_lamports: int,
        venue: str,
        start_lamports: int,
    ) -> PaperResult:
        """Apply one simulated fill atomically; ``PaperFunds`` when the book cannot pay."""
        if min(in_amount, out_amount, fee_lamports) < 0 or in_amount == 0:
            raise ValueError("a paper fill needs a positive input and non-negative amounts")
        for attempt in range(3):
            try:
                return await self._fill(
                    user_id, idempotency_key, mint, side, in_amount, out_amount, fee_lamports,
                    venue, start_lamports,
                )  # fmt: skip
            except IntegrityError:  # two first fills racing to create the account/position
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fill(
        self,
        user_id: int,
        key: str,
        mint: str,
        side: OrderSide,
        in_amount: int,
        out_amount: int,
        fee: int,
        venue: str,
        start_lamports: int,
    ) -> PaperResult:
        now = self._now()
        async with self._db.session() as session:
            account = await session.get(PaperAccountRow, user_id, with_for_update=True)
            if account is None:
                account = PaperAccountRow(
                    user_id=user_id, lamports=start_lamports, created_at=now, updated_at=now
                )
                session.add(account)
                await session.flush()
            position = await session.scalar(
                select(PaperPositionRow)
                .where(PaperPositionRow.user_id == user_id, PaperPositionRow.token_mint == mint)
                .with_for_update()
            )
            existing = await session.scalar(
                select(PaperTradeRow).where(
                    PaperTradeRow.user_id == user_id, PaperTradeRow.idempotency_key == key
                )
            )
            if existing is not None and position is not None:
                return PaperResult(_trade(existing), _position(position), account.lamports, False)
            before = (
                PositionTotals(
                    position.token_amount,
                    position.cost_basis_lamports,
                    position.realized_pnl_lamports,
                )
                if position is not None
                else PositionTotals(0, 0, 0)
            )
            if side is OrderSide.BUY:
                need = in_amount + fee
                if account.lamports < need:
                    raise PaperFunds(
                        "the paper balance cannot pay this buy", have=account.lamports, need=need
                    )
                account.lamports -= need
            else:
                if before.token_amount < in_amount:
                    raise PaperFunds(
                        "the paper position holds fewer tokens",
                        have=before.token_amount,
                        need=in_amount,
                    )
                if account.lamports + out_amount < fee:
                    raise PaperFunds(
                        "the paper balance cannot pay the fee", have=account.lamports, need=fee
                    )
                account.lamports += out_amount - fee
            account.updated_at = now
            after = apply_fill(before, side, in_amount, out_amount, fee)
            if position is None:
                position = PaperPositionRow(user_id=user_id, token_mint=mint, opened_at=now)
                session.add(position)
            elif not before.is_open and after.is_open:
                position.opened_at = now  # a closed position re-opens
            position.token_amount = after.token_amount
            position.cost_basis_lamports = after.cost_basis_lamports
            position.realized_pnl_lamports = after.realized_pnl_lamports
            position.status = PositionStatus.OPEN if after.is_open else PositionStatus.CLOSED
            position.updated_at = now
            trade = PaperTradeRow(
                user_id=user_id, idempotency_key=key, token_mint=mint, side=side,
                in_amount=in_amount, out_amount=out_amount, fee_lamports=fee, venue=venue,
                created_at=now,
            )  # fmt: skip
            session.add(trade)
            await session.flush()
            return PaperResult(_trade(trade), _position(position), account.lamports, True)


class PnlReads(Repository):
    """What ``/pnl`` reads: a user's trades oldest first (replayed into realised PnL per day and
    per token), real or paper."""

    async def trades(self, user_id: int, *, paper: bool, limit: int = 5_000) -> list[Trade]:
        async with self._db.session() as session:
            if paper:
                prow = await session.scalars(
                    select(PaperTradeRow)
                    .where(PaperTradeRow.user_id == user_id)
                    .order_by(PaperTradeRow.created_at, PaperTradeRow.id)
                    .limit(limit)
                )
                return [_trade(r) for r in prow]
            rows = await session.scalars(
                select(TradeRow)
                .where(TradeRow.user_id == user_id)
                .order_by(TradeRow.created_at, TradeRow.id)
                .limit(limit)
            )
            return [to_trade(r) for r in rows]
