"""Bonding-curve prices and FeeConfig's market-cap tiers, integers only.

The program's arithmetic as pump-sdk 2.0.0 writes it (`bondingCurve.ts`, `fees.ts`); the tests
compare every function with the SDK to the base unit. ``mint_supply`` is what the SDK's callers
pass: the curve's own supply for a mayhem coin, one billion tokens (1e15 base units) otherwise,
which is also what the program prices fees with.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from sniper_bot.solana.pumpfun import (
    STABLE_QUOTE_MINTS,
    WSOL_2022_MINT,
    WSOL_MINT,
    BondingCurve,
    FeeConfig,
    Fees,
    FeeTier,
    Global,
)

__all__ = [
    "ONE_BILLION_SUPPLY",
    "FeeRates",
    "buy_sol_for_tokens",
    "buy_tokens_for_sol",
    "compute_fee_rates",
    "fee",
    "fee_tier",
    "market_cap",
    "mint_supply_for",
    "sell_sol_for_tokens",
    "with_slippage_down",
    "with_slippage_up",
]

ONE_BILLION_SUPPLY = 1_000_000_000_000_000
_SOL_LIKE = frozenset({Pubkey.default(), WSOL_MINT, WSOL_2022_MINT})


@dataclass(frozen=True, slots=True)
class FeeRates:
    protocol_bps: int
    creator_bps: int


def ceil_div(a: int, b: int) -> int:
    return (a + b - 1) // b


def fee(amount: int, bps: int) -> int:
    return ceil_div(amount * bps, 10_000)


def market_cap(virtual_quote: int, virtual_token: int, supply: int) -> int:
    if virtual_token == 0:
        raise ZeroDivisionError("virtual token reserves cannot be zero")
    return virtual_quote * supply // virtual_token


def mint_supply_for(curve: BondingCurve) -> int:
    return curve.token_total_supply if curve.is_mayhem_mode else ONE_BILLION_SUPPLY


def fee_tier(tiers: tuple[FeeTier, ...], cap: int) -> Fees:
    """pump-fees-math `calculate_fee_tier`."""
    if not tiers:
        raise ValueError("FeeConfig has no fee tiers")
    if cap < tiers[0].market_cap_lamports_threshold:
        return tiers[0].fees
    for tier in reversed(tiers):
        if cap >= tier.market_cap_lamports_threshold:
            return tier.fees
    return tiers[0].fees


def _schedule(
    global_: Global, fee_config: FeeConfig | None, supply: int, curve: BondingCurve
) -> FeeRates:
    if fee_config is None:
        return FeeRates(global_.fee_basis_points, global_.creator_fee_basis_points)
    cap = market_cap(curve.virtual_quote_reserves, curve.virtual_token_reserves, supply)
    quote = curve.quote_mint
    if quote in _SOL_LIKE:
        fees = fee_tier(fee_config.fee_tiers, cap)
    elif quote in STABLE_QUOTE_MINTS:
        fees = fee_tier(fee_config.stable_fee_tiers or fee_config.fee_tiers, cap)
    else:
        exotic = fee_config.exotic_flat_fees
        fees = fee_config.flat_fees if exotic.is_zero else exotic
    return FeeRates(fees.protocol_fee_bps, fees.creator_fee_bps)


def compute_fee_rates(
    global_: Global, fee_config: FeeConfig | None, supply: int, curve: BondingCurve
) -> FeeRates:
    """fees.ts `computeFeesBps`: the schedule's rates, the curve's own creator rate when
    Global lets creators configure it."""
    schedule = _schedule(global_, fee_config, supply, curve)
    if not global_.creator_fee_configurable or curve.creator_fee_bps == 0:
        return schedule
    return FeeRates(schedule.protocol_bps, curve.creator_fee_bps)


def _total_fee(
    global_: Global, fee_config: FeeConfig | None, supply: int, curve: BondingCurve, amount: int
) -> int:
    """fees.ts `getFee` on an existing curve: no creator, no creator fee."""
    # getFee prices with the supply it is handed for a mayhem coin, one billion otherwise
    effective = supply if curve.is_mayhem_mode else ONE_BILLION_SUPPLY
    rates = compute_fee_rates(global_, fee_config, effective, curve)
    total = fee(amount, rates.protocol_bps)
    if curve.has_creator:
        total += fee(amount, rates.creator_bps)
    return total


def buy_tokens_for_sol(
    global_: Global, fee_config: FeeConfig | None, supply: int, curve: BondingCurve, lamports: int
) -> int:
    """`getBuyTokenAmountFromSolAmount`: tokens ``lamports`` (fees included) buy now."""
    if lamports == 0 or curve.virtual_token_reserves == 0:
        return 0
    rates = compute_fee_rates(global_, fee_config, supply, curve)
    total_bps = rates.protocol_bps + (rates.creator_bps if curve.has_creator else 0)
    spend = (lamports - 1) * 10_000 // (total_bps + 10_000)
    tokens = spend * curve.virtual_token_reserves // (curve.virtual_quote_reserves + spend)
    return min(tokens, curve.real_token_reserves)


def buy_sol_for_tokens(
    global_: Global, fee_config: FeeConfig | None, supply: int, curve: BondingCurve, tokens: int
) -> int:
    """`getBuySolAmountFromTokenAmount`: lamports (fees included) ``tokens`` cost now."""
    if tokens == 0 or curve.virtual_token_reserves == 0:
        return 0
    take = min(tokens, curve.real_token_reserves)
    cost = take * curve.virtual_quote_reserves // (curve.virtual_token_reserves - take) + 1
    return cost + _total_fee(global_, fee_config, supply, curve, cost)


def sell_sol_for_tokens(
    global_: Global, fee_config: FeeConfig | None, supply: int, curve: BondingCurve, tokens: int
) -> int:
    """`getSellSolAmountFromTokenAmount`: lamports a sell of ``tokens`` pays out, net of fees."""
    if tokens == 0 or curve.virtual_token_reserves == 0:
        return 0
    gross = tokens * curve.virtual_quote_reserves // (curve.virtual_token_reserves + tokens)
    return gross - _total_fee(global_, fee_config, supply, curve, gross)


def with_slippage_up(amount: int, slippage_bps: int) -> int:
    """`max_sol_cost`: sdk.ts adds ``amount * floor(slippage% * 10) / 1000`` (= bps / 10 000)."""
    return amount + amount * slippage_bps // 10_000


def with_slippage_down(amount: int, slippage_bps: int) -> int:
    """`min_sol_output`: the same share taken off."""
    return amount - amount * slippage_bps // 10_000
