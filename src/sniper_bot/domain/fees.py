"""Priority fee levels (total lamports on top of the base fee) and slippage."""

from __future__ import annotations

import enum

__all__ = [
    "DEFAULT_SLIPPAGE_BPS",
    "DEFAULT_SNIPE_SLIPPAGE_BPS",
    "FEE_LEVEL_LAMPORTS",
    "MAX_SLIPPAGE_BPS",
    "FeeLevel",
    "validate_slippage_bps",
]

DEFAULT_SLIPPAGE_BPS = 100
DEFAULT_SNIPE_SLIPPAGE_BPS = 1_500
MAX_SLIPPAGE_BPS = 5_000


class FeeLevel(enum.StrEnum):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    TURBO = "TURBO"
    ULTRA = "ULTRA"
    AUTO = "AUTO"


FEE_LEVEL_LAMPORTS: dict[FeeLevel, int] = {
    FeeLevel.NONE: 0,
    FeeLevel.LOW: 1_000,
    FeeLevel.MEDIUM: 10_000,
    FeeLevel.HIGH: 100_000,
    FeeLevel.TURBO: 1_000_000,
    FeeLevel.ULTRA: 10_000_000,
}


def validate_slippage_bps(bps: int) -> int:
    if not 1 <= bps <= MAX_SLIPPAGE_BPS:
        raise ValueError(f"slippage must be between 1 and {MAX_SLIPPAGE_BPS} bps, got {bps}")
    return bps
