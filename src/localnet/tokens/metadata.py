"""Metaplex Token Metadata accounts written as real data (the program cannot run here).

Borsh layout of `mpl-token-metadata` `Metadata` (PROTOCOLS 7.4), strings puffed with NUL to their
maximum lengths the way the program stores them, padded to `MAX_METADATA_LEN`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from localnet.market.instructions import METADATA_PROGRAM_ID

MAX_METADATA_LEN = 679
KEY_METADATA_V1 = 4
TOKEN_STANDARD_FUNGIBLE = 2
_MAX_NAME, _MAX_SYMBOL, _MAX_URI = 32, 10, 200


@dataclass(frozen=True, slots=True)
class Metadata:
    update_authority: Pubkey
    mint: Pubkey
    name: str
    symbol: str
    uri: str
    is_mutable: bool
    seller_fee_basis_points: int = 0
    primary_sale_happened: bool = False


def metadata_address(mint: Pubkey) -> Pubkey:
    seeds = [b"metadata", bytes(METADATA_PROGRAM_ID), bytes(mint)]
    return Pubkey.find_program_address(seeds, METADATA_PROGRAM_ID)[0]


def _puffed(text: str, size: int) -> bytes:
    raw = text.encode()[:size]
    raw += b"\x00" * (size - len(raw))
    return struct.pack("<I", size) + raw


def encode_metadata(meta: Metadata) -> bytes:
    out = bytes([KEY_METADATA_V1]) + bytes(meta.update_authority) + bytes(meta.mint)
    out += _puffed(meta.name, _MAX_NAME) + _puffed(meta.symbol, _MAX_SYMBOL)
    out += _puffed(meta.uri, _MAX_URI) + struct.pack("<H", meta.seller_fee_basis_points)
    out += b"\x00"  # creators: None
    out += bytes([meta.primary_sale_happened, meta.is_mutable])
    out += b"\x00"  # edition_nonce: None
    out += bytes([1, TOKEN_STANDARD_FUNGIBLE])  # token_standard: Some(Fungible)
    out += b"\x00\x00\x00\x00"  # collection, uses, collection_details, programmable_config
    return out + b"\x00" * (MAX_METADATA_LEN - len(out))


def _string(data: bytes, off: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<I", data, off)
    return data[off + 4 : off + 4 + n].rstrip(b"\x00").decode(), off + 4 + n


def decode_metadata(data: bytes) -> Metadata:
    """Sequential Borsh parse (never fixed offsets: unpuffed accounts exist)."""
    if data[0] != KEY_METADATA_V1:
        raise ValueError(f"not a MetadataV1 account (key {data[0]})")
    update_authority = Pubkey.from_bytes(data[1:33])
    mint = Pubkey.from_bytes(data[33:65])
    name, off = _string(data, 65)
    symbol, off = _string(data, off)
    uri, off = _string(data, off)
    (fee,) = struct.unpack_from("<H", data, off)
    off += 2
    if data[off]:
        (count,) = struct.unpack_from("<I", data, off + 1)
        off += 4 + 34 * count
    off += 1
    return Metadata(
        update_authority, mint, name, symbol, uri, bool(data[off + 1]), fee, bool(data[off])
    )
