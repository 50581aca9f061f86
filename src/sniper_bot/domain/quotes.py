"""Venue-neutral values of a swap: the quote and the unsigned transaction built from it.

Amounts are integers in base units (lamports for SOL). ``Quote.raw`` keeps the venue's quote object
verbatim because Jupiter's ``/swap`` wants it back unchanged; nothing outside the venue reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

__all__ = ["Quote", "RouteStep", "SwapMode", "SwapTransaction"]

SwapMode = Literal["ExactIn", "ExactOut"]


@dataclass(frozen=True, slots=True)
class RouteStep:
    """One hop of a route; ``bps`` is the share of the input routed through it (10 000 = all)."""

    amm_key: str
    label: str | None
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    bps: int
    fee_amount: int | None = None
    fee_mint: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced route. ``other_amount_threshold`` is the minimum out (ExactIn) after slippage."""

    venue: str
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    other_amount_threshold: int
    swap_mode: SwapMode
    slippage_bps: int
    price_impact_pct: Decimal
    route: tuple[RouteStep, ...]
    context_slot: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.in_amount < 0 or self.out_amount < 0 or self.other_amount_threshold < 0:
            raise ValueError("quote amounts cannot be negative")

    @property
    def amm_keys(self) -> tuple[str, ...]:
        """The pools the route touches (the accounts the swap writes), for fee estimates."""
        return tuple(step.amm_key for step in self.route)

    def to_json(self) -> dict[str, Any]:
        """The venue's own quote object: what ``"SniperOrder".quote`` stores."""
        return {"venue": self.venue, "quote": dict(self.raw)}


@dataclass(frozen=True, slots=True)
class SwapTransaction:
    """An unsigned (or co-signed) serialized v0 transaction and its blockhash deadline."""

    tx_bytes: bytes
    last_valid_block_height: int
    prioritization_fee_lamports: int | None = None
    compute_unit_limit: int | None = None
    simulation_error: str | None = None

    def __repr__(self) -> str:
        return (
            f"SwapTransaction(<{len(self.tx_bytes)} bytes>, "
            f"last_valid_block_height={self.last_valid_block_height})"
        )
