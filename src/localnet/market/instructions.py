"""Hand-packed instructions for the programs LiteSVM preloads (solders only, no solana-py).

SPL Token / Token-2022 instruction tags follow `TokenInstruction` in token-2022 `instruction.rs`;
extension sub-instructions are `[tag, sub_tag, ...]`. Optional pubkeys inside instruction data come
in two encodings: `COption` (1 tag byte, then 32 bytes when Some) and `OptionalNonZeroPubkey`
(32 bytes, all-zero = None); each builder uses the one its program expects.
"""

from __future__ import annotations

import struct
from typing import Final

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address

SYSTEM_PROGRAM_ID: Final = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM_ID: Final = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID: Final = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID: Final = Pubkey.from_string(
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
)
MEMO_PROGRAM_ID: Final = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
METADATA_PROGRAM_ID: Final = Pubkey.from_string("metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s")
WSOL_MINT: Final = Pubkey.from_string("So11111111111111111111111111111111111111112")

_ZERO_KEY: Final = bytes(32)

# SPL Token / Token-2022 instruction tags
_INITIALIZE_MINT2: Final = 20
_MINT_TO: Final = 7
_TRANSFER_CHECKED: Final = 12
_FREEZE_ACCOUNT: Final = 10
_THAW_ACCOUNT: Final = 11
_SET_AUTHORITY: Final = 6
_BURN_CHECKED: Final = 15
_TRANSFER_FEE_EXTENSION: Final = 26
_DEFAULT_ACCOUNT_STATE_EXTENSION: Final = 28
_INITIALIZE_NON_TRANSFERABLE_MINT: Final = 32
_INITIALIZE_PERMANENT_DELEGATE: Final = 35
_TRANSFER_HOOK_EXTENSION: Final = 36
_PAUSABLE_EXTENSION: Final = 44

AUTHORITY_MINT_TOKENS: Final = 0
AUTHORITY_FREEZE_ACCOUNT: Final = 1

ACCOUNT_STATE_FROZEN: Final = 2

# Token-2022 extension value sizes (TLV entries add 4 header bytes each)
EXT_TRANSFER_FEE_CONFIG: Final = (1, 108)
EXT_DEFAULT_ACCOUNT_STATE: Final = (6, 1)
EXT_NON_TRANSFERABLE: Final = (9, 0)
EXT_PERMANENT_DELEGATE: Final = (12, 32)
EXT_TRANSFER_HOOK: Final = (14, 64)
EXT_PAUSABLE: Final = (26, 33)

MINT_BASE_LEN: Final = 82
ACCOUNT_BASE_LEN: Final = 165


def mint_len(extensions: list[tuple[int, int]]) -> int:
    """Byte length of a mint account carrying `extensions` (type, value length) pairs."""
    if not extensions:
        return MINT_BASE_LEN
    return ACCOUNT_BASE_LEN + 1 + sum(4 + size for _, size in extensions)


def _coption(key: Pubkey | None) -> bytes:
    return b"\x00" if key is None else b"\x01" + bytes(key)


def _nonzero(key: Pubkey | None) -> bytes:
    return _ZERO_KEY if key is None else bytes(key)


def initialize_mint2(
    program: Pubkey,
    mint: Pubkey,
    decimals: int,
    mint_authority: Pubkey,
    freeze_authority: Pubkey | None,
) -> Instruction:
    data = bytes([_INITIALIZE_MINT2, decimals]) + bytes(mint_authority) + _coption(freeze_authority)
    return Instruction(program, data, [AccountMeta(mint, False, True)])


def mint_to(
    program: Pubkey, mint: Pubkey, dest: Pubkey, authority: Pubkey, amount: int
) -> Instruction:
    return Instruction(
        program,
        struct.pack("<BQ", _MINT_TO, amount),
        [
            AccountMeta(mint, False, True),
            AccountMeta(dest, False, True),
            AccountMeta(authority, True, False),
        ],
    )


def transfer_checked(
    program: Pubkey,
    source: Pubkey,
    mint: Pubkey,
    dest: Pubkey,
    owner: Pubkey,
    amount: int,
    decimals: int,
    extra: list[AccountMeta] | None = None,
) -> Instruction:
    """`TransferChecked`; `extra` carries a transfer hook's program and validation accounts."""
    metas = [
        AccountMeta(source, False, True),
        AccountMeta(mint, False, False),
        AccountMeta(dest, False, True),
        AccountMeta(owner, True, False),
    ]
    return Instruction(
        program, struct.pack("<BQB", _TRANSFER_CHECKED, amount, decimals), metas + (extra or [])
    )


def burn_checked(
    program: Pubkey, account: Pubkey, mint: Pubkey, owner: Pubkey, amount: int, decimals: int
) -> Instruction:
    return Instruction(
        program,
        struct.pack("<BQB", _BURN_CHECKED, amount, decimals),
        [
            AccountMeta(account, False, True),
            AccountMeta(mint, False, True),
            AccountMeta(owner, True, False),
        ],
    )


def freeze_account(
    program: Pubkey, account: Pubkey, mint: Pubkey, authority: Pubkey, *, thaw: bool = False
) -> Instruction:
    return Instruction(
        program,
        bytes([_THAW_ACCOUNT if thaw else _FREEZE_ACCOUNT]),
        [
            AccountMeta(account, False, True),
            AccountMeta(mint, False, False),
            AccountMeta(authority, True, False),
        ],
    )


def set_authority(
    program: Pubkey,
    target: Pubkey,
    current: Pubkey,
    authority_type: int,
    new_authority: Pubkey | None,
) -> Instruction:
    data = bytes([_SET_AUTHORITY, authority_type]) + _coption(new_authority)
    return Instruction(
        program, data, [AccountMeta(target, False, True), AccountMeta(current, True, False)]
    )


def initialize_transfer_fee_config(
    mint: Pubkey, authority: Pubkey | None, fee_bps: int, maximum_fee: int
) -> Instruction:
    data = (
        bytes([_TRANSFER_FEE_EXTENSION, 0])
        + _coption(authority)
        + _coption(authority)
        + struct.pack("<HQ", fee_bps, maximum_fee)
    )
    return Instruction(TOKEN_2022_PROGRAM_ID, data, [AccountMeta(mint, False, True)])


def initialize_default_account_state(mint: Pubkey, state: int) -> Instruction:
    return Instruction(
        TOKEN_2022_PROGRAM_ID,
        bytes([_DEFAULT_ACCOUNT_STATE_EXTENSION, 0, state]),
        [AccountMeta(mint, False, True)],
    )


def initialize_non_transferable_mint(mint: Pubkey) -> Instruction:
    return Instruction(
        TOKEN_2022_PROGRAM_ID,
        bytes([_INITIALIZE_NON_TRANSFERABLE_MINT]),
        [AccountMeta(mint, False, True)],
    )


def initialize_permanent_delegate(mint: Pubkey, delegate: Pubkey) -> Instruction:
    return Instruction(
        TOKEN_2022_PROGRAM_ID,
        bytes([_INITIALIZE_PERMANENT_DELEGATE]) + bytes(delegate),
        [AccountMeta(mint, False, True)],
    )


def initialize_transfer_hook(
    mint: Pubkey, authority: Pubkey | None, hook_program: Pubkey
) -> Instruction:
    data = bytes([_TRANSFER_HOOK_EXTENSION, 0]) + _nonzero(authority) + bytes(hook_program)
    return Instruction(TOKEN_2022_PROGRAM_ID, data, [AccountMeta(mint, False, True)])


def initialize_pausable(mint: Pubkey, authority: Pubkey) -> Instruction:
    return Instruction(
        TOKEN_2022_PROGRAM_ID,
        bytes([_PAUSABLE_EXTENSION, 0]) + bytes(authority),
        [AccountMeta(mint, False, True)],
    )


def pause(mint: Pubkey, authority: Pubkey, *, resume: bool = False) -> Instruction:
    return Instruction(
        TOKEN_2022_PROGRAM_ID,
        bytes([_PAUSABLE_EXTENSION, 2 if resume else 1]),
        [AccountMeta(mint, False, True), AccountMeta(authority, True, False)],
    )


def create_associated_token_account_idempotent(
    payer: Pubkey, owner: Pubkey, mint: Pubkey, token_program: Pubkey
) -> Instruction:
    ata = get_associated_token_address(owner, mint, token_program)
    return Instruction(
        ASSOCIATED_TOKEN_PROGRAM_ID,
        bytes([1]),
        [
            AccountMeta(payer, True, True),
            AccountMeta(ata, False, True),
            AccountMeta(owner, False, False),
            AccountMeta(mint, False, False),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(token_program, False, False),
        ],
    )


def memo(text: str, signers: list[Pubkey] | None = None) -> Instruction:
    return Instruction(
        MEMO_PROGRAM_ID,
        text.encode(),
        [AccountMeta(key, True, False) for key in signers or []],
    )


def associated_token_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    return get_associated_token_address(owner, mint, token_program)


def transfer_fee(amount: int, fee_bps: int, maximum_fee: int) -> int:
    """Token-2022 `TransferFee::calculate_fee`: ceil(amount * bps / 10_000), capped."""
    if fee_bps == 0 or amount == 0:
        return 0
    return min(-(-amount * fee_bps // 10_000), maximum_fee)
