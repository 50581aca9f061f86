"""Durable nonce accounts: the 80-byte layout and the System program instructions that use it.

A nonce account (owned by the System program) stores a "durable nonce" hash. A transaction whose
``recent_blockhash`` is that hash and whose FIRST instruction is ``AdvanceNonceAccount`` of the
account (signed by its authority) stays valid until the nonce is advanced; the runtime advances
it when the transaction is processed (even when the transaction's own instructions fail: the
fee is charged and the nonce moves). So one stored nonce value admits at most one landed
transaction, whatever how many copies or re-signs of it exist.

Layout (``nonce::state::Versions`` as bincode writes it, little endian)::

    0  u32  version         0 = Legacy, 1 = Current
    4  u32  state           0 = Uninitialized, 1 = Initialized
    8  [32] authority
    40 [32] durable nonce   the hash a transaction puts in recent_blockhash
    72 u64  lamports_per_signature (the fee calculator at the time the nonce was stored)

solders and the standard library only (the ``solana`` layer).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from solders import system_program as sp
from solders.hash import Hash
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from sniper_bot.solana.programs import SYSTEM_PROGRAM_ID

__all__ = [
    "NONCE_ACCOUNT_LENGTH",
    "NONCE_RENT_EXEMPT_LAMPORTS",
    "NonceAccountError",
    "NonceState",
    "advance_nonce_instruction",
    "create_nonce_instructions",
    "decode_nonce_account",
    "is_advance_nonce",
    "withdraw_nonce_instruction",
]

NONCE_ACCOUNT_LENGTH: Final = 80
# Rent-exempt minimum of an 80-byte account: (128 + 80) * 6960 lamports (rent.py's formula).
NONCE_RENT_EXEMPT_LAMPORTS: Final = (128 + NONCE_ACCOUNT_LENGTH) * 6_960
_ADVANCE_TAG: Final = struct.pack("<I", 4)  # SystemInstruction::AdvanceNonceAccount
_VERSION_LEGACY: Final = 0
_VERSION_CURRENT: Final = 1
_STATE_INITIALIZED: Final = 1


class NonceAccountError(ValueError):
    """Account data that is not an initialized nonce account (size, version, state, owner)."""


@dataclass(frozen=True, slots=True)
class NonceState:
    """An initialized nonce account: who may advance it and the value a transaction uses."""

    authority: Pubkey
    nonce: Hash  # the durable nonce: the next transaction's recent_blockhash
    lamports_per_signature: int
    legacy: bool = False  # a pre-1.10 account: the runtime refuses it until UpgradeNonceAccount


def decode_nonce_account(data: bytes, owner: Pubkey | None = None) -> NonceState:
    """The nonce account's state; ``NonceAccountError`` saying what is wrong otherwise.

    ``owner``, when given, must be the System program (a nonce is only a nonce there)."""
    if owner is not None and owner != SYSTEM_PROGRAM_ID:
        raise NonceAccountError(f"account is owned by {owner}, not the System program")
    raw = bytes(data)
    if len(raw) != NONCE_ACCOUNT_LENGTH:
        raise NonceAccountError(
            f"a nonce account is {NONCE_ACCOUNT_LENGTH} bytes, this one is {len(raw)}"
        )
    version, state = struct.unpack_from("<II", raw, 0)
    if version not in (_VERSION_LEGACY, _VERSION_CURRENT):
        raise NonceAccountError(f"unknown nonce account version {version}")
    if state != _STATE_INITIALIZED:
        raise NonceAccountError(
            "nonce account is not initialized" if state == 0 else f"unknown nonce state {state}"
        )
    (fee,) = struct.unpack_from("<Q", raw, 72)
    return NonceState(
        authority=Pubkey.from_bytes(raw[8:40]),
        nonce=Hash.from_bytes(raw[40:72]),
        lamports_per_signature=int(fee),
        legacy=version == _VERSION_LEGACY,
    )


def create_nonce_instructions(
    payer: Pubkey, nonce_account: Pubkey, authority: Pubkey,
    lamports: int = NONCE_RENT_EXEMPT_LAMPORTS,
) -> list[Instruction]:  # fmt: skip
    """CreateAccount (80 bytes, System-owned; ``nonce_account`` signs) + InitializeNonceAccount."""
    if lamports < NONCE_RENT_EXEMPT_LAMPORTS:
        raise ValueError(
            f"a nonce account needs at least {NONCE_RENT_EXEMPT_LAMPORTS} lamports (rent-exempt)"
        )
    return list(sp.create_nonce_account(payer, nonce_account, authority, lamports))


def advance_nonce_instruction(nonce_account: Pubkey, authority: Pubkey) -> Instruction:
    """AdvanceNonceAccount: must be a durable transaction's first instruction."""
    return sp.advance_nonce_account(
        sp.AdvanceNonceAccountParams(nonce_pubkey=nonce_account, authorized_pubkey=authority)
    )


def withdraw_nonce_instruction(
    nonce_account: Pubkey, authority: Pubkey, to: Pubkey, lamports: int
) -> Instruction:
    """WithdrawNonceAccount: withdrawing everything closes the account."""
    if lamports <= 0:
        raise ValueError("a nonce withdrawal needs a positive integer amount of lamports")
    params = sp.WithdrawNonceAccountParams(
        nonce_pubkey=nonce_account, authorized_pubkey=authority, to_pubkey=to, lamports=lamports
    )
    return sp.withdraw_nonce_account(params)


def is_advance_nonce(ix: Instruction, nonce_account: Pubkey | None = None) -> bool:
    """Whether ``ix`` is an AdvanceNonceAccount (of ``nonce_account`` when given): what the
    runtime looks for in a transaction's first instruction to treat it as durable."""
    if ix.program_id != SYSTEM_PROGRAM_ID or bytes(ix.data) != _ADVANCE_TAG:
        return False
    if len(ix.accounts) < 3:
        return False
    meta = ix.accounts[0]
    if not meta.is_writable:
        return False
    return nonce_account is None or meta.pubkey == nonce_account
