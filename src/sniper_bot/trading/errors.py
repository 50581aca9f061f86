"""Errors of trading, each carrying the classified ``OrderErrorType`` it stores as.

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

from typing import Any

from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.errors import PermanentError, SniperBotError, TemporaryError

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


class TradingError(SniperBotError):
    """Root of trading errors; ``order_error`` is what the order row stores."""

    error_type: OrderErrorType = OrderErrorType.SIMULATION_FAILED

    def __init__(
        self,
        message: str,
        *,
        error_type: OrderErrorType | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        kind = error_type or type(self).error_type
        super().__init__(message, user_message=OrderError(kind, message).user_message)
        self.error_type = kind
        self.details = details or {}
        self.retry_after = retry_after

    @property
    def order_error(self) -> OrderError:
        return OrderError(self.error_type, self.message, dict(self.details))


class VenueUnavailable(TradingError, TemporaryError):
    """The venue did not answer usefully (5xx, timeout, breaker open); try again later."""

    error_type = OrderErrorType.RPC_UNAVAILABLE


class VenueRateLimited(VenueUnavailable):
    """HTTP 429; ``retry_after`` seconds until a request slot frees."""


class VenueAuthError(TradingError, PermanentError):
    """401/403: set JUPITER_API_KEY to a valid key from portal.jup.ag (or use the keyless host)."""

    error_type = OrderErrorType.RPC_UNAVAILABLE


class NoRouteError(TradingError, PermanentError):
    """The venue has no route for this pair/amount (``details['errorCode']`` says which)."""

    error_type = OrderErrorType.NO_ROUTE


class VenueRequestError(TradingError, PermanentError):
    """The venue rejected the request as malformed: a bug on our side, not retryable."""

    error_type = OrderErrorType.NO_ROUTE


class SwapVerificationError(TradingError, PermanentError):
    """The swap transaction does not match the quote or our rules; it was not signed."""

    error_type = OrderErrorType.REJECTED


class OrderFailed(TradingError, PermanentError):
    """A classified failure of an order (simulation, on-chain error, expiry)."""

    @classmethod
    def from_order_error(cls, error: OrderError) -> OrderFailed:
        return cls(error.message, error_type=error.type, details=dict(error.details))
