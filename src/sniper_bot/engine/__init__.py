"""Snipe orders: armed targets that fire through the trading service when their pool appears."""

from sniper_bot.engine.probe import QuoteRouteProbe
from sniper_bot.engine.snipe import (
    InvalidSnipe,
    SnipeConfig,
    SnipeEngine,
    SnipeResult,
    idempotency_key,
)

__all__ = [
    "InvalidSnipe",
    "QuoteRouteProbe",
    "SnipeConfig",
    "SnipeEngine",
    "SnipeResult",
    "idempotency_key",
]
