"""A failed transaction's ``OrderError``: the generic classification, made specific by the venue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sniper_bot.domain.orders import OrderError
from sniper_bot.solana.tx_errors import classify_tx_error
from sniper_bot.trading.venue import Venue

__all__ = ["explain_tx_error"]


def explain_tx_error(
    venue: Venue,
    err: Any,
    *,
    program_ids: Sequence[str],
    logs: Sequence[str],
    stage: Literal["simulation", "onchain"] = "onchain",
) -> OrderError:
    """The generic classification, made specific by the venue when it knows the program
    (``VenueRouter.explain``: pump.fun's slippage, graduation and bug codes)."""
    error = classify_tx_error(err, program_ids=program_ids, logs=logs, stage=stage)
    explain = getattr(venue, "explain", None)
    return explain(error, program_ids, logs) if callable(explain) else error
