"""Token-2022 mint extensions that decide what a creator can do to holders.

``decode_mint_extensions(entries)`` turns the raw TLV entries of a mint into ``MintExtensions``;
every known extension has a fixed-size value and a wrong size raises ``ParseError``. Unknown types
are kept by number (``MintExtensions.types``) so a new extension is still visible in a report.

Extension numbers and value layouts: PROTOCOLS.md section 7.3 (``MaybeNull<Address>`` = 32 bytes,
all zero = None). ``encode_*`` helpers build values for tests and fixtures.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, replace

from solders.pubkey import Pubkey

from sniper_bot.solana.layouts.base import ParseError
from sniper_bot.solana.layouts.metaplex import TokenMetadata, parse_token_metadata
from sniper_bot.solana.layouts.token import ACCOUNT_LEN, MINT_LEN, TlvEntries

__all__ = [
    "ExtensionType",
    "MintExtensions",
    "Pausable",
    "TransferFee",
    "TransferFeeConfig",
    "TransferHook",
    "decode_mint_extensions",
    "encode_maybe_null",
    "encode_pausable",
    "encode_transfer_fee_config",
    "encode_transfer_hook",
    "token_account_size",
]

MAX_FEE_BASIS_POINTS = 10_000
# Mint extensions that force one on every token account, and that one's value size:
# TransferFeeConfig -> TransferFeeAmount (8), NonTransferable -> NonTransferableAccount (0),
# TransferHook -> TransferHookAccount (1), Pausable -> PausableAccount (0); 16 is
# ConfidentialTransferMint -> ConfidentialTransferAccount (64).
_ACCOUNT_EXTENSIONS = {1: 8, 9: 0, 14: 1, 16: 64, 26: 0}
_ZERO = bytes(32)


class ExtensionType(enum.IntEnum):
    UNINITIALIZED = 0
    TRANSFER_FEE_CONFIG = 1
    TRANSFER_FEE_AMOUNT = 2
    MINT_CLOSE_AUTHORITY = 3
    CONFIDENTIAL_TRANSFER_MINT = 4
    CONFIDENTIAL_TRANSFER_ACCOUNT = 5
    DEFAULT_ACCOUNT_STATE = 6
    IMMUTABLE_OWNER = 7
    MEMO_TRANSFER = 8
    NON_TRANSFERABLE = 9
    INTEREST_BEARING_CONFIG = 10
    CPI_GUARD = 11
    PERMANENT_DELEGATE = 12
    NON_TRANSFERABLE_ACCOUNT = 13
    TRANSFER_HOOK = 14
    TRANSFER_HOOK_ACCOUNT = 15
    CONFIDENTIAL_TRANSFER_FEE_CONFIG = 16
    CONFIDENTIAL_TRANSFER_FEE_AMOUNT = 17
    METADATA_POINTER = 18
    TOKEN_METADATA = 19
    GROUP_POINTER = 20
    TOKEN_GROUP = 21
    GROUP_MEMBER_POINTER = 22
    TOKEN_GROUP_MEMBER = 23
    CONFIDENTIAL_MINT_BURN = 24
    SCALED_UI_AMOUNT = 25
    PAUSABLE = 26
    PAUSABLE_ACCOUNT = 27
    PERMISSIONED_BURN = 28


def extension_name(ext_type: int) -> str:
    try:
        return ExtensionType(ext_type).name
    except ValueError:
        return f"UNKNOWN_{ext_type}"


def _maybe_null(value: bytes, offset: int) -> Pubkey | None:
    raw = value[offset : offset + 32]
    return None if raw == _ZERO else Pubkey.from_bytes(raw)


def encode_maybe_null(key: Pubkey | None) -> bytes:
    return _ZERO if key is None else bytes(key)


def _expect_len(ext: ExtensionType, value: bytes, size: int) -> None:
    if len(value) != size:
        raise ParseError(f"Token-2022 {ext.name}", f"value is {len(value)} bytes, expected {size}")


@dataclass(frozen=True, slots=True)
class TransferFee:
    epoch: int
    maximum_fee: int
    basis_points: int


@dataclass(frozen=True, slots=True)
class TransferFeeConfig:
    """Older fee applies before ``newer.epoch``; from that epoch on the newer one does."""

    config_authority: Pubkey | None
    withdraw_withheld_authority: Pubkey | None
    withheld_amount: int
    older: TransferFee
    newer: TransferFee

    def fee_at(self, epoch: int | None) -> TransferFee:
        """The fee in force at ``epoch`` (None: unknown epoch, assume the newer one applies)."""
        if epoch is None or epoch >= self.newer.epoch:
            return self.newer
        return self.older

    @property
    def max_basis_points(self) -> int:
        return max(self.older.basis_points, self.newer.basis_points)


_FEE = struct.Struct("<QQH")


def _parse_transfer_fee_config(value: bytes) -> TransferFeeConfig:
    _expect_len(ExtensionType.TRANSFER_FEE_CONFIG, value, 108)
    (withheld,) = struct.unpack_from("<Q", value, 64)
    older = TransferFee(*_FEE.unpack_from(value, 72))
    newer = TransferFee(*_FEE.unpack_from(value, 90))
    return TransferFeeConfig(_maybe_null(value, 0), _maybe_null(value, 32), withheld, older, newer)


def encode_transfer_fee_config(config: TransferFeeConfig) -> bytes:
    return (
        encode_maybe_null(config.config_authority)
        + encode_maybe_null(config.withdraw_withheld_authority)
        + struct.pack("<Q", config.withheld_amount)
        + _FEE.pack(config.older.epoch, config.older.maximum_fee, config.older.basis_points)
        + _FEE.pack(config.newer.epoch, config.newer.maximum_fee, config.newer.basis_points)
    )


@dataclass(frozen=True, slots=True)
class TransferHook:
    authority: Pubkey | None
    program_id: Pubkey | None


def encode_transfer_hook(hook: TransferHook) -> bytes:
    return encode_maybe_null(hook.authority) + encode_maybe_null(hook.program_id)


@dataclass(frozen=True, slots=True)
class Pausable:
    authority: Pubkey | None
    paused: bool


def encode_pausable(pausable: Pausable) -> bytes:
    return encode_maybe_null(pausable.authority) + bytes([int(pausable.paused)])


@dataclass(frozen=True, slots=True)
class MetadataPointer:
    authority: Pubkey | None
    metadata_address: Pubkey | None


@dataclass(frozen=True, slots=True)
class MintExtensions:
    """What a Token-2022 mint's extensions let its authorities do (all None/False on SPL Token)."""

    types: tuple[int, ...] = ()
    transfer_fee: TransferFeeConfig | None = None
    has_close_authority: bool = False
    close_authority: Pubkey | None = None
    default_account_state: int | None = None
    non_transferable: bool = False
    has_permanent_delegate: bool = False
    permanent_delegate: Pubkey | None = None
    transfer_hook: TransferHook | None = None
    pausable: Pausable | None = None
    metadata_pointer: MetadataPointer | None = None
    token_metadata: TokenMetadata | None = None
    confidential_transfers: bool = False


def decode_mint_extensions(entries: TlvEntries) -> MintExtensions:
    """Decode a mint's TLV entries; raises ``ParseError`` on a malformed known extension."""
    ext = MintExtensions(types=tuple(t for t, _ in entries))
    for ext_type, value in entries:
        ext = _apply(ext, ext_type, value)
    return ext


def _apply(ext: MintExtensions, ext_type: int, value: bytes) -> MintExtensions:
    if ext_type == ExtensionType.TRANSFER_FEE_CONFIG:
        return replace(ext, transfer_fee=_parse_transfer_fee_config(value))
    if ext_type == ExtensionType.MINT_CLOSE_AUTHORITY:
        _expect_len(ExtensionType.MINT_CLOSE_AUTHORITY, value, 32)
        return replace(ext, has_close_authority=True, close_authority=_maybe_null(value, 0))
    if ext_type == ExtensionType.DEFAULT_ACCOUNT_STATE:
        _expect_len(ExtensionType.DEFAULT_ACCOUNT_STATE, value, 1)
        if value[0] > 2:
            raise ParseError("Token-2022 DEFAULT_ACCOUNT_STATE", f"invalid state {value[0]}")
        return replace(ext, default_account_state=value[0])
    if ext_type == ExtensionType.NON_TRANSFERABLE:
        _expect_len(ExtensionType.NON_TRANSFERABLE, value, 0)
        return replace(ext, non_transferable=True)
    if ext_type == ExtensionType.PERMANENT_DELEGATE:
        _expect_len(ExtensionType.PERMANENT_DELEGATE, value, 32)
        return replace(ext, has_permanent_delegate=True, permanent_delegate=_maybe_null(value, 0))
    if ext_type == ExtensionType.TRANSFER_HOOK:
        _expect_len(ExtensionType.TRANSFER_HOOK, value, 64)
        return replace(
            ext, transfer_hook=TransferHook(_maybe_null(value, 0), _maybe_null(value, 32))
        )
    if ext_type == ExtensionType.PAUSABLE:
        _expect_len(ExtensionType.PAUSABLE, value, 33)
        if value[32] > 1:
            raise ParseError("Token-2022 PAUSABLE", f"invalid paused byte {value[32]}")
        return replace(ext, pausable=Pausable(_maybe_null(value, 0), value[32] == 1))
    if ext_type == ExtensionType.METADATA_POINTER:
        _expect_len(ExtensionType.METADATA_POINTER, value, 64)
        pointer = MetadataPointer(_maybe_null(value, 0), _maybe_null(value, 32))
        return replace(ext, metadata_pointer=pointer)
    if ext_type == ExtensionType.TOKEN_METADATA:
        return replace(ext, token_metadata=parse_token_metadata(value))
    if ext_type in _CONFIDENTIAL:
        return replace(ext, confidential_transfers=True)
    return ext


_CONFIDENTIAL = frozenset(
    {
        ExtensionType.CONFIDENTIAL_TRANSFER_MINT,
        ExtensionType.CONFIDENTIAL_TRANSFER_FEE_CONFIG,
        ExtensionType.CONFIDENTIAL_MINT_BURN,
    }
)


def token_account_size(mint_data: bytes) -> int:
    """A new Token-2022 account's size for this mint: 165-byte base, the account type byte,
    ImmutableOwner (4-byte header, no data, every ATA has it) and what the mint forces on its
    accounts (transfer fee amount, non-transferable, hook, pausable, confidential)."""
    size, offset = ACCOUNT_LEN + 1 + 4, ACCOUNT_LEN + 1
    while len(mint_data) > MINT_LEN and offset + 4 <= len(mint_data):
        kind, length = struct.unpack_from("<HH", mint_data, offset)
        if kind == 0:
            break
        if kind in _ACCOUNT_EXTENSIONS:
            size += 4 + _ACCOUNT_EXTENSIONS[kind]
        offset += 4 + length
    return size
