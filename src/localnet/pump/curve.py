"""Bonding-curve prices and FeeConfig tiered fees, integers only (the program's arithmetic, which
pump-sdk's bondingCurve.ts / fees.ts mirror; tests compare the two to the base unit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from localnet.pump.state import USDC_MINT, ZERO

ONE_BILLION_SUPPLY = 1_000_000_000_000_000
_WSOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
_WSOL_2022 = Pubkey.from_string("9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP")


def ceil_div(a: int, b: int) -> int:
    return (a + b - 1) // b


def fee(amount: int, bps: int) -> int:
    return ceil_div(amount * bps, 10_000)


@dataclass(frozen=True, slots=True)
class FeeRates:
    protocol_bps: int
    creator_bps: int


def market_cap(virtual_quote: int, virtual_token: int, supply: int) -> int:
    return virtual_quote * supply // virtual_token


def fee_tier(tiers: list[dict[str, Any]], cap: int) -> dict[str, int]:
    if not tiers:
        raise ValueError("FeeConfig has no fee tiers")
    if cap < tiers[0]["market_cap_lamports_threshold"]:
        return dict(tiers[0]["fees"])
    for tier in reversed(tiers):
        if cap >= tier["market_cap_lamports_threshold"]:
            return dict(tier["fees"])
    return dict(tiers[0]["fees"])


def fee_rates(
    global_: dict[str, Any], fee_config: dict[str, Any] | None, curve: dict[str, Any]
) -> FeeRates:
    """The protocol and creator rates a trade on `curve` pays, chosen from the curve's state
    before the trade: FeeConfig's market-cap tier for SOL-like quotes (supply: one billion unless
    the coin is a mayhem coin), Global's flat rates without a FeeConfig."""
    if fee_config is None:
        schedule = {
            "protocol_fee_bps": global_["fee_basis_points"],
            "creator_fee_bps": global_["creator_fee_basis_points"],
        }
    else:
        supply = curve["token_total_supply"] if curve["is_mayhem_mode"] else ONE_BILLION_SUPPLY
        cap = market_cap(curve["virtual_quote_reserves"], curve["virtual_token_reserves"], supply)
        quote = curve["quote_mint"]
        if quote in (ZERO, _WSOL, _WSOL_2022):
            schedule = fee_tier(fee_config["fee_tiers"], cap)
        elif quote == USDC_MINT:
            schedule = fee_tier(fee_config["stable_fee_tiers"] or fee_config["fee_tiers"], cap)
        else:
            exotic = fee_config["exotic_flat_fees"]
            schedule = dict(exotic if any(exotic.values()) else fee_config["flat_fees"])
    creator_bps = schedule["creator_fee_bps"]
    if global_["creator_fee_configurable"] and curve["creator_fee_bps"]:
        creator_bps = curve["creator_fee_bps"]
    if curve["creator"] == ZERO:
        creator_bps = 0  # no creator, no creator fee
    return FeeRates(schedule["protocol_fee_bps"], creator_bps)


def buy_cost(curve: dict[str, Any], tokens: int) -> int:
    """Lamports into the curve for `tokens` (before fees)."""
    vt, vq = int(curve["virtual_token_reserves"]), int(curve["virtual_quote_reserves"])
    return tokens * vq // (vt - tokens) + 1


def sell_proceeds(curve: dict[str, Any], tokens: int) -> int:
    """Lamports out of the curve for `tokens` (before fees)."""
    vt, vq = int(curve["virtual_token_reserves"]), int(curve["virtual_quote_reserves"])
    return tokens * vq // (vt + tokens)


def exact_sol_in_tokens(curve: dict[str, Any], spendable: int, rates: FeeRates) -> tuple[int, int]:
    """`buy_exact_sol_in`: (tokens out, lamports into the curve) for a budget that includes fees
    (the IDL's documented quote: net = spendable*1e4/(1e4+fees), trimmed until net+fees fit)."""
    total_bps = rates.protocol_bps + rates.creator_bps
    net = spendable * 10_000 // (10_000 + total_bps)
    fees = fee(net, rates.protocol_bps) + fee(net, rates.creator_bps)
    if net + fees > spendable:
        net -= net + fees - spendable
    if net <= 1:
        return 0, 0
    vt, vq = curve["virtual_token_reserves"], curve["virtual_quote_reserves"]
    tokens = (net - 1) * vt // (vq + net - 1)
    return tokens, net
