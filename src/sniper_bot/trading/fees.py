"""Priority fee policy (pure): fixed levels in total lamports, or AUTO from recent fees.

AUTO takes ``getRecentPrioritizationFees`` over the accounts the swap writes (micro-lamports per
CU), a percentile of the non-zero values (many zeros are normal), times the expected compute-unit
limit, capped by the user's maximum. Jupiter's ``prioritizationFeeLamports`` is a total in lamports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sniper_bot.domain.fees import FEE_LEVEL_LAMPORTS, FeeLevel

__all__ = [
    "AUTO_FLOOR_LAMPORTS",
    "DEFAULT_AUTO_PERCENTILE",
    "DEFAULT_COMPUTE_UNIT_LIMIT",
    "auto_priority_fee",
    "percentile",
    "priority_fee_lamports",
]

DEFAULT_COMPUTE_UNIT_LIMIT = 300_000
DEFAULT_AUTO_PERCENTILE = 75.0
AUTO_FLOOR_LAMPORTS = FEE_LEVEL_LAMPORTS[FeeLevel.LOW]
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000


def percentile(values: Sequence[int], pct: float) -> int:
    """Nearest-rank percentile (0 < pct <= 100) of ``values``; 0 for an empty sequence."""
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {pct}")
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def auto_priority_fee(
    recent_micro_lamports_per_cu: Sequence[int],
    *,
    max_lamports: int,
    compute_unit_limit: int = DEFAULT_COMPUTE_UNIT_LIMIT,
    pct: float = DEFAULT_AUTO_PERCENTILE,
    floor_lamports: int = AUTO_FLOOR_LAMPORTS,
) -> int:
    """Total priority fee in lamports for AUTO, within ``[min(floor, max), max_lamports]``."""
    if max_lamports < 0 or compute_unit_limit <= 0:
        raise ValueError("max_lamports must be >= 0 and compute_unit_limit > 0")
    nonzero = [fee for fee in recent_micro_lamports_per_cu if fee > 0]
    price = percentile(nonzero, pct)
    lamports = -(-price * compute_unit_limit // MICRO_LAMPORTS_PER_LAMPORT)  # ceil
    return min(max(lamports, floor_lamports), max_lamports)


def priority_fee_lamports(
    level: FeeLevel,
    *,
    max_lamports: int,
    recent_micro_lamports_per_cu: Sequence[int] = (),
    compute_unit_limit: int = DEFAULT_COMPUTE_UNIT_LIMIT,
) -> int:
    """Total priority fee for ``level``: fixed levels as chosen; AUTO capped by the maximum."""
    if level is FeeLevel.AUTO:
        return auto_priority_fee(
            recent_micro_lamports_per_cu,
            max_lamports=max_lamports,
            compute_unit_limit=compute_unit_limit,
        )
    return FEE_LEVEL_LAMPORTS[level]
