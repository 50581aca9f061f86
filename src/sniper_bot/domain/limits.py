"""Limit orders and DCA plans: their states and the pure decisions the monitors make.

Prices are integers: **micro-lamports per whole token** (``PRICE_SCALE`` = 10**6 per lamport),
so a pump.fun coin at 0.000000028 SOL per token is 28_000_000 and 9_200 SOL per token still fits
a BIGINT. A market cap is lamports. Every comparison is made by cross-multiplying the reserves:
no float, no rounding at the trigger edge.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import CurveProgress
from sniper_bot.domain.money import MAX_INT64, MAX_SOL, MAX_SOL_LAMPORTS, echo
from sniper_bot.domain.orders import OrderSide

__all__ = [
    "DEFAULT_TTL_S",
    "MAX_INTERVAL_S",
    "MAX_PARTS",
    "MAX_TTL_S",
    "MIN_INTERVAL_S",
    "MIN_TTL_S",
    "PRICE_SCALE",
    "DcaAction",
    "DcaPlan",
    "DcaStatus",
    "DcaStep",
    "InvalidLimitInput",
    "LimitAction",
    "LimitOrder",
    "LimitStatus",
    "PricePoint",
    "TriggerKind",
    "dca_key",
    "dca_part_amount",
    "decide_dca",
    "decide_limit",
    "format_duration",
    "format_price",
    "in_band",
    "limit_key",
    "limit_triggered",
    "parse_band",
    "parse_duration",
    "parse_parts",
    "parse_pct",
    "parse_price",
    "parse_trigger",
]

PRICE_SCALE = 10**6  # micro-lamports per lamport


class LimitStatus(enum.StrEnum):
    OPEN = "OPEN"  # waiting for its trigger
    FIRED = "FIRED"  # its order was submitted (orderId); the order's own state says the rest
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"  # refused at fire time (risk check, no balance, no position); error says why


class TriggerKind(enum.StrEnum):
    PRICE = "PRICE"  # triggerValue: micro-lamports per whole token
    MCAP = "MCAP"  # triggerValue: market cap in lamports


class DcaStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"  # the price is outside the plan's band; resumes by itself inside it
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


# -- the rows, as the repositories hand them out ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class LimitOrder:
    """One row of ``"LimitOrder"``: a BUY spends ``amount_lamports`` when the price falls to
    ``trigger_value`` (or the market cap below it); a SELL sells ``sell_pct`` % of the position
    when the price rises to it. ``order_id``: the one order it fired (key ``limit:<id>``)."""

    id: int
    user_id: int
    wallet_id: int
    token_mint: str
    side: OrderSide
    trigger_kind: TriggerKind
    trigger_value: int
    amount_lamports: int | None
    sell_pct: int | None
    decimals: int
    slippage_bps: int
    priority_fee: FeeLevel
    status: LimitStatus
    created_at: datetime
    expires_at: datetime
    order_id: str | None = None
    error: str | None = None
    fired_at: datetime | None = None
    paper: bool = False  # placed on paper: fills in the paper book, never signed (0015)


@dataclass(frozen=True, slots=True)
class DcaPlan:
    """One row of ``"DcaPlan"``: ``total_amount`` (lamports for BUY, token base units for SELL)
    in ``parts`` orders, one every ``interval_seconds`` from ``next_at``; part k is keyed
    ``dca:<id>:<k>`` and ``parts_done`` counts the parts submitted."""

    id: int
    user_id: int
    wallet_id: int
    token_mint: str
    side: OrderSide
    total_amount: int
    parts: int
    parts_done: int
    interval_seconds: int
    band_min_price: int | None
    band_max_price: int | None
    decimals: int
    slippage_bps: int
    priority_fee: FeeLevel
    status: DcaStatus
    next_at: datetime
    created_at: datetime
    last_order_id: str | None = None
    error: str | None = None
    paper: bool = False  # started on paper: its parts fill in the paper book (0015)

    @property
    def has_band(self) -> bool:
        return self.band_min_price is not None or self.band_max_price is not None


def limit_key(limit_id: int) -> str:
    """The idempotency key of a limit order's one order: a replay or a second replica meets it."""
    return f"limit:{limit_id}"


def dca_key(plan_id: int, part: int) -> str:
    """The idempotency key of a plan's part ``part`` (0-based): a restart resubmits the same."""
    return f"dca:{plan_id}:{part}"


# -- prices ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A price as the two sides of a trade: ``lamports`` for ``tokens`` base units (a curve's
    virtual reserves, or a quote's in and out). ``supply``: the token's total supply, for the
    market cap (``None``: unknown)."""

    lamports: int
    tokens: int
    supply: int | None = None

    @classmethod
    def of_curve(cls, curve: CurveProgress) -> PricePoint:
        return cls(
            curve.virtual_sol_reserves, curve.virtual_token_reserves, curve.token_total_supply
        )

    def price(self, decimals: int) -> int | None:
        """Micro-lamports per whole token, rounded down (``None`` without tokens)."""
        if self.tokens <= 0:
            return None
        scale: int = 10**decimals
        return self.lamports * scale * PRICE_SCALE // self.tokens

    def market_cap(self) -> int | None:
        """Lamports (``None`` without a supply or tokens)."""
        if self.supply is None or self.tokens <= 0:
            return None
        return self.lamports * self.supply // self.tokens


def limit_triggered(order: LimitOrder, point: PricePoint) -> bool:
    """Has the price reached the order's trigger? Exact (cross-multiplied, no rounding): a buy
    at or below its price (market cap), a sell at or above its price."""
    if point.tokens <= 0 or point.lamports < 0:
        return False
    if order.trigger_kind is TriggerKind.PRICE:
        scale: int = 10**order.decimals
        seen = point.lamports * scale * PRICE_SCALE
    else:
        if point.supply is None:
            return False
        seen = point.lamports * point.supply
    bound = order.trigger_value * point.tokens
    return seen <= bound if order.side is OrderSide.BUY else seen >= bound


class LimitAction(enum.StrEnum):
    WAIT = "WAIT"
    FIRE = "FIRE"
    EXPIRE = "EXPIRE"


def decide_limit(order: LimitOrder, point: PricePoint | None, now: datetime) -> LimitAction:
    """What the monitor does with an order now: an expired one expires (even if the price is
    there at the same instant), an open one whose trigger is reached fires, else it waits."""
    if order.status is not LimitStatus.OPEN:
        return LimitAction.WAIT
    if now >= order.expires_at:
        return LimitAction.EXPIRE
    if point is not None and limit_triggered(order, point):
        return LimitAction.FIRE
    return LimitAction.WAIT


# -- DCA ------------------------------------------------------------------------------------------


def dca_part_amount(total: int, parts: int, part: int) -> int:
    """Part ``part``'s amount: the parts differ by at most 1 and add up to ``total`` exactly."""
    if parts < 1 or not 0 <= part < parts:
        raise ValueError(f"part {part} of {parts}")
    return total * (part + 1) // parts - total * part // parts


def in_band(plan: DcaPlan, price: int) -> bool:
    low, high = plan.band_min_price, plan.band_max_price
    return (low is None or price >= low) and (high is None or price <= high)


class DcaAction(enum.StrEnum):
    WAIT = "WAIT"  # not due, or no price to check the band against
    PAUSE = "PAUSE"  # due, but the price is outside the band
    RUN = "RUN"  # submit part ``part`` of ``amount``
    DONE = "DONE"  # every part submitted


@dataclass(frozen=True, slots=True)
class DcaStep:
    action: DcaAction
    part: int = 0
    amount: int = 0
    price: int | None = None


def decide_dca(plan: DcaPlan, now: datetime, price: int | None) -> DcaStep:
    """The plan's next step at ``now`` with the current ``price`` (micro-lamports per whole
    token; only read when the plan has a band). A paused plan runs again once back in band."""
    if plan.status not in (DcaStatus.ACTIVE, DcaStatus.PAUSED):
        return DcaStep(DcaAction.WAIT)
    if plan.parts_done >= plan.parts:
        return DcaStep(DcaAction.DONE)
    if now < plan.next_at:
        return DcaStep(DcaAction.WAIT)
    if plan.has_band:
        if price is None:
            return DcaStep(DcaAction.WAIT)
        if not in_band(plan, price):
            return DcaStep(DcaAction.PAUSE, price=price)
    part = plan.parts_done
    return DcaStep(DcaAction.RUN, part, dca_part_amount(plan.total_amount, plan.parts, part), price)


# -- what users type -------------------------------------------------------------------------------

MAX_PRICE_DECIMALS = 15  # SOL per token: 10**-15 SOL is one micro-lamport
MIN_TTL_S = 60
MAX_TTL_S = 30 * 86_400
DEFAULT_TTL_S = 86_400
MIN_INTERVAL_S = 10
MAX_INTERVAL_S = 7 * 86_400
MAX_PARTS = 100
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
_DURATION = re.compile(r"([0-9]{1,7})([smhd])")
_MCAP = re.compile(r"(?:mc(?:ap)?[:=]?)(.+)|(.+?)(?:mc(?:ap)?)", re.IGNORECASE)


class InvalidLimitInput(ValueError):
    """Something typed for a limit order or DCA plan that cannot be used; ``str(exc)`` is the
    sentence for the user."""


def _decimal(text: str, what: str) -> tuple[int, int]:
    """``text`` as (digits, exponent) of a positive finite number, or the user's sentence."""
    cleaned = text.strip().replace(",", ".").removesuffix("SOL").removesuffix("sol").strip()
    bad = InvalidLimitInput(f"'{echo(text.strip())}' is not a {what}; send a number like 0.00003")
    if not cleaned or not cleaned.isascii():
        raise bad
    try:
        value = Decimal(cleaned)
    except (ArithmeticError, ValueError):
        raise bad from None
    if not value.is_finite():
        raise bad
    if value.is_zero() or value.is_signed():
        raise InvalidLimitInput(f"the {what} must be greater than 0")
    if value.adjusted() >= 12:
        raise InvalidLimitInput(f"the {what} is too large")
    _, digits, exponent = value.normalize().as_tuple()
    return int("".join(map(str, digits))), int(exponent)


def parse_price(text: str) -> int:
    """A price typed in SOL per token ("0.000000028") as micro-lamports per whole token."""
    digits, exponent = _decimal(text, "price")
    shift = exponent + MAX_PRICE_DECIMALS
    if shift < 0:
        raise InvalidLimitInput(
            f"a price has at most {MAX_PRICE_DECIMALS} decimal places (0.000000000000001 SOL)"
        )
    micro: int = digits * 10**shift
    if micro > MAX_INT64:
        raise InvalidLimitInput("the price is too large: at most 9,000 SOL per token")
    return micro


def parse_trigger(text: str) -> tuple[TriggerKind, int]:
    """``0.00003`` (a price in SOL per token) or ``mc:30`` / ``30mc`` (a market cap in SOL)."""
    found = _MCAP.fullmatch(text.strip())
    if found is None:
        return TriggerKind.PRICE, parse_price(text)
    amount = (found.group(1) or found.group(2) or "").strip()
    digits, exponent = _decimal(amount, "market cap")
    shift = exponent + 9
    if shift < 0:
        raise InvalidLimitInput("a market cap has at most 9 decimal places (1 lamport)")
    lamports: int = digits * 10**shift
    if lamports > MAX_SOL_LAMPORTS:
        raise InvalidLimitInput(f"the market cap is too large: at most {MAX_SOL} SOL")
    return TriggerKind.MCAP, lamports


def parse_duration(text: str, what: str, low: int, high: int) -> int:
    """``45s``, ``30m``, ``2h``, ``1d`` (or a bare number of minutes) as seconds in low..high."""
    cleaned = text.strip().lower()
    if cleaned.isascii() and cleaned.isdigit():
        cleaned += "m"
    found = _DURATION.fullmatch(cleaned)
    if found is None:
        raise InvalidLimitInput(
            f"'{echo(text.strip())}' is not a duration for the {what}; write 30m, 2h or 1d"
        )
    seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if not low <= seconds <= high:
        raise InvalidLimitInput(f"the {what} must be between {_human(low)} and {_human(high)}")
    return seconds


def parse_band(text: str) -> tuple[int | None, int | None]:
    """``LOW-HIGH`` / ``LOW-`` / ``-HIGH`` prices in SOL per token (``..`` works too)."""
    cleaned = text.strip().replace("..", "-")
    if cleaned.count("-") != 1:
        raise InvalidLimitInput(
            f"'{echo(text.strip())}' is not a price band; write LOW-HIGH in SOL per token, "
            "e.g. 0.00002-0.00004 (or 0.00002- / -0.00004)"
        )
    low_text, high_text = (part.strip() for part in cleaned.split("-"))
    if not low_text and not high_text:
        raise InvalidLimitInput("a price band needs a low or a high price")
    low = parse_price(low_text) if low_text else None
    high = parse_price(high_text) if high_text else None
    if low is not None and high is not None and low > high:
        raise InvalidLimitInput("the band's low price is above its high price")
    return low, high


def parse_parts(text: str) -> int:
    cleaned = text.strip()
    if not (cleaned.isascii() and cleaned.isdigit()) or not 2 <= int(cleaned) <= MAX_PARTS:
        raise InvalidLimitInput(f"the number of parts must be a whole number from 2 to {MAX_PARTS}")
    return int(cleaned)


def parse_pct(text: str) -> int:
    cleaned = text.strip().removesuffix("%").strip()
    if not (cleaned.isascii() and cleaned.isdigit()) or not 1 <= int(cleaned) <= 100:
        raise InvalidLimitInput("the share to sell must be a whole percentage from 1 to 100")
    return int(cleaned)


def _human(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_price(micro_lamports: int) -> str:
    """Micro-lamports per whole token -> '0.000000028 SOL' (exact)."""
    value = Decimal(micro_lamports).scaleb(-MAX_PRICE_DECIMALS)
    return f"{format(value.normalize(), 'f') if micro_lamports else '0'} SOL"


def format_duration(seconds: int) -> str:
    return _human(seconds)
