"""SPL Token / Token-2022 account layouts: the 82-byte Mint, the 165-byte Account and the TLV tail.

Parsers never trust the bytes: any malformed input raises ``ParseError`` (and nothing else), so a
hostile mint can never crash a risk check. Builders (``pack_*``) exist for tests and fixtures and
round-trip exactly: ``parse_mint(pack_mint(m)) == m``.

Layouts (PROTOCOLS.md section 7.1-7.3), all little-endian:

* Mint (82): mint_authority COption<pk> 0..36, supply u64 36, decimals u8 44, is_initialized 45,
  freeze_authority COption<pk> 46..82.
* Account (165): mint 0, owner 32, amount u64 64, delegate COption<pk> 72, state u8 108
  (0 uninitialized, 1 initialized, 2 frozen), is_native COption<u64> 109, delegated_amount 121,
  close_authority COption<pk> 129.
* Token-2022 extended accounts: base padded to 165 bytes, byte 165 = AccountType
  (1 mint, 2 account), then TLV entries ``type u16 | length u16 | value`` from 166;
  type 0 ends the list.
  An account of exactly 355 bytes is a multisig, never an extended account.

The tolerant readers (``mint_decimals``, ``token_account_amount``, ``token_account_is_frozen``)
read one field of an account that may be missing or short, for callers that only need that field.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from sniper_bot.solana.layouts.base import ParseError, read_pubkey

__all__ = [
    "ACCOUNT_AMOUNT_OFFSET",
    "ACCOUNT_LEN",
    "ACCOUNT_STATE_OFFSET",
    "ACCOUNT_TYPE_ACCOUNT",
    "ACCOUNT_TYPE_MINT",
    "MINT_DECIMALS_OFFSET",
    "MINT_LEN",
    "MULTISIG_LEN",
    "MintState",
    "ParseError",
    "TokenAccountState",
    "TokenAccountStatus",
    "mint_decimals",
    "pack_mint",
    "pack_tlv",
    "pack_token_account",
    "parse_mint",
    "parse_tlv",
    "parse_token_account",
    "read_pubkey",
    "token_account_amount",
    "token_account_is_frozen",
]

MINT_LEN = 82
ACCOUNT_LEN = 165
MULTISIG_LEN = 355
ACCOUNT_TYPE_MINT = 1
ACCOUNT_TYPE_ACCOUNT = 2
_TLV_START = ACCOUNT_LEN + 1
MINT_DECIMALS_OFFSET = 44
ACCOUNT_AMOUNT_OFFSET = 64
ACCOUNT_STATE_OFFSET = 108

TlvEntries = tuple[tuple[int, bytes], ...]


def _coption_pubkey(data: bytes, offset: int, what: str) -> Pubkey | None:
    tag = data[offset : offset + 4]
    if tag == b"\x00\x00\x00\x00":
        return None
    if tag == b"\x01\x00\x00\x00":
        return read_pubkey(data, offset + 4, what)
    raise ParseError(what, f"invalid COption tag {tag.hex()} at offset {offset}")


def _pack_coption_pubkey(key: Pubkey | None) -> bytes:
    if key is None:
        return bytes(36)
    return b"\x01\x00\x00\x00" + bytes(key)


def _bool(value: int, what: str) -> bool:
    if value not in (0, 1):
        raise ParseError(what, f"invalid bool byte {value}")
    return value == 1


def parse_tlv(data: bytes, start: int = _TLV_START) -> TlvEntries:
    """Token-2022 TLV entries from ``start``; type 0 (Uninitialized) ends the list."""
    entries: list[tuple[int, bytes]] = []
    offset = start
    while offset + 4 <= len(data):
        ext_type, length = struct.unpack_from("<HH", data, offset)
        if ext_type == 0:
            break
        end = offset + 4 + length
        if end > len(data):
            raise ParseError("Token-2022 TLV", f"extension {ext_type} overruns the account")
        entries.append((ext_type, bytes(data[offset + 4 : end])))
        offset = end
    return tuple(entries)


def pack_tlv(entries: TlvEntries) -> bytes:
    out = bytearray()
    for ext_type, value in entries:
        out += struct.pack("<HH", ext_type, len(value)) + value
    return bytes(out)


def _split_extended(data: bytes, base_len: int, account_type: int, what: str) -> TlvEntries:
    """TLV entries of an extended Token-2022 account (empty when the account is base-only)."""
    if len(data) == base_len:
        return ()
    if len(data) == MULTISIG_LEN or len(data) <= ACCOUNT_LEN:
        raise ParseError(what, f"unexpected length {len(data)}")
    if any(data[base_len:ACCOUNT_LEN]):
        raise ParseError(what, "non-zero padding before the account type byte")
    if data[ACCOUNT_LEN] != account_type:
        raise ParseError(what, f"account type byte is {data[ACCOUNT_LEN]}, expected {account_type}")
    return parse_tlv(data)


def _pack_extended(base: bytes, account_type: int, entries: TlvEntries) -> bytes:
    if not entries:
        return base
    return base.ljust(ACCOUNT_LEN, b"\x00") + bytes([account_type]) + pack_tlv(entries)


@dataclass(frozen=True, slots=True)
class MintState:
    """A parsed mint; ``extensions`` are raw TLV entries (decode with ``layouts.token2022``)."""

    mint_authority: Pubkey | None
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: Pubkey | None
    extensions: TlvEntries = ()

    @property
    def extension_types(self) -> tuple[int, ...]:
        return tuple(t for t, _ in self.extensions)


def parse_mint(data: bytes) -> MintState:
    """Parse an SPL Token or Token-2022 mint account's data."""
    if len(data) < MINT_LEN:
        raise ParseError("mint", f"{len(data)} bytes, a mint has at least {MINT_LEN}")
    mint_authority = _coption_pubkey(data, 0, "mint authority")
    (supply,) = struct.unpack_from("<Q", data, 36)
    decimals = data[MINT_DECIMALS_OFFSET]
    is_initialized = _bool(data[45], "mint is_initialized")
    freeze_authority = _coption_pubkey(data, 46, "freeze authority")
    entries = _split_extended(data, MINT_LEN, ACCOUNT_TYPE_MINT, "mint")
    return MintState(mint_authority, supply, decimals, is_initialized, freeze_authority, entries)


def pack_mint(mint: MintState) -> bytes:
    base = (
        _pack_coption_pubkey(mint.mint_authority)
        + struct.pack("<QBB", mint.supply, mint.decimals, int(mint.is_initialized))
        + _pack_coption_pubkey(mint.freeze_authority)
    )
    return _pack_extended(base, ACCOUNT_TYPE_MINT, mint.extensions)


class TokenAccountStatus:
    UNINITIALIZED = 0
    INITIALIZED = 1
    FROZEN = 2


@dataclass(frozen=True, slots=True)
class TokenAccountState:
    """A parsed token account (holder of ``amount`` base units of ``mint``)."""

    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    state: int
    is_native: int | None
    delegated_amount: int
    close_authority: Pubkey | None
    extensions: TlvEntries = ()

    @property
    def is_frozen(self) -> bool:
        return self.state == TokenAccountStatus.FROZEN


def parse_token_account(data: bytes) -> TokenAccountState:
    """Parse an SPL Token or Token-2022 token account's data."""
    if len(data) < ACCOUNT_LEN:
        raise ParseError("token account", f"{len(data)} bytes, an account has {ACCOUNT_LEN}")
    mint = read_pubkey(data, 0, "token account mint")
    owner = read_pubkey(data, 32, "token account owner")
    (amount,) = struct.unpack_from("<Q", data, ACCOUNT_AMOUNT_OFFSET)
    delegate = _coption_pubkey(data, 72, "token account delegate")
    state = data[ACCOUNT_STATE_OFFSET]
    if state > TokenAccountStatus.FROZEN:
        raise ParseError("token account", f"invalid state {state}")
    native_tag = data[109:113]
    is_native: int | None
    if native_tag == b"\x00\x00\x00\x00":
        is_native = None
    elif native_tag == b"\x01\x00\x00\x00":
        (is_native,) = struct.unpack_from("<Q", data, 113)
    else:
        raise ParseError("token account", f"invalid is_native tag {native_tag.hex()}")
    (delegated_amount,) = struct.unpack_from("<Q", data, 121)
    close_authority = _coption_pubkey(data, 129, "token account close authority")
    if len(data) == ACCOUNT_LEN:
        entries: TlvEntries = ()
    else:
        if len(data) == MULTISIG_LEN:
            raise ParseError("token account", "355 bytes is a multisig, not a token account")
        if data[ACCOUNT_LEN] != ACCOUNT_TYPE_ACCOUNT:
            raise ParseError("token account", f"account type byte is {data[ACCOUNT_LEN]}")
        entries = parse_tlv(data)
    return TokenAccountState(
        mint, owner, amount, delegate, state, is_native, delegated_amount, close_authority, entries
    )


def pack_token_account(account: TokenAccountState) -> bytes:
    native = (
        bytes(12)
        if account.is_native is None
        else b"\x01\x00\x00\x00" + struct.pack("<Q", account.is_native)
    )
    base = (
        bytes(account.mint)
        + bytes(account.owner)
        + struct.pack("<Q", account.amount)
        + _pack_coption_pubkey(account.delegate)
        + bytes([account.state])
        + native
        + struct.pack("<Q", account.delegated_amount)
        + _pack_coption_pubkey(account.close_authority)
    )
    if not account.extensions:
        return base
    return base + bytes([ACCOUNT_TYPE_ACCOUNT]) + pack_tlv(account.extensions)


def mint_decimals(data: bytes) -> int | None:
    """A mint's decimals, or None when ``data`` is too short to be a mint."""
    return data[MINT_DECIMALS_OFFSET] if len(data) >= MINT_LEN else None


def token_account_amount(data: bytes) -> int:
    """A token account's balance in base units; 0 when ``data`` is too short to hold it."""
    if len(data) < ACCOUNT_AMOUNT_OFFSET + 8:
        return 0
    return int(struct.unpack_from("<Q", data, ACCOUNT_AMOUNT_OFFSET)[0])


def token_account_is_frozen(data: bytes) -> bool:
    """True when the account's state byte says FROZEN (the freeze authority used it)."""
    return len(data) > ACCOUNT_STATE_OFFSET and data[ACCOUNT_STATE_OFFSET] == (
        TokenAccountStatus.FROZEN
    )
