"""Exit policy for an open position: take-profit, stop-loss, trailing stop, max hold time.

Pure and integer-only: the caller supplies the position's current value in lamports (a quote of
the full token amount into SOL), its cost basis, the highest value seen so far and the clock.

    rule = ExitRule(take_profit_pct=50, stop_loss_pct=20)
    decision = decide(value, position.cost_basis_lamports, high_water, opened_at, now, rule)

With a cost basis ``c`` and value ``v`` (all lamports):
- stop loss ``s``      fires iff ``v * 100 <= c * (100 - s)``     (lost at least ``s`` %)
- take profit ``t``    fires iff ``v * 100 >= c * (100 + t)``     (gained at least ``t`` %)
- trailing stop ``r``  fires iff ``v * 100 <= h * (100 - r)``, ``h = max(high_water, v) > 0``
- max hold ``m``       fires iff ``now - opened_at >= m`` minutes
Take-profit and stop-loss need a positive cost basis (without one there is no price to compare
against). When several conditions hold, the first of stop loss, trailing stop, take profit, max
hold is reported (each sells 100 %, so only the reason shown to the user differs).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "LIMITS",
    "ExitDecision",
    "ExitReason",
    "ExitRule",
    "decide",
]

# Inclusive ranges of each rule's setting (the settings repository validates against these).
LIMITS: dict[str, tuple[int, int]] = {
    "take_profit_pct": (1, 10_000),
    "stop_loss_pct": (1, 99),
    "trailing_stop_pct": (1, 99),
    "max_hold_minutes": (1, 10_080),  # one week
}


class ExitReason(enum.StrEnum):
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    TRAILING_STOP = "trailing_stop"
    MAX_HOLD = "max_hold"


@dataclass(frozen=True, slots=True)
class ExitRule:
    """A user's exit settings; ``None`` turns a rule off."""

    take_profit_pct: int | None = None
    stop_loss_pct: int | None = None
    trailing_stop_pct: int | None = None
    max_hold_minutes: int | None = None

    def __post_init__(self) -> None:
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")

    @property
    def is_active(self) -> bool:
        return any(
            v is not None
            for v in (
                self.take_profit_pct,
                self.stop_loss_pct,
                self.trailing_stop_pct,
                self.max_hold_minutes,
            )
        )


@dataclass(frozen=True, slots=True)
class ExitDecision:
    """Sell everything, and why. Amounts are what ``decide`` saw."""

    reason: ExitReason
    value_lamports: int
    cost_basis_lamports: int
    high_water_lamports: int

    @property
    def pnl_lamports(self) -> int:
        return self.value_lamports - self.cost_basis_lamports

    @property
    def pnl_bps(self) -> int | None:
        """Change against the cost basis in basis points (floor); None without a cost basis."""
        if self.cost_basis_lamports <= 0:
            return None
        return self.pnl_lamports * 10_000 // self.cost_basis_lamports


def decide(
    position_value_lamports: int,
    cost_basis_lamports: int,
    high_water_lamports: int,
    opened_at: datetime,
    now: datetime,
    rule: ExitRule,
) -> ExitDecision | None:
    """The exit to take now, or None to keep holding. See the module docstring for the rules."""
    if position_value_lamports < 0 or cost_basis_lamports < 0 or high_water_lamports < 0:
        raise ValueError("position value, cost basis and high-water mark cannot be negative")
    value, cost = position_value_lamports, cost_basis_lamports
    high = max(high_water_lamports, value)

    def decision(reason: ExitReason) -> ExitDecision:
        return ExitDecision(reason, value, cost, high)

    tp, sl = rule.take_profit_pct, rule.stop_loss_pct
    trail, hold = rule.trailing_stop_pct, rule.max_hold_minutes
    if sl is not None and cost > 0 and value * 100 <= cost * (100 - sl):
        return decision(ExitReason.STOP_LOSS)
    if trail is not None and high > 0 and value * 100 <= high * (100 - trail):
        return decision(ExitReason.TRAILING_STOP)
    if tp is not None and cost > 0 and value * 100 >= cost * (100 + tp):
        return decision(ExitReason.TAKE_PROFIT)
    if hold is not None and now - opened_at >= timedelta(minutes=hold):
        return decision(ExitReason.MAX_HOLD)
    return None
