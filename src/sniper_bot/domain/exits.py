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
hold, ladder step is reported (each but the step sells 100 %).

A **ladder** (``ExitRule.ladder``) adds take-profit steps that sell part of the position:
``(LadderStep(100, 50), LadderStep(300, 25))`` sells 50 % of the position at +100 % (2x) and 25 %
at +300 % (4x); the rest rides on the stop-loss, trailing stop, take-profit or max hold. Step
``i`` fires iff ``v * 100 >= c * (100 + gain_i)`` and steps ``0 .. i-1`` already sold (the caller
says how many: ``steps_done``); the shares are of the position before its first step, so with
``h`` tokens held now step ``i`` sells ``h * sell_i // (100 - sum(sell_0 .. sell_i-1))`` (floor),
and a step that brings the sold shares to 100 % sells everything left (no dust stays). The cost
basis shrinks with each sale (average cost), so ``v / c`` is still the price multiple.

``sell_with_creator`` is not a price rule: the monitor sells the whole position the moment the
coin's creator sells on the pump.fun curve (any sell of theirs; ``ExitReason.CREATOR_SOLD``).
"""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "LIMITS",
    "MAX_LADDER_STEPS",
    "ExitDecision",
    "ExitReason",
    "ExitRule",
    "LadderStep",
    "decide",
    "format_ladder",
    "ladder_from_json",
    "parse_ladder",
    "rule_from_json",
    "rule_to_json",
    "step_sell_amount",
]

# Inclusive ranges of each rule's setting (the settings repository validates against these).
LIMITS: dict[str, tuple[int, int]] = {
    "take_profit_pct": (1, 10_000),
    "stop_loss_pct": (1, 99),
    "trailing_stop_pct": (1, 99),
    "max_hold_minutes": (1, 10_080),  # one week
}
MAX_LADDER_STEPS = 5


class ExitReason(enum.StrEnum):
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    TRAILING_STOP = "trailing_stop"
    MAX_HOLD = "max_hold"
    TAKE_PROFIT_STEP = "take_profit_step"  # one ladder step: a partial sell
    CREATOR_SOLD = "creator_sold"  # the coin's creator sold on its curve


@dataclass(frozen=True, slots=True, order=True)
class LadderStep:
    """Sell ``sell_pct`` % of the position (as it was before its first step) once the value is
    ``gain_pct`` % above the cost basis (``gain_pct=100`` is 2x)."""

    gain_pct: int
    sell_pct: int

    def __post_init__(self) -> None:
        low, high = LIMITS["take_profit_pct"]
        for name, value, lo, hi in (
            ("gain_pct", self.gain_pct, low, high),
            ("sell_pct", self.sell_pct, 1, 100),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(
                    f"ladder {name} must be an integer from {lo} to {hi}, got {value!r}"
                )


@dataclass(frozen=True, slots=True)
class ExitRule:
    """A user's exit settings; ``None`` turns a rule off."""

    take_profit_pct: int | None = None
    stop_loss_pct: int | None = None
    trailing_stop_pct: int | None = None
    max_hold_minutes: int | None = None
    ladder: tuple[LadderStep, ...] = ()  # partial take-profits, rising gains
    sell_with_creator: bool = False  # sell everything when the coin's creator sells

    def __post_init__(self) -> None:
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")
        _check_ladder(self.ladder)

    @property
    def is_active(self) -> bool:
        return (
            self.sell_with_creator
            or bool(self.ladder)
            or any(
                v is not None
                for v in (
                    self.take_profit_pct,
                    self.stop_loss_pct,
                    self.trailing_stop_pct,
                    self.max_hold_minutes,
                )
            )
        )


def _check_ladder(ladder: tuple[LadderStep, ...]) -> None:
    if not isinstance(ladder, tuple) or not all(isinstance(s, LadderStep) for s in ladder):
        raise ValueError("the ladder must be a tuple of LadderStep")
    if len(ladder) > MAX_LADDER_STEPS:
        raise ValueError(f"a ladder has at most {MAX_LADDER_STEPS} steps, got {len(ladder)}")
    gains = [s.gain_pct for s in ladder]
    if any(b <= a for a, b in itertools.pairwise(gains)):
        raise ValueError(f"ladder gains must rise step by step, got {gains}")
    total = sum(s.sell_pct for s in ladder)
    if total > 100:
        raise ValueError(f"a ladder sells at most 100 % in all, its steps add up to {total} %")


def step_sell_amount(ladder: tuple[LadderStep, ...], step: int, token_amount: int) -> int:
    """Tokens step ``step`` sells when ``token_amount`` are held and the steps before it sold
    (see the module docstring): everything when it completes 100 % or the share rounds to 0."""
    if not 0 <= step < len(ladder) or token_amount < 0:
        raise ValueError(f"no step {step} in a ladder of {len(ladder)}, or a negative amount")
    left = 100 - sum(s.sell_pct for s in ladder[:step])
    share = ladder[step].sell_pct
    if share >= left:
        return token_amount
    amount = token_amount * share // left
    return amount if amount > 0 else token_amount


@dataclass(frozen=True, slots=True)
class ExitDecision:
    """Sell everything, and why. Amounts are what ``decide`` saw."""

    reason: ExitReason
    value_lamports: int
    cost_basis_lamports: int
    high_water_lamports: int
    step: int | None = None  # TAKE_PROFIT_STEP: the ladder step (0-based); None: sell everything

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
    steps_done: int = 0,
) -> ExitDecision | None:
    """The exit to take now, or None to keep holding. See the module docstring for the rules;
    ``steps_done``: how many ladder steps already sold (the next is ``ladder[steps_done]``)."""
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
    step = rule.ladder[steps_done] if 0 <= steps_done < len(rule.ladder) else None
    if step is not None and cost > 0 and value * 100 >= cost * (100 + step.gain_pct):
        return ExitDecision(ExitReason.TAKE_PROFIT_STEP, value, cost, high, steps_done)
    return None


_TARGET = re.compile(r"^(?:(\d{1,5}(?:\.\d{1,2})?)x|\+?(\d{1,5})%?)$")
_SHARE = re.compile(r"^(\d{1,3})%?$")


def parse_ladder(text: str) -> tuple[LadderStep, ...]:
    """``"2x:50 4x:25"`` or ``"+100%:50%, +300%:25%"`` (target ``Nx`` = a multiple of the cost,
    or a gain in %; then the share of the position to sell); ``"off"`` or empty: no ladder.
    Raises ``ValueError`` with a sentence for the user."""
    words = text.replace(",", " ").split()
    if not words or (len(words) == 1 and words[0].lower() in ("off", "none", "0")):
        return ()
    steps: list[LadderStep] = []
    for word in words:
        target, sep, share = word.partition(":")
        t, s = _TARGET.match(target.lower()), _SHARE.match(share)
        if not sep or t is None or s is None:
            raise ValueError(
                f"{word!r} is not a step: write TARGET:SHARE, e.g. 2x:50 (sell 50 % at 2x) "
                "or +100%:50"
            )
        if t.group(1) is not None:
            hundredths = round(float(t.group(1)) * 100)
            if hundredths <= 100:
                raise ValueError(f"{target!r}: a take-profit multiple must be above 1x")
            gain = hundredths - 100
        else:
            gain = int(t.group(2))
        low, high = LIMITS["take_profit_pct"]
        if not low <= gain <= high:
            raise ValueError(f"{target!r}: the gain must be from +{low}% to +{high}%")
        sell = int(s.group(1))
        if not 1 <= sell <= 100:
            raise ValueError(f"{share!r}: the share to sell must be from 1 to 100 %")
        steps.append(LadderStep(gain, sell))
    steps.sort()
    ladder = tuple(steps)
    try:
        _check_ladder(ladder)
    except ValueError as exc:
        gains = [s.gain_pct for s in ladder]
        if len(set(gains)) != len(gains):
            raise ValueError("two steps have the same target; give each step its own") from None
        raise ValueError(str(exc).replace("a ladder", "the ladder")) from None
    return ladder


def format_ladder(ladder: tuple[LadderStep, ...]) -> str:
    """``"50% at 2x, 25% at 4x"`` (targets as multiples: ``1 + gain / 100``)."""
    return ", ".join(f"{s.sell_pct}% at {_multiple(s.gain_pct)}x" for s in ladder)


def _multiple(gain_pct: int) -> str:
    whole, rest = divmod(100 + gain_pct, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


_JSON_RULES = ("take_profit_pct", "stop_loss_pct", "trailing_stop_pct", "max_hold_minutes")


def rule_to_json(rule: ExitRule) -> dict[str, Any]:
    """A plan as stored in ``"Position"."exitPlan"`` (``rule_from_json`` reads it back)."""
    out: dict[str, Any] = {name: getattr(rule, name) for name in _JSON_RULES}
    out["ladder"] = [[s.gain_pct, s.sell_pct] for s in rule.ladder]
    out["sellWithCreator"] = rule.sell_with_creator
    return out


def ladder_from_json(value: Any) -> tuple[LadderStep, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"a stored ladder is a list of [gain_pct, sell_pct], got {value!r}")
    steps = []
    for item in value:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ValueError(f"a stored ladder step is [gain_pct, sell_pct], got {item!r}")
        steps.append(LadderStep(int(item[0]), int(item[1])))
    return tuple(steps)


def rule_from_json(value: Any) -> ExitRule:
    if not isinstance(value, dict):
        raise ValueError(f"a stored exit plan is an object, got {value!r}")
    rules = {name: value.get(name) for name in _JSON_RULES}
    return ExitRule(
        **rules,
        ladder=ladder_from_json(value.get("ladder")),
        sell_with_creator=bool(value.get("sellWithCreator", False)),
    )
