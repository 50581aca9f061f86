"""The quoting port: where a quote (and, for trading, an unsigned swap transaction) comes from.

``Quoter`` is what the risk check, the snipe engine's route probe, the position monitor and the
token card call; ``Venue`` adds building the swap and is what the executor needs. Jupiter is the
first implementation (``trading.venues.jupiter``); pool venues are siblings under
``trading/venues``. Every implementation raises the ``TradingError`` family below, so callers sort
failures without importing trading.

TradingError (.error_type, .details)
├── VenueUnavailable(TemporaryError)   venue 5xx / timeout / connection / breaker open
│   └── VenueRateLimited               HTTP 429 (.retry_after from x-ratelimit-reset)
├── VenueAuthError(PermanentError)     401/403: JUPITER_API_KEY missing or wrong
├── NoRouteError(PermanentError)       routing error codes (no route, not tradable...)
└── VenueRequestError(PermanentError)  any other 4xx: the request itself is wrong
(``trading.errors`` adds SwapVerificationError and OrderFailed.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from solders.pubkey import Pubkey

from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.domain.quotes import Quote, SwapMode, SwapTransaction
from sniper_bot.errors import PermanentError, SniperBotError, TemporaryError

__all__ = [
    "JitoTip",
    "NoRouteError",
    "Quoter",
    "TradingError",
    "Venue",
    "VenueAuthError",
    "VenueRateLimited",
    "VenueRequestError",
    "VenueUnavailable",
]


class Quoter(Protocol):
    """Prices a route. Raises ``TradingError``s (``NoRouteError`` when there is none)."""

    async def quote(
        self,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode = "ExactIn",
    ) -> Quote: ...


@dataclass(frozen=True, slots=True)
class JitoTip:
    """A Jito tip the swap must carry: a System transfer of ``lamports`` from the user to
    ``account`` (one of Jito's tip accounts). A venue that builds its own transaction adds that
    transfer; Jupiter is asked for ``prioritizationFeeLamports: {"jitoTipLamports": lamports}``
    and picks the tip account itself."""

    lamports: int
    account: Pubkey

    def __post_init__(self) -> None:
        if isinstance(self.lamports, bool) or not isinstance(self.lamports, int):
            raise TypeError(f"a Jito tip is whole lamports, got {self.lamports!r}")
        if self.lamports <= 0:
            raise ValueError(f"a Jito tip must be above 0 lamports, got {self.lamports}")


class Venue(Quoter, Protocol):
    """A ``Quoter`` that also builds the unsigned transaction for a quote (with ``tip``: the
    transaction also tips a Jito tip account, so a block engine takes it as a bundle)."""

    @property
    def name(self) -> str: ...

    async def build_swap(
        self,
        quote: Quote,
        user_public_key: str,
        *,
        priority_fee_lamports: int | None,
        tip: JitoTip | None = None,
    ) -> SwapTransaction: ...


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
