"""Token metadata: the Metaplex Metadata account and Token-2022's TokenMetadata extension (Borsh).

What matters for risk is who can still change the token's name/symbol/uri: Metaplex ``is_mutable``
with its ``update_authority``, or the TokenMetadata extension's ``update_authority`` (all-zero =
immutable). Parsers are sequential (never fixed offsets: old unpuffed accounts exist) and raise
``ParseError`` on any malformed input.

Metaplex layout (PROTOCOLS.md 7.4): key u8 (4 = MetadataV1), update_authority pk, mint pk,
name/symbol/uri strings (u32 length + UTF-8, ``\\0``-puffed), seller_fee_basis_points u16,
creators Option<Vec<{address pk, verified bool, share u8}>>, primary_sale_happened bool,
is_mutable bool, edition_nonce Option<u8>, token_standard Option<u8>, ... (rest ignored).
PDA: ``sniper_bot.solana.pda.metadata_pda``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from sniper_bot.solana.layouts.base import ParseError

__all__ = [
    "MetadataCreator",
    "MetaplexMetadata",
    "TokenMetadata",
    "pack_metaplex_metadata",
    "pack_token_metadata",
    "parse_metaplex_metadata",
    "parse_token_metadata",
]

METADATA_V1_KEY = 4
_MAX_CREATORS = 5
_MAX_ADDITIONAL = 64


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.offset = 0
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def take(self, size: int) -> bytes:
        if size < 0 or self.offset + size > len(self.data):
            raise ParseError(self.what, f"needs {size} bytes at offset {self.offset}")
        out = self.data[self.offset : self.offset + size]
        self.offset += size
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack("<H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def boolean(self) -> bool:
        value = self.u8()
        if value > 1:
            raise ParseError(self.what, f"invalid bool byte {value} at offset {self.offset - 1}")
        return value == 1

    def pubkey(self) -> Pubkey:
        return Pubkey.from_bytes(self.take(32))

    def string(self) -> str:
        raw = self.take(self.u32())
        try:
            return raw.decode("utf-8").rstrip("\x00")
        except UnicodeDecodeError as exc:
            raise ParseError(self.what, f"string is not UTF-8 at offset {self.offset}") from exc

    def option_tag(self) -> bool:
        tag = self.u8()
        if tag > 1:
            raise ParseError(self.what, f"invalid Option tag {tag} at offset {self.offset - 1}")
        return tag == 1


def _string(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack("<I", len(raw)) + raw


@dataclass(frozen=True, slots=True)
class MetadataCreator:
    address: Pubkey
    verified: bool
    share: int


@dataclass(frozen=True, slots=True)
class MetaplexMetadata:
    update_authority: Pubkey
    mint: Pubkey
    name: str
    symbol: str
    uri: str
    seller_fee_basis_points: int
    creators: tuple[MetadataCreator, ...] | None
    primary_sale_happened: bool
    is_mutable: bool
    edition_nonce: int | None = None
    token_standard: int | None = None


def parse_metaplex_metadata(data: bytes) -> MetaplexMetadata:
    r = _Reader(data, "Metaplex metadata")
    key = r.u8()
    if key != METADATA_V1_KEY:
        raise ParseError("Metaplex metadata", f"key byte is {key}, expected {METADATA_V1_KEY}")
    update_authority, mint = r.pubkey(), r.pubkey()
    name, symbol, uri = r.string(), r.string(), r.string()
    fee_bps = r.u16()
    creators: tuple[MetadataCreator, ...] | None = None
    if r.option_tag():
        count = r.u32()
        if count > _MAX_CREATORS:
            raise ParseError("Metaplex metadata", f"{count} creators, at most {_MAX_CREATORS}")
        creators = tuple(MetadataCreator(r.pubkey(), r.boolean(), r.u8()) for _ in range(count))
    primary_sale, is_mutable = r.boolean(), r.boolean()
    edition_nonce = token_standard = None
    # Trailing optional fields: absent on old accounts; parse them only when present.
    if r.remaining >= 1 and r.option_tag():
        edition_nonce = r.u8()
    if r.remaining >= 1 and r.option_tag():
        token_standard = r.u8()
    return MetaplexMetadata(
        update_authority,
        mint,
        name,
        symbol,
        uri,
        fee_bps,
        creators,
        primary_sale,
        is_mutable,
        edition_nonce,
        token_standard,
    )


def _option_u8(value: int | None) -> bytes:
    return b"\x00" if value is None else bytes([1, value])


def pack_metaplex_metadata(meta: MetaplexMetadata) -> bytes:
    out = bytearray([METADATA_V1_KEY])
    out += bytes(meta.update_authority) + bytes(meta.mint)
    out += _string(meta.name) + _string(meta.symbol) + _string(meta.uri)
    out += struct.pack("<H", meta.seller_fee_basis_points)
    if meta.creators is None:
        out += b"\x00"
    else:
        out += b"\x01" + struct.pack("<I", len(meta.creators))
        for c in meta.creators:
            out += bytes(c.address) + bytes([int(c.verified), c.share])
    out += bytes([int(meta.primary_sale_happened), int(meta.is_mutable)])
    out += _option_u8(meta.edition_nonce) + _option_u8(meta.token_standard)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class TokenMetadata:
    """Token-2022 TokenMetadata extension; ``update_authority`` None means immutable."""

    update_authority: Pubkey | None
    mint: Pubkey
    name: str
    symbol: str
    uri: str
    additional_metadata: tuple[tuple[str, str], ...] = ()


def parse_token_metadata(value: bytes) -> TokenMetadata:
    r = _Reader(value, "Token-2022 TokenMetadata")
    raw_authority = r.take(32)
    authority = None if raw_authority == bytes(32) else Pubkey.from_bytes(raw_authority)
    mint = r.pubkey()
    name, symbol, uri = r.string(), r.string(), r.string()
    count = r.u32()
    if count > _MAX_ADDITIONAL:
        raise ParseError("Token-2022 TokenMetadata", f"{count} additional fields")
    extra = tuple((r.string(), r.string()) for _ in range(count))
    return TokenMetadata(authority, mint, name, symbol, uri, extra)


def pack_token_metadata(meta: TokenMetadata) -> bytes:
    out = bytearray(bytes(32) if meta.update_authority is None else bytes(meta.update_authority))
    out += bytes(meta.mint) + _string(meta.name) + _string(meta.symbol) + _string(meta.uri)
    out += struct.pack("<I", len(meta.additional_metadata))
    for key, val in meta.additional_metadata:
        out += _string(key) + _string(val)
    return bytes(out)
