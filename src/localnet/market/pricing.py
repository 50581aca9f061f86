"""Constant-product pricing, pure and integer-only.

A pool charges `pool_fee_bps` on the input (Raydium v4 takes 25 bps). Token-2022 transfer fees are
taken by the token program on every transfer of the token leg, so a buy delivers `out - fee(out)`
and a sell lands `in - fee(in)` in the pool; quotes account for both, as Jupiter does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Side = Literal["buy", "sell"]  # buy: SOL -> token, sell: token -> SOL


@dataclass(frozen=True, slots=True)
class TransferFee:
    bps: int = 0
    maximum: int = 0

    def of(self, amount: int) -> int:
        """Token-2022 `calculate_fee`: ceil(amount * bps / 10_000), capped at `maximum`."""
        if self.bps == 0 or amount == 0:
            return 0
        return min(-(-amount * self.bps // 10_000), self.maximum)


NO_FEE = TransferFee()


@dataclass(frozen=True, slots=True)
class SwapMath:
    in_amount: int  # what the user gives
    out_amount: int  # what the user receives (net of transfer fees)
    pool_in: int  # what lands in the pool
    pool_out: int  # what leaves the pool
    fee_amount: int  # pool fee, in the input token
    price_impact_pct: Decimal


def constant_product_out(reserve_in: int, reserve_out: int, amount_in: int, fee_bps: int) -> int:
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        return 0
    after_fee = amount_in * (10_000 - fee_bps) // 10_000
    return after_fee * reserve_out // (reserve_in + after_fee)


def swap_exact_in(
    *,
    side: Side,
    amount_in: int,
    sol_reserve: int,
    token_reserve: int,
    pool_fee_bps: int,
    transfer_fee: TransferFee = NO_FEE,
) -> SwapMath:
    if side == "buy":
        reserve_in, reserve_out, pool_in = sol_reserve, token_reserve, amount_in
    else:
        reserve_in, reserve_out = token_reserve, sol_reserve
        pool_in = amount_in - transfer_fee.of(amount_in)
    pool_out = constant_product_out(reserve_in, reserve_out, pool_in, pool_fee_bps)
    out = pool_out - transfer_fee.of(pool_out) if side == "buy" else pool_out
    fee = amount_in * pool_fee_bps // 10_000
    impact = Decimal(0)
    if reserve_in > 0 and reserve_out > 0 and amount_in > 0:
        spot_out = Decimal(amount_in) * reserve_out / reserve_in
        impact = max(Decimal(0), (spot_out - Decimal(out)) / spot_out) if spot_out else Decimal(0)
    return SwapMath(amount_in, out, pool_in, pool_out, fee, impact)


def min_out(out_amount: int, slippage_bps: int) -> int:
    """Jupiter's otherAmountThreshold for ExactIn: floor(out * (10_000 - bps) / 10_000)."""
    return out_amount * (10_000 - slippage_bps) // 10_000


def platform_fee(amount: int, fee_bps: int) -> int:
    """A platform fee of `fee_bps` on `amount`, rounded down (Jupiter's fee on the output)."""
    return amount * fee_bps // 10_000
