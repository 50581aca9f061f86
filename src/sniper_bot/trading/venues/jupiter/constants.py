"""Jupiter API facts as data: HTTP error codes and what each one means for an order (the program
id and its on-chain error codes are Solana facts: ``sniper_bot.solana``)."""

from __future__ import annotations

from sniper_bot.domain.orders import OrderErrorType
from sniper_bot.solana.programs import JUPITER_V6_PROGRAM
from sniper_bot.solana.tx_errors import JUPITER_ONCHAIN_ERRORS as ONCHAIN_ERRORS
from sniper_bot.solana.tx_errors import SLIPPAGE_TOLERANCE_EXCEEDED

__all__ = [
    "DEFAULT_BASE_URL",
    "JUPITER_V6_PROGRAM",
    "KNOWN_VERSION_SUFFIXES",
    "ONCHAIN_ERRORS",
    "ROUTING_ERROR_TYPES",
    "SLIPPAGE_TOLERANCE_EXCEEDED",
]

DEFAULT_BASE_URL = "https://lite-api.jup.ag/swap/v1"
# Path suffixes that already name an API version; anything else gets "/swap/v1" appended.
KNOWN_VERSION_SUFFIXES = ("/swap/v1", "/v6")

# HTTP `errorCode`s (docs swap/v1/common-errors.mdx) -> what the order records.
ROUTING_ERROR_TYPES: dict[str, OrderErrorType] = {
    "NO_ROUTES_FOUND": OrderErrorType.NO_ROUTE,
    "COULD_NOT_FIND_ANY_ROUTE": OrderErrorType.NO_ROUTE,
    "MARKET_NOT_FOUND": OrderErrorType.NO_ROUTE,
    "TOKEN_NOT_TRADABLE": OrderErrorType.NO_ROUTE,
    "NOT_SUPPORTED": OrderErrorType.NO_ROUTE,
    "CIRCULAR_ARBITRAGE_IS_DISABLED": OrderErrorType.NO_ROUTE,
    "CANNOT_COMPUTE_OTHER_AMOUNT_THRESHOLD": OrderErrorType.NO_ROUTE,
    "ROUTE_PLAN_DOES_NOT_CONSUME_ALL_THE_AMOUNT": OrderErrorType.INSUFFICIENT_LIQUIDITY,
    "FAILED_TO_GET_SWAP_AND_ACCOUNT_METAS": OrderErrorType.NO_ROUTE,
}
# Swap-building codes that mean our request is wrong (a bug to fix, not a market condition).
REQUEST_ERROR_CODES = frozenset(
    {"MAX_ACCOUNT_GREATER_THAN_MAX", "INVALID_COMPUTE_UNIT_PRICE_AND_PRIORITIZATION_FEE"}
)
