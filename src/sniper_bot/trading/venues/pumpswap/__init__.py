"""PumpSwap (pump AMM) venue: graduated pump.fun coins traded on their canonical pool directly."""

from sniper_bot.trading.venues.pumpswap.venue import (
    COMPUTE_UNITS,
    VENUE,
    PoolState,
    PumpSwapAccountError,
    PumpSwapChain,
    PumpSwapVenue,
)

__all__ = [
    "COMPUTE_UNITS",
    "VENUE",
    "PoolState",
    "PumpSwapAccountError",
    "PumpSwapChain",
    "PumpSwapVenue",
]
