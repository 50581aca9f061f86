"""Raydium pool account layouts (PROTOCOLS.md 3.1-3.2), with explicit offsets.

* Raydium AMM v4 ``AmmInfo``: 752 bytes, no discriminator; vaults at 336/368, mints 400/432,
  lp mint 464, ``lpReserve`` (LP tokens the AMM believes outstanding) at 720.
* Raydium CPMM ``PoolState``: 8-byte discriminator, vaults 72/104, lp mint 136, mints 168/200,
  ``lp_supply`` at 333, status bits at 329.

Every parser raises ``ParseError`` on malformed bytes and nothing else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from sniper_bot.solana.layouts.base import ParseError, read_pubkey

__all__ = [
    "CPMM_POOL_DISCRIMINATOR",
    "RAYDIUM_V4_LEN",
    "CpmmPool",
    "RaydiumV4Pool",
    "pack_raydium_v4",
    "parse_cpmm_pool",
    "parse_raydium_v4",
]

RAYDIUM_V4_LEN = 752
CPMM_POOL_LEN = 637
CPMM_POOL_DISCRIMINATOR = bytes.fromhex("f7ede3f5d7c3de46")


@dataclass(frozen=True, slots=True)
class RaydiumV4Pool:
    status: int
    base_vault: Pubkey
    quote_vault: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    lp_mint: Pubkey
    lp_reserve: int
    pool_open_time: int


def parse_raydium_v4(data: bytes) -> RaydiumV4Pool:
    if len(data) != RAYDIUM_V4_LEN:
        raise ParseError("Raydium v4 pool", f"{len(data)} bytes, expected {RAYDIUM_V4_LEN}")
    (status,) = struct.unpack_from("<Q", data, 0)
    (open_time,) = struct.unpack_from("<Q", data, 224)
    (lp_reserve,) = struct.unpack_from("<Q", data, 720)
    return RaydiumV4Pool(
        status=status,
        base_vault=read_pubkey(data, 336),
        quote_vault=read_pubkey(data, 368),
        base_mint=read_pubkey(data, 400),
        quote_mint=read_pubkey(data, 432),
        lp_mint=read_pubkey(data, 464),
        lp_reserve=lp_reserve,
        pool_open_time=open_time,
    )


def pack_raydium_v4(pool: RaydiumV4Pool) -> bytes:
    out = bytearray(RAYDIUM_V4_LEN)
    struct.pack_into("<Q", out, 0, pool.status)
    struct.pack_into("<Q", out, 224, pool.pool_open_time)
    for offset, key in (
        (336, pool.base_vault),
        (368, pool.quote_vault),
        (400, pool.base_mint),
        (432, pool.quote_mint),
        (464, pool.lp_mint),
    ):
        out[offset : offset + 32] = bytes(key)
    struct.pack_into("<Q", out, 720, pool.lp_reserve)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class CpmmPool:
    pool_creator: Pubkey
    token_0_vault: Pubkey
    token_1_vault: Pubkey
    lp_mint: Pubkey
    token_0_mint: Pubkey
    token_1_mint: Pubkey
    status: int
    lp_supply: int

    @property
    def swap_disabled(self) -> bool:
        return bool(self.status & 0b100)


def parse_cpmm_pool(data: bytes) -> CpmmPool:
    if len(data) < CPMM_POOL_LEN or data[:8] != CPMM_POOL_DISCRIMINATOR:
        raise ParseError("Raydium CPMM pool", "wrong size or discriminator")
    (lp_supply,) = struct.unpack_from("<Q", data, 333)
    return CpmmPool(
        pool_creator=read_pubkey(data, 40),
        token_0_vault=read_pubkey(data, 72),
        token_1_vault=read_pubkey(data, 104),
        lp_mint=read_pubkey(data, 136),
        token_0_mint=read_pubkey(data, 168),
        token_1_mint=read_pubkey(data, 200),
        status=data[329],
        lp_supply=lp_supply,
    )
