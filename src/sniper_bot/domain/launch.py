"""New tokens/pools seen on chain (``LaunchEvent``) and the snipe orders waiting for them.

A ``LaunchEvent`` is what a detection listener emits once per mint: where it was seen
(``source``), the mint, its pool (bonding curve or AMM account), the creator when known, the slot
and signature of the announcement, the listener's monotonic clock reading when it was decoded
(``seen_at``, for latency) and the endpoint whose copy arrived first.

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
    "LAUNCH_SOURCES",
    "SNIPE_FINAL_STATES",
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
