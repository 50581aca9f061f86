"""Copy trading: a user follows a leader wallet and mirrors its buys and sells.

Pure decisions, integer math only (lamports, token base units, basis points):

- ``buy_size``: a fixed SOL size, or ``size_bps`` of the leader's SOL, capped by the follow's
  max per trade;
- ``decide_buy``: that size, or why it is skipped (below the smallest copy, the day's limit);
- ``sell_amount``: "sell with the leader": the same fraction of the user's tokens the leader sold
  of its own (all of them when the leader sold all);
- ``copy_key``: ``copy:<follow id>:<leader signature>``, the idempotency key of the mirrored
  order: a replay, a restart or a second replica never mirrors one leader trade twice.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import echo, format_sol

__all__ = [
    "BPS",
    "MAX_SIZE_BPS",
    "MIN_COPY_LAMPORTS",
    "CopyDecision",
    "CopyFollow",
    "CopyMode",
    "CopyStatus",
    "CopyTradeRecord",
    "InvalidCopyInput",
    "LeaderTrade",
    "buy_size",
    "copy_key",
    "decide_buy",
    "format_size",
    "parse_size_bps",
    "sell_amount",
    "sold_bps",
]

BPS = 10_000
MAX_SIZE_BPS = BPS  # at most the leader's own size
MIN_COPY_LAMPORTS = 100_000  # 0.0001 SOL: below it the fees eat the copy
_PCT = re.compile(r"([0-9]{1,3})(?:[.,]([0-9]{1,2}))?%")


class InvalidCopyInput(ValueError):
    """A typed copy rule that cannot be used; ``str(exc)`` is the sentence for the user."""


class CopyMode(enum.StrEnum):
    FIXED = "FIXED"  # sizeValue: lamports per copied buy
    BPS = "BPS"  # sizeValue: basis points of the leader's SOL (2_500 = 25 %)


class CopyStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"


@dataclass(frozen=True, slots=True)
class CopyFollow:
    id: int
    user_id: int
    wallet_id: int
    leader: str  # the followed wallet's address
    mode: CopyMode
    size_value: int
    max_per_trade: int | None  # lamports
    max_per_day: int | None  # lamports, per UTC day
    sell_with_leader: bool
    slippage_bps: int
    priority_fee: FeeLevel
    status: CopyStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CopyTradeRecord:
    """One leader trade as handled for one follow (``"CopyTrade"``): PLACED (an order under
    ``copy_key``), SKIPPED (``error`` says why: too small, the day's limit, nothing to sell) or
    FAILED (refused at submit time: not counted in the day's spend)."""

    id: int
    follow_id: int
    leader_signature: str
    token_mint: str
    is_buy: bool
    lamports: int
    token_amount: int
    day: str
    status: str
    order_id: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class LeaderTrade:
    """One trade of a followed wallet, as a detection feed or its decoded transaction says."""

    leader: str
    mint: str
    is_buy: bool
    sol_amount: int  # lamports the leader spent (buy) or got (sell)
    token_amount: int  # token base units bought or sold
    signature: str
    source: str  # "pumpfun" (curve events) or "logs" (decoded transaction)
    leader_tokens_before: int | None = None  # the leader's balance before it (sells)


@dataclass(frozen=True, slots=True)
class CopyDecision:
    lamports: int  # 0 when skipped
    reason: str | None = None  # the sentence for the user when skipped

    @property
    def copy(self) -> bool:
        return self.lamports > 0


def copy_key(follow_id: int, signature: str) -> str:
    return f"copy:{follow_id}:{signature}"


def buy_size(
    mode: CopyMode, size_value: int, leader_lamports: int, max_per_trade: int | None
) -> int:
    """Lamports to spend mirroring a buy of ``leader_lamports`` (floor, never negative)."""
    if size_value <= 0 or leader_lamports < 0:
        raise ValueError(f"size {size_value} and leader lamports {leader_lamports} must be > 0")
    size = size_value if mode is CopyMode.FIXED else leader_lamports * size_value // BPS
    if max_per_trade is not None:
        size = min(size, max_per_trade)
    return size


def decide_buy(follow: CopyFollow, leader_lamports: int, spent_today: int) -> CopyDecision:
    """The copy's lamports, or why none: too small, or past the follow's day limit."""
    size = buy_size(follow.mode, follow.size_value, leader_lamports, follow.max_per_trade)
    if size < MIN_COPY_LAMPORTS:
        return CopyDecision(
            0,
            f"the copy would be {format_sol(size)}, below the smallest copy of "
            f"{format_sol(MIN_COPY_LAMPORTS)}",
        )
    if follow.max_per_day is not None and spent_today + size > follow.max_per_day:
        return CopyDecision(
            0,
            f"the day's limit of {format_sol(follow.max_per_day)} is reached "
            f"({format_sol(spent_today)} copied today, this copy would be {format_sol(size)})",
        )
    return CopyDecision(size)


def sold_bps(leader_before: int, leader_sold: int) -> int:
    """The share of its tokens the leader sold, in basis points (floor, 0..10_000)."""
    if leader_before <= 0 or leader_sold <= 0:
        return 0
    return BPS if leader_sold >= leader_before else leader_sold * BPS // leader_before


def sell_amount(held: int, leader_before: int, leader_sold: int) -> int:
    """The user's tokens to sell: ``held * sold / before`` (floor); all of them when the leader
    sold everything it had."""
    if held <= 0 or leader_before <= 0 or leader_sold <= 0:
        return 0
    if leader_sold >= leader_before:
        return held
    return held * leader_sold // leader_before


def parse_size_bps(text: str) -> int:
    """ "25%" -> 2_500, "0.5%" -> 50: a share of the leader's size from 0.01 % to 100 %."""
    found = _PCT.fullmatch(text.strip())
    if text.strip().startswith("-") and text.strip().endswith("%"):
        raise InvalidCopyInput("the share of the leader's size must be greater than 0%")
    if found is None:
        raise InvalidCopyInput(
            f"'{echo(text.strip())}' is not a percentage; send a share like 25% (at most 2 "
            "decimal places)"
        )
    whole, cents = int(found.group(1)), int((found.group(2) or "0").ljust(2, "0"))
    bps = whole * 100 + cents
    if bps <= 0:
        raise InvalidCopyInput("the share of the leader's size must be greater than 0%")
    if bps > MAX_SIZE_BPS:
        raise InvalidCopyInput("the share of the leader's size is at most 100%")
    return bps


def format_size(mode: CopyMode, size_value: int) -> str:
    if mode is CopyMode.FIXED:
        return format_sol(size_value)
    whole, cents = divmod(size_value, 100)
    return f"{whole}.{cents:02d}".rstrip("0").rstrip(".") + " % of the leader's"
