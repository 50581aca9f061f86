"""New tokens/pools seen on chain (``LaunchEvent``) and the snipe orders waiting for them.

A ``LaunchEvent`` is what a detection listener emits once per mint: where it was seen
(``source``), the mint, its pool (bonding curve or AMM account), the creator when known, the slot
and signature of the announcement, the listener's monotonic clock reading when it was decoded
(``seen_at``, for latency) and the endpoint whose copy arrived first.

A ``CurveUpdate`` is one step of a pump.fun coin's life on its bonding curve as its events tell
it (the create, every trade, the completion): the reserves the event reports, no account read.
``CurveProgress`` is the latest state per coin the detector keeps (``progress_bps``: the share of
the curve's sellable tokens already bought, 10,000 once complete).

A ``SnipeTarget`` is a user's standing order "buy ``amount_lamports`` of ``token_mint`` as soon as
it can be bought", stored in ``"SnipeTarget"``. Its life:

    ARMED --pool seen (CAS, one replica wins)--> FIRED(order_id) --order failed--> FAILED
      |\\--user--> CANCELLED
      \\--expires_at passed--> EXPIRED
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sniper_bot.domain.fees import FeeLevel

__all__ = [
    "INITIAL_REAL_TOKEN_RESERVES",
    "LAUNCH_SOURCES",
    "SNIPE_FINAL_STATES",
    "CurveEventKind",
    "CurveProgress",
    "CurveUpdate",
    "LaunchEvent",
    "LaunchSource",
    "SnipeStatus",
    "SnipeTarget",
]

LaunchSource = Literal["pumpfun", "raydium_v4", "raydium_cpmm", "pumpswap", "manual"]
LAUNCH_SOURCES: tuple[LaunchSource, ...] = (
    "pumpfun",
    "raydium_v4",
    "raydium_cpmm",
    "pumpswap",
    "manual",
)


@dataclass(frozen=True, slots=True)
class LaunchEvent:
    """A mint became tradable somewhere. Keys are base58 strings (no vendor types in domain)."""

    source: LaunchSource
    mint: str
    pool: str
    creator: str | None
    slot: int | None
    signature: str | None
    seen_at: float  # the listener's monotonic clock (seconds) when the notification was decoded
    endpoint: str  # the endpoint whose copy arrived first ("" when not from a WebSocket)


CurveEventKind = Literal["create", "trade", "complete"]
# Global.initial_real_token_reserves on mainnet (793.1 M tokens of 6 decimals): a curve whose
# create we did not see is measured against it.
INITIAL_REAL_TOKEN_RESERVES = 793_100_000_000_000


@dataclass(frozen=True, slots=True)
class CurveUpdate:
    """What one pump.fun event says about its coin's curve. Reserves are base units (lamports,
    token base units), ``None`` where the event does not carry them (a ``complete`` event)."""

    kind: CurveEventKind
    mint: str
    virtual_sol_reserves: int | None
    virtual_token_reserves: int | None
    real_sol_reserves: int | None
    real_token_reserves: int | None
    complete: bool
    slot: int | None
    signature: str | None
    seen_at: float
    initial_real_token_reserves: int | None = None  # a create's own figure
    token_total_supply: int | None = None
    is_buy: bool | None = None  # trades only
    sol_amount: int | None = None
    token_amount: int | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class CurveProgress:
    """The latest known state of one coin's bonding curve (integers only)."""

    mint: str
    virtual_sol_reserves: int
    virtual_token_reserves: int
    real_sol_reserves: int
    real_token_reserves: int
    complete: bool
    slot: int | None
    updated_at: float
    initial_real_token_reserves: int = INITIAL_REAL_TOKEN_RESERVES
    token_total_supply: int | None = None
    trades: int = 0

    @property
    def progress_bps(self) -> int:
        """Sold share of the curve's real tokens in basis points (pump.fun's progress bar)."""
        if self.complete:
            return 10_000
        initial = self.initial_real_token_reserves
        if initial <= 0:
            return 0
        sold = max(0, initial - self.real_token_reserves)
        return min(10_000, sold * 10_000 // initial)

    def market_cap_lamports(self, supply: int | None = None) -> int | None:
        """Spot price x supply in lamports (``None`` without a supply or reserves)."""
        total = supply if supply is not None else self.token_total_supply
        if total is None or self.virtual_token_reserves <= 0:
            return None
        return self.virtual_sol_reserves * total // self.virtual_token_reserves


class SnipeStatus(enum.StrEnum):
    ARMED = "ARMED"
    FIRED = "FIRED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


SNIPE_FINAL_STATES = frozenset({SnipeStatus.CANCELLED, SnipeStatus.EXPIRED, SnipeStatus.FAILED})


@dataclass(frozen=True, slots=True)
class SnipeTarget:
    """One row of ``"SnipeTarget"``. ``amount_lamports`` is SOL in; ``order_id`` the last order
    fired for it (a ``no_route`` retry fires a new order, see ``SnipeEngine``)."""

    id: int
    user_id: int
    wallet_id: int
    token_mint: str
    amount_lamports: int
    slippage_bps: int
    priority_fee: FeeLevel
    status: SnipeStatus
    created_at: datetime
    expires_at: datetime
    order_id: str | None = None
    fired_at: datetime | None = None
    error: str | None = None

    @property
    def is_armed(self) -> bool:
        return self.status is SnipeStatus.ARMED
