"""Raydium AMM v4 pool accounts (`AmmInfo`, 752 bytes, PROTOCOLS 3.1) and the `ray_log` InitLog."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

ZERO_KEY = Pubkey.default()

RAYDIUM_AMM_V4 = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
OPENBOOK_PROGRAM = Pubkey.from_string("srmqPvymJeFKQ4zGQed1GFppgkRHL9kaELCbyksJtPX")
AMM_INFO_LEN = 752
STATUS_SWAP_ONLY = 6
STATUS_WAITING_TRADE = 7


@dataclass(frozen=True, slots=True)
class AmmInfo:
    base_vault: Pubkey
    quote_vault: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    lp_mint: Pubkey
    market_id: Pubkey
    owner: Pubkey
    base_decimal: int
    quote_decimal: int
    pool_open_time: int
    status: int = STATUS_SWAP_ONLY
    nonce: int = 254
    lp_reserve: int = 0
    open_orders: Pubkey = ZERO_KEY
    market_program: Pubkey = OPENBOOK_PROGRAM
    target_orders: Pubkey = ZERO_KEY


def encode_amm_info(a: AmmInfo) -> bytes:
    out = bytearray(AMM_INFO_LEN)
    struct.pack_into("<QQQQQQQQ", out, 0, a.status, a.nonce, 7, 3, a.base_decimal,
                     a.quote_decimal, 1, 0)  # fmt: skip
    # fees: minSeparate 5/100, trade 25/10000, pnl 12/100, swap 25/10000
    struct.pack_into("<QQQQQQQQ", out, 128, 5, 100, 25, 10_000, 12, 100, 25, 10_000)
    struct.pack_into("<Q", out, 224, a.pool_open_time)
    keys = [a.base_vault, a.quote_vault, a.base_mint, a.quote_mint, a.lp_mint, a.open_orders,
            a.market_id, a.market_program, a.target_orders]  # fmt: skip
    for i, key in enumerate(keys):
        out[336 + 32 * i : 368 + 32 * i] = bytes(key)
    out[688:720] = bytes(a.owner)
    struct.pack_into("<Q", out, 720, a.lp_reserve)
    return bytes(out)


def decode_amm_info(data: bytes) -> AmmInfo:
    if len(data) != AMM_INFO_LEN:
        raise ValueError(f"AmmInfo is {AMM_INFO_LEN} bytes, got {len(data)}")

    def key(off: int) -> Pubkey:
        return Pubkey.from_bytes(data[off : off + 32])

    status, nonce, _, _, base_dec, quote_dec = struct.unpack_from("<6Q", data, 0)
    (open_time,) = struct.unpack_from("<Q", data, 224)
    (lp_reserve,) = struct.unpack_from("<Q", data, 720)
    return AmmInfo(
        key(336), key(368), key(400), key(432), key(464), key(528), key(688), base_dec,
        quote_dec, open_time, status, nonce, lp_reserve, key(496), key(560), key(592),
    )  # fmt: skip


def encode_init_ray_log(*, open_time: int, pc_decimals: int, coin_decimals: int, pc_amount: int,
                        coin_amount: int, market: Pubkey) -> str:  # fmt: skip
    """`ray_log` InitLog: base64(bincode) of type 0, time, decimals, lots, amounts, market."""
    raw = struct.pack("<BQBBQQQQ", 0, open_time, pc_decimals, coin_decimals, 0, 0, pc_amount,
                      coin_amount) + bytes(market)  # fmt: skip
    return base64.b64encode(raw).decode()
