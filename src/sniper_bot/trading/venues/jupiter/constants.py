"""Jupiter facts as data: program id, error codes and what each one means for an order."""

from __future__ import annotations

from sniper_bot.domain.orders import OrderErrorType

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

JUPITER_V6_PROGRAM = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"

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

SLIPPAGE_TOLERANCE_EXCEEDED = 6001  # 0x1771
# On-chain Jupiter program errors (custom codes) -> order error type.
ONCHAIN_ERRORS: dict[int, OrderErrorType] = {
    6000: OrderErrorType.NO_ROUTE,  # EmptyRoute
    SLIPPAGE_TOLERANCE_EXCEEDED: OrderErrorType.SLIPPAGE_EXCEEDED,
    6017: OrderErrorType.SLIPPAGE_EXCEEDED,  # ExactOutAmountNotMatched
    6024: OrderErrorType.INSUFFICIENT_FUNDS,  # InsufficientFunds
}
