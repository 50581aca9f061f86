"""pump.fun ``BondingCurve`` as the liquidity layer reads it (PROTOCOLS.md 3.3).

8-byte discriminator, reserves at 8..40, supply 40, ``complete`` 48, creator 49 (older accounts
end earlier: tolerated). Raises ``ParseError`` on malformed bytes and nothing else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from sniper_bot.solana.layouts.base import ParseError, read_pubkey

__all__ = ["PUMP_BONDING_CURVE_DISCRIMINATOR", "PumpBondingCurve", "parse_pump_bonding_curve"]

PUMP_BONDING_CURVE_DISCRIMINATOR = bytes.fromhex("17b7f83760d8ac60")


@dataclass(frozen=True, slots=True)
class PumpBondingCurve:
    virtual_token_reserves: int
    virtual_quote_reserves: int
    real_token_reserves: int
    real_quote_reserves: int
    token_total_supply: int
    complete: bool
    creator: Pubkey | None


def parse_pump_bonding_curve(data: bytes) -> PumpBondingCurve:
    if len(data) < 49 or data[:8] != PUMP_BONDING_CURVE_DISCRIMINATOR:
        raise ParseError("pump.fun bonding curve", "wrong size or discriminator")
    vt, vq, rt, rq, supply = struct.unpack_from("<QQQQQ", data, 8)
    if data[48] > 1:
        raise ParseError("pump.fun bonding curve", f"invalid complete byte {data[48]}")
    creator = read_pubkey(data, 49) if len(data) >= 81 else None
    return PumpBondingCurve(vt, vq, rt, rq, supply, data[48] == 1, creator)
