"""Static checks of one pump.fun instruction before the wallet signs it (``trading.verify``).

The program moves SOL and tokens by CPI, which a static reading cannot see; what it can see is the
instruction itself: which trade it is (by discriminator, never by account count), whose wallet
pays (the ``user`` account, a signer), and the caps the program enforces, ``max_sol_cost`` for a
buy and the token ``amount`` for a sell. Those caps are what ``verify`` holds against the quote.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from solders.pubkey import Pubkey

from sniper_bot.domain.orders import OrderSide
from sniper_bot.solana import pumpfun as pf

__all__ = ["PUMP_PROGRAM", "PumpTrade", "read_pump_trade"]

PUMP_PROGRAM: Final = pf.PUMP_PROGRAM_ID

# (side, position of the `user` account) per trade instruction
_TRADES: Final = {
    pf.BUY_V2_DISCRIMINATOR: (OrderSide.BUY, 13),
    pf.SELL_V2_DISCRIMINATOR: (OrderSide.SELL, 13),
    pf.BUY_DISCRIMINATOR: (OrderSide.BUY, 6),
    pf.SELL_DISCRIMINATOR: (OrderSide.SELL, 6),
}


@dataclass(frozen=True, slots=True)
class PumpTrade:
    side: OrderSide
    max_sol_in: int  # the most lamports the program may take from the wallet (0 for a sell)
    tokens_in: int  # tokens the wallet gives (0 for a buy)


def read_pump_trade(
    data: bytes, accounts: list[Pubkey | None], user: Pubkey, side: OrderSide
) -> PumpTrade:
    """The trade ``data`` encodes; ``ValueError`` with the reason when we must not sign it."""
    kind = _TRADES.get(bytes(data[:8]))
    if kind is None:
        raise ValueError("a pump.fun instruction that is not buy/sell/buy_v2/sell_v2")
    ix_side, user_pos = kind
    if ix_side is not side:
        raise ValueError(f"a pump.fun {ix_side.value.lower()} in a {side.value.lower()} order")
    if len(data) < 24:
        raise ValueError("a pump.fun trade with truncated arguments")
    if user_pos >= len(accounts) or accounts[user_pos] != user:
        raise ValueError("a pump.fun trade whose user is not the wallet")
    amount, limit = struct.unpack_from("<QQ", data, 8)
    if side is OrderSide.BUY:
        return PumpTrade(side, int(limit), 0)
    return PumpTrade(side, 0, int(amount))
