"""Errors of trading, each carrying the classified ``OrderErrorType`` it stores as.

The venue errors are the quoting port's (``sniper_bot.ports.venue``: every caller of a quote sorts
by them); they are re-exported here for trading's own modules. This module adds the last two.

TradingError (.error_type, .details)
├── VenueUnavailable(TemporaryError)   venue 5xx / timeout / connection / breaker open
├── VenueRateLimited(TemporaryError)   HTTP 429 (.retry_after from x-ratelimit-reset)
├── VenueAuthError(PermanentError)     401/403: JUPITER_API_KEY missing or wrong
├── NoRouteError(PermanentError)       routing error codes (no route, not tradable...)
├── VenueRequestError(PermanentError)  any other 4xx: the request itself is wrong
├── SwapVerificationError(PermanentError)  the venue's transaction is not what we asked for
└── OrderFailed(PermanentError)        a classified failure (simulation, on chain, expiry)
"""

from __future__ import annotations

from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.errors import PermanentError
from sniper_bot.ports.venue import (
    NoRouteError,
    TradingError,
    VenueAuthError,
    VenueRateLimited,
    VenueRequestError,
    VenueUnavailable,
)

__all__ = [
    "NoRouteError",
    "OrderFailed",
    "SwapVerificationError",
    "TradingError",
    "VenueAuthError",
    "VenueRateLimited",
    "VenueRequestError",
    "VenueUnavailable",
]


class SwapVerificationError(TradingError, PermanentError):
    """The swap transaction does not match the quote or our rules; it was not signed."""

    error_type = OrderErrorType.REJECTED


class OrderFailed(TradingError, PermanentError):
    """A classified failure of an order (simulation, on-chain error, expiry)."""

    @classmethod
    def from_order_error(cls, error: OrderError) -> OrderFailed:
        return cls(error.message, error_type=error.type, details=dict(error.details))
