"""Limit orders and DCA plans: their states and the pure decisions the monitors make.

Prices are integers: **micro-lamports per whole token** (``PRICE_SCALE`` = 10**6 per lamport),
so a pump.fun coin at 0.000000028 SOL per token is 28_000_000 and 9_200 SOL per token still fits
a BIGINT. A market cap is lamports. Every comparison is made by cross-multiplying the reserves:
no float, no rounding at the trigger edge.
"""

from __future__ import annotations

import enum

__all__ = [
    "PRICE_SCALE",
    "DcaStatus",
    "LimitStatus",
    "TriggerKind",
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
