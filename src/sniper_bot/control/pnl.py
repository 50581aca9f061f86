"""``/pnl``'s arithmetic: a user's trades replayed, oldest first, with the same average-cost rule
as the positions (``domain.entities.apply_fill``), in integers.

Each sell's realised PnL (its SOL less fee less the sold share of the cost) is counted on the UTC
day of the sell and on its token; each round trip that ends at zero tokens is a closed position
(one PnL card). Unrealised PnL is the open positions' value at the live quote less their cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sniper_bot.control.views import (
    PnlCardView,
    PnlDayView,
    PnlTokenView,
    PnlView,
    PositionView,
)
from sniper_bot.domain.entities import PositionTotals, Trade, apply_fill
from sniper_bot.domain.orders import OrderSide

__all__ = ["PnlTrades", "summarize_pnl"]


class PnlTrades(Protocol):
    """``storage.repositories.paper.PnlReads`` fits."""

    async def trades(self, user_id: int, *, paper: bool, limit: int = 5_000) -> list[Trade]: ...


@dataclass
class _Trip:
    opened_at: str
    cost: int = 0
    proceeds: int = 0
    trades: int = 0


def summarize_pnl(
    trades: Sequence[Trade],
    opened: Sequence[PositionView],
    symbols: Mapping[str, str | None],
    *,
    paper: bool = False,
) -> PnlView:
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    realized: dict[str, int] = defaultdict(int)
    totals: dict[str, PositionTotals] = {}
    trips: dict[str, _Trip] = {}
    closed: list[PnlCardView] = []
    for t in sorted(trades, key=lambda t: (t.created_at, t.id)):
        before = totals.get(t.token_mint, PositionTotals(0, 0, 0))
        after = apply_fill(before, t.side, t.in_amount, t.out_amount, t.fee_lamports)
        totals[t.token_mint] = after
        day = t.created_at.date().isoformat()
        days[day][1] += 1
        trip = trips.get(t.token_mint)
        if trip is None:
            trip = trips[t.token_mint] = _Trip(opened_at=day)
        trip.trades += 1
        if t.side is OrderSide.BUY:
            trip.cost += t.in_amount + t.fee_lamports
            continue
        delta = after.realized_pnl_lamports - before.realized_pnl_lamports
        days[day][0] += delta
        realized[t.token_mint] += delta
        trip.proceeds += t.out_amount - t.fee_lamports
        if after.token_amount == 0:  # the round trip closed: one card
            closed.append(
                PnlCardView(
                    token_mint=t.token_mint,
                    symbol=symbols.get(t.token_mint),
                    cost_lamports=trip.cost,
                    proceeds_lamports=trip.proceeds,
                    realized_pnl_lamports=trip.proceeds - trip.cost,
                    opened_at=trip.opened_at,
                    closed_at=day,
                    trades=trip.trades,
                    paper=paper,
                )
            )
            del trips[t.token_mint]
    unrealized = {p.token_mint: p.unrealized_pnl_lamports for p in opened}
    mints = list(dict.fromkeys([*realized, *unrealized]))
    tokens = tuple(
        PnlTokenView(
            token_mint=m,
            symbol=symbols.get(m),
            realized_pnl_lamports=realized.get(m, 0),
            unrealized_pnl_lamports=unrealized.get(m),
            open=m in unrealized,
        )
        for m in mints
    )
    return PnlView(
        days=tuple(PnlDayView(d, v[0], v[1]) for d, v in sorted(days.items())),
        tokens=tokens,
        realized_pnl_lamports=sum(realized.values()),
        unrealized_pnl_lamports=sum(v for v in unrealized.values() if v is not None),
        closed=tuple(closed),
        paper=paper,
    )
