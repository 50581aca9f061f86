"""Actual swap amounts from a landed transaction's pre/post balances (never from the quote).

BUY:  in = lamports that left the wallet, excluding the network fee (includes the rent of a new
      token account); out = token base units the wallet's token accounts of the mint gained.
SELL: in = token base units that left the wallet; out = lamports the wallet gained before the fee.
``fee`` is ``meta.fee`` (base + priority), paid by the wallet as fee payer.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from sniper_bot.chain.types import LandedTransaction, TokenBalance
from sniper_bot.domain.orders import OrderSide

__all__ = ["Fill", "fill_from_landed"]


@dataclass(frozen=True, slots=True)
class Fill:
    in_amount: int
    out_amount: int
    fee_lamports: int
    slot: int


def _token_total(balances: list[TokenBalance], owner: str, mint: str) -> int:
    return sum(b.amount for b in balances if b.owner == owner and b.mint == mint)


def fill_from_landed(
    landed: LandedTransaction, *, owner: Pubkey, mint: str, side: OrderSide
) -> Fill:
    """The amounts that actually moved for ``owner``; raises ValueError if it is not in the tx."""
    try:
        index = landed.account_keys.index(owner)
    except ValueError:
        raise ValueError(f"wallet {owner} is not an account of {landed.signature}") from None
    sol_delta = landed.post_balances[index] - landed.pre_balances[index]
    who = str(owner)
    token_delta = _token_total(landed.post_token_balances, who, mint) - _token_total(
        landed.pre_token_balances, who, mint
    )
    fee = landed.fee if index == 0 else 0
    if side is OrderSide.BUY:
        return Fill(
            in_amount=max(0, -sol_delta - fee),
            out_amount=max(0, token_delta),
            fee_lamports=fee,
            slot=landed.slot,
        )
    return Fill(
        in_amount=max(0, -token_delta),
        out_amount=max(0, sol_delta + fee),
        fee_lamports=fee,
        slot=landed.slot,
    )
