"""``CurveBook``: the bonding-curve progress of every pump.fun coin seen, from its events only.

    book = CurveBook(max_coins=50_000)
    progress = book.apply(update)        # a CurveUpdate from PumpFunListener
    book.get(mint)                       # CurveProgress | None, progress_bps, market cap

Bounded (least recently updated coins are forgotten first). Updates from an older slot than the
one kept are ignored (two endpoints, a late copy); a completed curve stays complete. A trade of a
coin whose create was not seen starts its entry (measured against mainnet's initial reserves).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from sniper_bot.domain.launch import INITIAL_REAL_TOKEN_RESERVES, CurveProgress, CurveUpdate
from sniper_bot.resilience.lru import LruCache

__all__ = ["CurveBook"]


class CurveBook:
    def __init__(
        self, max_coins: int = 50_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._coins: LruCache[str, CurveProgress] = LruCache(max_coins, clock)

    def __len__(self) -> int:
        return len(self._coins)

    def get(self, mint: str) -> CurveProgress | None:
        return self._coins.get(mint)

    def apply(self, update: CurveUpdate) -> CurveProgress | None:
        """Fold ``update`` in; the coin's progress after it (``None``: nothing known yet)."""
        current = self._coins.get(update.mint)
        if (
            current is not None
            and update.slot is not None
            and current.slot is not None
            and update.slot < current.slot
            and not update.complete
        ):
            return current  # a late copy of an older trade
        if current is None:
            if update.virtual_sol_reserves is None or update.virtual_token_reserves is None:
                return None  # a completion of a coin never seen: nothing to measure
            current = CurveProgress(
                mint=update.mint,
                virtual_sol_reserves=update.virtual_sol_reserves,
                virtual_token_reserves=update.virtual_token_reserves,
                real_sol_reserves=update.real_sol_reserves or 0,
                real_token_reserves=(
                    update.real_token_reserves
                    if update.real_token_reserves is not None
                    else INITIAL_REAL_TOKEN_RESERVES
                ),
                complete=update.complete,
                slot=update.slot,
                updated_at=update.seen_at,
                initial_real_token_reserves=(
                    update.initial_real_token_reserves or INITIAL_REAL_TOKEN_RESERVES
                ),
                token_total_supply=update.token_total_supply,
                trades=1 if update.kind == "trade" else 0,
            )
        else:
            current = replace(
                current,
                virtual_sol_reserves=_or(update.virtual_sol_reserves, current.virtual_sol_reserves),
                virtual_token_reserves=_or(
                    update.virtual_token_reserves, current.virtual_token_reserves
                ),
                real_sol_reserves=_or(update.real_sol_reserves, current.real_sol_reserves),
                real_token_reserves=_or(update.real_token_reserves, current.real_token_reserves),
                complete=current.complete or update.complete,
                slot=_newest(update.slot, current.slot),
                updated_at=update.seen_at,
                initial_real_token_reserves=_or(
                    update.initial_real_token_reserves, current.initial_real_token_reserves
                ),
                token_total_supply=(
                    current.token_total_supply
                    if update.token_total_supply is None
                    else update.token_total_supply
                ),
                trades=current.trades + (1 if update.kind == "trade" else 0),
            )
        self._coins.set(update.mint, current)
        return current


def _newest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value
