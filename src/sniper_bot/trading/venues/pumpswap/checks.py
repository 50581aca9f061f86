"""Static checks of one PumpSwap instruction before the wallet signs it (``trading.verify``).

The AMM moves SOL (as WSOL) and tokens by CPI, which a static reading cannot see; what it can
see is the instruction: which one it is (by discriminator), whose wallet trades (the ``user``
account, position 1) and the caps the program enforces: ``max_quote_amount_in`` of a ``buy``,
``spendable_quote_in`` of a ``buy_exact_quote_in``, ``base_amount_in`` of a ``sell``.
``extend_account`` (the SDK's fix for a short pool) moves nothing but its rent.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from solders.pubkey import Pubkey

from sniper_bot.domain.orders import OrderSide
from sniper_bot.solana import pumpswap as ps

__all__ = ["PUMP_AMM_PROGRAM", "PumpSwapTrade", "read_pumpswap_trade"]

PUMP_AMM_PROGRAM: Final = ps.PUMP_AMM_PROGRAM_ID
_EXTEND: Final = ps.EXTEND_ACCOUNT_DISCRIMINATOR
_TRADES: Final = {
    ps.BUY_DISCRIMINATOR: OrderSide.BUY,
    ps.BUY_EXACT_QUOTE_IN_DISCRIMINATOR: OrderSide.BUY,
    ps.SELL_DISCRIMINATOR: OrderSide.SELL,
}


@dataclass(frozen=True, slots=True)
class PumpSwapTrade:
    trades: int  # 1 for a swap, 0 for extend_account
    max_quote_in: int  # the most the program may take from the wallet's quote account
    tokens_in: int  # tokens the wallet gives (a sell)


def read_pumpswap_trade(
    data: bytes, accounts: list[Pubkey | None], user: Pubkey, side: OrderSide
) -> PumpSwapTrade:
    """What ``data`` lets the AMM do; ``ValueError`` with the reason when we must not sign it."""
    head = bytes(data[:8])
    if head == _EXTEND and len(data) == 8:
        return PumpSwapTrade(0, 0, 0)
    ix_side = _TRADES.get(head)
    if ix_side is None:
        raise ValueError("a PumpSwap instruction that is not buy/sell/buy_exact_quote_in")
    if ix_side is not side:
        raise ValueError(f"a PumpSwap {ix_side.value.lower()} in a {side.value.lower()} order")
    if len(data) < 24:
        raise ValueError("a PumpSwap trade with truncated arguments")
    if len(accounts) < 2 or accounts[1] != user:
        raise ValueError("a PumpSwap trade whose user is not the wallet")
    amount, limit = struct.unpack_from("<QQ", data, 8)
    if head == ps.BUY_DISCRIMINATOR:
        return PumpSwapTrade(1, int(limit), 0)
    if head == ps.BUY_EXACT_QUOTE_IN_DISCRIMINATOR:
        return PumpSwapTrade(1, int(amount), 0)
    return PumpSwapTrade(1, 0, int(amount))
