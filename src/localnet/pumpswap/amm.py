"""PumpSwap's constant-product prices and fees, integers only: the program's arithmetic as
pump-swap-sdk's `buy.ts` / `sell.ts` / `fees.ts` mirror it (tests compare to the base unit).

Reserves are *effective*: the base vault's balance, and the quote vault's balance plus the pool's
signed `virtual_quote_reserves`. Fees are chosen by market cap from the pump-amm `FeeConfig`
(canonical pump pools) or its flat fees (any other pool)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from localnet.pump.curve import ceil_div, fee, fee_tier
from localnet.pump.state import USDC_MINT, ZERO
from localnet.pumpswap.state import WSOL_MINT, pool_authority_address

TOTAL_TOKEN_SUPPLY = 1_000_000_000_000_000  # pump-amm's market-cap basis for mayhem pools
_WSOL_2022 = Pubkey.from_string("9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP")


@dataclass(frozen=True, slots=True)
class Rates:
    lp_bps: int
    protocol_bps: int
    creator_bps: int  # 0 when the pool has no coin creator

    @property
    def total_bps(self) -> int:
        return self.lp_bps + self.protocol_bps + self.creator_bps


@dataclass(frozen=True, slots=True)
class Fees:
    lp: int
    protocol: int
    creator: int

    @property
    def total(self) -> int:
        return self.lp + self.protocol + self.creator


def market_cap(quote_reserve: int, base_reserve: int, base_supply: int, mayhem: bool) -> int:
    if base_reserve == 0:
        raise ZeroDivisionError("pool base reserve is zero")
    return quote_reserve * (TOTAL_TOKEN_SUPPLY if mayhem else base_supply) // base_reserve


def rates(
    global_config: dict[str, Any], fee_config: dict[str, Any] | None, pool: dict[str, Any],
    base_supply: int, base_reserve: int, effective_quote: int,
) -> Rates:  # fmt: skip
    """`computeFeesBps`: FeeConfig's tier (pump pools by market cap on effective reserves, other
    pools flat), a configured per-pool creator rate, GlobalConfig's rates without a FeeConfig."""
    if fee_config is None:
        lp = global_config["lp_fee_basis_points"]
        protocol = global_config["protocol_fee_basis_points"]
        creator = global_config["coin_creator_fee_basis_points"]
    else:
        quote = pool["quote_mint"]
        if pool["creator"] != pool_authority_address(pool["base_mint"]):
            schedule = dict(fee_config["flat_fees"])
        elif quote in (ZERO, WSOL_MINT, _WSOL_2022):
            cap = market_cap(effective_quote, base_reserve, base_supply, pool["is_mayhem_mode"])
            schedule = fee_tier(fee_config["fee_tiers"], cap)
        elif quote == USDC_MINT:
            cap = market_cap(effective_quote, base_reserve, base_supply, pool["is_mayhem_mode"])
            schedule = fee_tier(fee_config["stable_fee_tiers"] or fee_config["fee_tiers"], cap)
        else:
            exotic = fee_config["exotic_flat_fees"]
            schedule = dict(exotic if any(exotic.values()) else fee_config["flat_fees"])
        lp, protocol = schedule["lp_fee_bps"], schedule["protocol_fee_bps"]
        creator = schedule["creator_fee_bps"]
        if global_config["creator_fee_configurable"] and pool["creator_fee_bps"] > 0:
            creator = pool["creator_fee_bps"]
    if pool["coin_creator"] == ZERO:
        creator = 0
    return Rates(int(lp), int(protocol), int(creator))


def fees_on(amount: int, r: Rates) -> Fees:
    return Fees(fee(amount, r.lp_bps), fee(amount, r.protocol_bps), fee(amount, r.creator_bps))


def buy_quote_in(base_out: int, base_reserve: int, effective_quote: int) -> int:
    """Quote into the pool (before fees) for exactly `base_out`: ceil(Q * b / (B - b))."""
    return ceil_div(effective_quote * base_out, base_reserve - base_out)


def exact_quote_in(spendable: int, base_reserve: int, effective_quote: int,
                   r: Rates) -> tuple[int, int]:  # fmt: skip
    """`buy_exact_quote_in`: (base out, quote into the pool before fees) for a budget that pays
    the fees too (`buyQuoteInput`: net = q*1e4/(1e4+fees), trimmed until net+fees fit)."""
    net = spendable * 10_000 // (10_000 + r.total_bps)
    total = net + fees_on(net, r).total
    if total > spendable:
        net -= total - spendable
    if net <= 1:
        return 0, max(net, 0)
    return base_reserve * (net - 1) // (effective_quote + net - 1), net


def sell_quote_out(base_in: int, base_reserve: int, effective_quote: int) -> int:
    """Quote out of the pool (before fees) for `base_in`: floor(Q * b / (B + b))."""
    return effective_quote * base_in // (base_reserve + base_in)
