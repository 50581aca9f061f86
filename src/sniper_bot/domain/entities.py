"""Persisted domain entities: what the storage repositories return (never ORM rows).

Money is integers: lamports for SOL, base units for tokens. Datetimes are timezone-aware UTC.
The position arithmetic lives here as a pure function (``apply_fill``) so it can be property
tested apart from the database.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sniper_bot.domain.exits import ExitRule, LadderStep
from sniper_bot.domain.fees import DEFAULT_SLIPPAGE_BPS, DEFAULT_SNIPE_SLIPPAGE_BPS, FeeLevel
from sniper_bot.domain.orders import FINAL_STATES, OrderError, OrderSide, OrderStatus
from sniper_bot.domain.wallets import SealedSecret

__all__ = [
    "DEFAULT_BUY_PRESETS_LAMPORTS",
    "DEFAULT_MAX_PRIORITY_FEE_LAMPORTS",
    "MIN_JITO_TIP_LAMPORTS",
    "TIP_PERCENTILES",
    "HoneypotCheckRecord",
    "Order",
    "OrderKind",
    "Position",
    "PositionStatus",
    "PositionTotals",
    "SessionRecord",
    "Trade",
    "User",
    "UserSettings",
    "Wallet",
    "apply_fill",
]

DEFAULT_BUY_PRESETS_LAMPORTS: tuple[int, ...] = (100_000_000, 500_000_000, 1_000_000_000)
DEFAULT_MAX_PRIORITY_FEE_LAMPORTS = 1_000_000  # TURBO: the cap applied to AUTO fees by default
# Jito tips (UserSettings.jito_tip_lamports / tip_percentile): the tip floor's percentiles a user
# can pick, and Jito's own minimum tip (1,000 lamports).
TIP_PERCENTILES: tuple[int, ...] = (50, 75, 95, 99)
MIN_JITO_TIP_LAMPORTS = 1_000


class OrderKind(enum.StrEnum):
    MANUAL = "MANUAL"
    SNIPE = "SNIPE"


class PositionStatus(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    telegram_id: int
    username: str | None
    is_admin: bool
    pin_hash: str | None
    pin_failed_attempts: int
    pin_locked_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def has_pin(self) -> bool:
        return self.pin_hash is not None

    def __repr__(self) -> str:  # the PIN hash stays out of logs and tracebacks
        return f"User(id={self.id}, telegram_id={self.telegram_id}, username={self.username!r})"


@dataclass(frozen=True, slots=True)
class Wallet:
    id: int
    user_id: int
    public_key: str
    label: str
    is_active: bool
    sealed: SealedSecret
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UserSettings:
    user_id: int
    slippage_bps: int = DEFAULT_SLIPPAGE_BPS
    snipe_slippage_bps: int = DEFAULT_SNIPE_SLIPPAGE_BPS
    priority_fee_level: FeeLevel = FeeLevel.MEDIUM
    max_priority_fee_lamports: int = DEFAULT_MAX_PRIORITY_FEE_LAMPORTS
    buy_presets_lamports: tuple[int, ...] = DEFAULT_BUY_PRESETS_LAMPORTS
    confirm_trades: bool = False  # a manual buy asks first (0015_notify_prefs: off by default)
    updated_at: datetime | None = None  # None: never saved, these are the defaults
    # automatic exits (sniper_bot.domain.exits): None turns a rule off
    take_profit_pct: int | None = None
    stop_loss_pct: int | None = None
    trailing_stop_pct: int | None = None
    max_hold_minutes: int | None = None
    # how orders are sent and routed (0008_trade_settings)
    mev_protection: bool = False  # swaps go as Jito bundles only, never to the public mempool
    jito_tip_lamports: int | None = None  # a fixed tip; None: from the tip floor (percentile)
    tip_percentile: int | None = None  # one of TIP_PERCENTILES; None: JITO_TIP_PERCENTILE's
    force_jupiter: bool = False  # every order through Jupiter, even a pump.fun/PumpSwap coin
    paper_trading: bool = False  # this user's orders go to the simulated executor (0010)
    # take-profit ladder and "sell when the creator sells" (0014_exit_ladders; domain.exits)
    exit_ladder: tuple[LadderStep, ...] = ()
    sell_with_creator: bool = False
    # which pushed messages this user gets (0015_notify_prefs; domain.notify.NoticeKind)
    notify_fills: bool = True
    notify_exits: bool = True
    notify_snipe_misses: bool = True
    notify_copies: bool = True


@dataclass(frozen=True, slots=True)
class Order:
    """One row of ``"SniperOrder"``: a persisted order state machine.

    ``amount`` is the input amount (lamports for BUY, token base units for SELL). ``signed_tx`` is
    the exact signed transaction to resend until ``last_valid_block_height`` passes.
    """

    id: str
    user_id: int
    wallet_id: int | None
    kind: OrderKind
    token_mint: str
    side: OrderSide
    amount: int
    slippage_bps: int
    priority_fee: FeeLevel
    priority_fee_lamports: int
    status: OrderStatus
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    signature: str | None = None
    last_valid_block_height: int | None = None
    signed_tx: bytes | None = field(default=None, repr=False)
    quote: Mapping[str, Any] | None = field(default=None, repr=False)
    error: OrderError | None = None
    attempts: int = 0
    in_amount: int | None = None
    out_amount: int | None = None
    fee_lamports: int | None = None
    locked_by: str | None = None
    locked_until: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES


@dataclass(frozen=True, slots=True)
class Position:
    id: int
    user_id: int
    wallet_id: int
    token_mint: str
    token_amount: int
    cost_basis_lamports: int
    realized_pnl_lamports: int
    status: PositionStatus
    opened_at: datetime
    updated_at: datetime
    exit_plan: ExitRule | None = None  # its own exits (0014_exit_ladders); None: the owner's


@dataclass(frozen=True, slots=True)
class Trade:
    """A landed swap. BUY: in = lamports spent, out = tokens received; SELL: the reverse."""

    id: int
    order_id: str
    user_id: int
    wallet_id: int | None
    token_mint: str
    side: OrderSide
    in_amount: int
    out_amount: int
    fee_lamports: int
    signature: str
    slot: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HoneypotCheckRecord:
    id: int
    token_mint: str
    risk_score: int
    is_honeypot: bool
    details: Mapping[str, Any]
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    key: str
    user_id: int | None
    data: Mapping[str, Any]
    expires_at: datetime
    version: int = 0


@dataclass(frozen=True, slots=True)
class PositionTotals:
    token_amount: int
    cost_basis_lamports: int
    realized_pnl_lamports: int

    @property
    def is_open(self) -> bool:
        return self.token_amount > 0


def apply_fill(
    before: PositionTotals, side: OrderSide, in_amount: int, out_amount: int, fee_lamports: int
) -> PositionTotals:
    """Apply one landed trade to a position with average-cost accounting, in integers.

    BUY (``in_amount`` lamports -> ``out_amount`` tokens): tokens += out; cost += in + fee.
    SELL (``in_amount`` tokens -> ``out_amount`` lamports): the sold share of the cost is
    ``cost * sold // held`` (floor division, so the rounding remainder stays in the cost of the
    tokens still held and is released exactly when the last token is sold); realised PnL grows by
    ``out - fee - cost_share``. Selling more than is held (tokens that came from outside the bot)
    releases the whole cost and leaves zero tokens.

    Invariant: realised == sum(sell out - fee) - sum(buy in + fee) + remaining cost.
    """
    if min(in_amount, out_amount, fee_lamports) < 0:
        raise ValueError("trade amounts and fees cannot be negative")
    if side is OrderSide.BUY:
        return PositionTotals(
            token_amount=before.token_amount + out_amount,
            cost_basis_lamports=before.cost_basis_lamports + in_amount + fee_lamports,
            realized_pnl_lamports=before.realized_pnl_lamports,
        )
    held = before.token_amount
    sold = min(in_amount, held)
    if sold >= held:
        cost_share = before.cost_basis_lamports
    else:
        cost_share = before.cost_basis_lamports * sold // held
    return PositionTotals(
        token_amount=held - sold,
        cost_basis_lamports=before.cost_basis_lamports - cost_share,
        realized_pnl_lamports=before.realized_pnl_lamports + out_amount - fee_lamports - cost_share,
    )
