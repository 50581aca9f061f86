"""Exit plans as the frontends edit them: the user's defaults (ladder, "sell with the creator")
and one open position's own plan (``Position.exit_plan``; ``None`` = the defaults).

    rule = apply_plan_text(current, "ladder 2x:50 4x:25 sl 20 trail 15 hold 60 tp off dev on")

``apply_plan_text`` changes only what the text names and raises ``ControlError`` with one
sentence per bad clause (nothing is saved then). Words: ``ladder <steps | off>`` (steps as
``domain.exits.parse_ladder`` reads them: ``2x:50 4x:25``), ``tp`` / ``sl`` / ``trail`` (a
whole percent, or ``off``), ``hold`` (minutes, or ``off``), ``dev`` / ``creator`` (``on`` /
``off``: sell everything when the coin's creator sells on its pump.fun curve).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sniper_bot.control.views import ControlError
from sniper_bot.domain.entities import Position, UserSettings
from sniper_bot.domain.exits import LIMITS, ExitRule, format_ladder, parse_ladder

__all__ = [
    "PLAN_HELP",
    "ExitsView",
    "PositionExitView",
    "apply_plan_text",
    "defaults_rule",
    "plan_text",
    "position_exit_view",
]

PLAN_HELP = (
    "ladder 2x:50 4x:25 (sell 50 % at 2x, 25 % at 4x; off), tp 200, sl 20, trail 15 (percent; "
    "off), hold 60 (minutes; off), dev on (sell everything when the creator sells; off)"
)

_NUMBERS = {
    "tp": ("take_profit_pct", "Take-profit", "%"),
    "sl": ("stop_loss_pct", "Stop-loss", "%"),
    "trail": ("trailing_stop_pct", "Trailing stop", "%"),
    "hold": ("max_hold_minutes", "Max hold time", " minutes"),
}
_WORDS = {*_NUMBERS, "ladder", "dev", "creator"}


@dataclass(frozen=True, slots=True)
class PositionExitView:
    position_id: int
    token_mint: str
    token_amount: int
    own_plan: bool  # False: it follows the owner's defaults
    plan: str  # plan_text of the plan in force
    sell_with_creator: bool


@dataclass(frozen=True, slots=True)
class ExitsView:
    """/exits: the defaults every new position gets, and each open position's plan."""

    defaults: str
    ladder: str  # the default ladder ("off")
    sell_with_creator: bool
    positions: tuple[PositionExitView, ...]


def defaults_rule(settings: UserSettings) -> ExitRule:
    """The plan every new position of this user follows (engine.exits.exit_rule's)."""
    return ExitRule(
        take_profit_pct=settings.take_profit_pct,
        stop_loss_pct=settings.stop_loss_pct,
        trailing_stop_pct=settings.trailing_stop_pct,
        max_hold_minutes=settings.max_hold_minutes,
        ladder=settings.exit_ladder,
        sell_with_creator=settings.sell_with_creator,
    )


def position_exit_view(position: Position, settings: UserSettings) -> PositionExitView:
    rule = position.exit_plan if position.exit_plan is not None else defaults_rule(settings)
    return PositionExitView(
        position_id=position.id,
        token_mint=position.token_mint,
        token_amount=position.token_amount,
        own_plan=position.exit_plan is not None,
        plan=plan_text(rule),
        sell_with_creator=rule.sell_with_creator,
    )


def plan_text(rule: ExitRule) -> str:
    """``"ladder 50% at 2x, 25% at 4x; stop-loss -20%; ..."``, or ``"off"``."""
    parts = [
        f"ladder {format_ladder(rule.ladder)}" if rule.ladder else "",
        f"take-profit +{rule.take_profit_pct}%" if rule.take_profit_pct else "",
        f"stop-loss -{rule.stop_loss_pct}%" if rule.stop_loss_pct else "",
        f"trailing stop -{rule.trailing_stop_pct}% from the peak" if rule.trailing_stop_pct else "",
        f"max hold {rule.max_hold_minutes} min" if rule.max_hold_minutes else "",
        "sell when the creator sells" if rule.sell_with_creator else "",
    ]
    shown = [p for p in parts if p]
    return "; ".join(shown) if shown else "off"


def _switch(word: str, value: str) -> bool:
    if value.lower() in ("on", "yes", "1", "true"):
        return True
    if value.lower() in ("off", "no", "0", "false"):
        return False
    raise ValueError(f"{word} is on or off, not {value!r}")


def _number(word: str, value: str) -> int | None:
    name, label, unit = _NUMBERS[word]
    if value.lower() in ("off", "0", "none"):
        return None
    low, high = LIMITS[name]
    digits = value.rstrip("%").lstrip("+-")
    if not digits.isdigit() or not low <= int(digits) <= high:
        raise ValueError(f"{label} must be a whole number from {low} to {high}{unit}, or off")
    return int(digits)


def apply_plan_text(rule: ExitRule, text: str) -> ExitRule:
    """``rule`` with the changes ``text`` names (see the module docstring)."""
    words = text.split()
    if not words:
        raise ControlError("empty plan", user_message=f"Say what to change: {PLAN_HELP}.")
    changes: dict[str, object] = {}
    errors: list[str] = []
    at = 0
    while at < len(words):
        word = words[at].lower()
        at += 1
        if word not in _WORDS:
            errors.append(f"{words[at - 1]!r} is not an exit rule")
            continue
        values: list[str] = []
        while at < len(words) and words[at].lower() not in _WORDS:
            values.append(words[at])
            at += 1
        try:
            if not values:
                raise ValueError(f"{word} needs a value")
            if word == "ladder":
                changes["ladder"] = parse_ladder(" ".join(values))
            elif len(values) != 1:
                raise ValueError(f"{word} takes one value, got {' '.join(values)!r}")
            elif word in _NUMBERS:
                changes[_NUMBERS[word][0]] = _number(word, values[0])
            else:
                changes["sell_with_creator"] = _switch(word, values[0])
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        raise ControlError(
            "bad exit plan: " + "; ".join(errors),
            user_message="Not saved: " + "; ".join(errors) + f". Words: {PLAN_HELP}.",
        )
    try:
        return replace(rule, **changes)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ControlError(str(exc), user_message=f"Not saved: {exc}.") from None
