"""The order state machine and the classified order errors.

    PENDING -> QUOTED -> SIGNED -> SENT -> CONFIRMED | FAILED | EXPIRED
    any non-final state -> CANCELLED (only before SENT) | FAILED

The signature and its last valid block height are recorded on SIGNED, before the first send.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FINAL_STATES",
    "TRANSITIONS",
    "InvalidTransition",
    "OrderError",
    "OrderErrorType",
    "OrderSide",
    "OrderStatus",
    "check_transition",
]


class OrderStatus(enum.StrEnum):
    PENDING = "PENDING"
    QUOTED = "QUOTED"
    SIGNED = "SIGNED"
    SENT = "SENT"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class OrderSide(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


FINAL_STATES = frozenset(
    {OrderStatus.CONFIRMED, OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED}
)

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.QUOTED, OrderStatus.FAILED, OrderStatus.CANCELLED}),
    # QUOTED -> PENDING: a re-quote after the previous quote went stale before signing.
    OrderStatus.QUOTED: frozenset(
        {OrderStatus.SIGNED, OrderStatus.PENDING, OrderStatus.FAILED, OrderStatus.CANCELLED}
    ),
    OrderStatus.SIGNED: frozenset(
        {OrderStatus.SENT, OrderStatus.CONFIRMED, OrderStatus.FAILED, OrderStatus.EXPIRED}
    ),
    OrderStatus.SENT: frozenset({OrderStatus.CONFIRMED, OrderStatus.FAILED, OrderStatus.EXPIRED}),
    OrderStatus.CONFIRMED: frozenset(),
    OrderStatus.FAILED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class InvalidTransition(ValueError):
    """An order was asked to move along an edge the state machine does not have."""


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"order cannot move from {current} to {target}")


class OrderErrorType(enum.StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    SLIPPAGE_EXCEEDED = "slippage_exceeded"
    BLOCKHASH_EXPIRED = "blockhash_expired"
    FEE_TOO_LOW = "fee_too_low"
    NO_ROUTE = "no_route"
    INSUFFICIENT_LIQUIDITY = "insufficient_liquidity"
    HONEYPOT_BLOCKED = "honeypot_blocked"
    RPC_UNAVAILABLE = "rpc_unavailable"
    SIMULATION_FAILED = "simulation_failed"
    REJECTED = "rejected"


# The runbook's recovery steps, as the sentence a user reads.
USER_SENTENCES: dict[OrderErrorType, str] = {
    OrderErrorType.INSUFFICIENT_FUNDS: (
        "Not enough SOL for this trade plus fees. Deposit SOL to your wallet address and try again."
    ),
    OrderErrorType.SLIPPAGE_EXCEEDED: (
        "The price moved beyond your slippage tolerance. Raise slippage in /settings "
        "(300-500 bps is common for volatile tokens) and try again."
    ),
    OrderErrorType.BLOCKHASH_EXPIRED: (
        "The transaction expired before the network processed it. Nothing was spent; try again, "
        "or raise the priority fee in /settings."
    ),
    OrderErrorType.FEE_TOO_LOW: (
        "The network did not pick up the transaction in time. Raise the priority fee in "
        "/settings (HIGH or TURBO) and try again."
    ),
    OrderErrorType.NO_ROUTE: (
        "No route to swap this token right now. A brand-new pool can take a moment to become "
        "tradable; try again shortly."
    ),
    OrderErrorType.INSUFFICIENT_LIQUIDITY: (
        "The pool does not have enough liquidity for this size. Try a smaller amount."
    ),
    OrderErrorType.HONEYPOT_BLOCKED: (
        "Blocked: this token failed the safety check. See the findings for why."
    ),
    OrderErrorType.RPC_UNAVAILABLE: (
        "The Solana network is unreachable right now. Nothing was sent; try again in a minute."
    ),
    OrderErrorType.SIMULATION_FAILED: (
        "The swap failed in simulation, so it was not sent and nothing was spent."
    ),
    OrderErrorType.REJECTED: "The swap was rejected by the token's program.",
}


@dataclass(frozen=True, slots=True)
class OrderError:
    """Stored as JSON ``{type, message, ...}`` in ``"SniperOrder".error``."""

    type: OrderErrorType
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def user_message(self) -> str:
        """The type's sentence, or a venue's more specific one stored as ``details["sentence"]``."""
        sentence = self.details.get("sentence")
        return sentence if isinstance(sentence, str) and sentence else USER_SENTENCES[self.type]

    def to_json(self) -> dict[str, Any]:
        return {**self.details, "type": self.type.value, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderError:
        rest = {k: v for k, v in data.items() if k not in ("type", "message")}
        return cls(OrderErrorType(data["type"]), str(data.get("message", "")), rest)
