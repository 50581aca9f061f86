"""The ``Venue`` port: where a quote and an unsigned swap transaction come from.

Jupiter is the first implementation; direct pool venues (pump.fun, PumpSwap, Raydium) can be
added later as siblings under ``venues/`` because Jupiter cannot route a brand-new pool at first.
"""

from __future__ import annotations

from typing import Protocol

from sniper_bot.domain.quotes import Quote, SwapMode, SwapTransaction

__all__ = ["Venue"]


class Venue(Protocol):
    """Prices a route and builds the unsigned transaction for it. Raises ``TradingError``s."""

    @property
    def name(self) -> str: ...

    async def quote(
        self,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode = "ExactIn",
    ) -> Quote: ...

    async def build_swap(
        self, quote: Quote, user_public_key: str, *, priority_fee_lamports: int | None
    ) -> SwapTransaction: ...
