"""solana/nonce.py: the 80-byte nonce account layout (agave's bincode of nonce::state::Versions)
and the System program instructions (solders' builders, checked by their wire bytes here)."""

from __future__ import annotations

import struct

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.sysvar import RECENT_BLOCKHASHES

from sniper_bot.solana.nonce import (
    NONCE_ACCOUNT_LENGTH,
    NONCE_RENT_EXEMPT_LAMPORTS,
    NonceAccountError,
    advance_nonce_instruction,
    create_nonce_instructions,
    decode_nonce_account,
    is_advance_nonce,
    withdraw_nonce_instruction,
)
from sniper_bot.solana.programs import SYSTEM_PROGRAM_ID


def account(version: int = 1, state: int = 1, authority: Pubkey | None = None,
            nonce: Hash | None = None, fee: int = 5_000) -> bytes:  # fmt: skip
    authority = authority or Pubkey.new_unique()
    nonce = nonce or Hash.new_unique()
    return (
        struct.pack("<II", version, state)
        + bytes(authority)
        + bytes(nonce)
        + struct.pack("<Q", fee)
    )


def test_decodes_every_field() -> None:
    auth, value = Pubkey.new_unique(), Hash.new_unique()
    state = decode_nonce_account(account(authority=auth, nonce=value, fee=7_777))
    assert (state.authority, state.nonce, state.lamports_per_signature) == (auth, value, 7_777)
    assert not state.legacy
    assert decode_nonce_account(account(version=0)).legacy
    assert NONCE_ACCOUNT_LENGTH == 80
    assert NONCE_RENT_EXEMPT_LAMPORTS == 1_447_680  # what `solana rent 80` answers


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (account()[:79], "80 bytes, this one is 79"),
        (account() + b"\0", "this one is 81"),
        (b"", "this one is 0"),
        (account(state=0), "not initialized"),
        (account(state=2), "unknown nonce state 2"),
        (account(version=2), "unknown nonce account version 2"),
    ],
)
def test_refuses_what_is_not_an_initialized_nonce(data: bytes, message: str) -> None:
    with pytest.raises(NonceAccountError, match=message):
        decode_nonce_account(data)


def test_refuses_another_owner() -> None:
    owner = Pubkey.new_unique()
    with pytest.raises(NonceAccountError, match=f"owned by {owner}"):
        decode_nonce_account(account(), owner=owner)
    assert decode_nonce_account(account(), owner=SYSTEM_PROGRAM_ID)


def test_instruction_wire_bytes() -> None:
    payer, nonce, auth, to = (Pubkey.new_unique() for _ in range(4))
    create, init = create_nonce_instructions(payer, nonce, auth)
    # SystemInstruction::CreateAccount { lamports, space: 80, owner: System }
    assert bytes(create.data) == struct.pack("<IQQ", 0, NONCE_RENT_EXEMPT_LAMPORTS, 80) + bytes(
        SYSTEM_PROGRAM_ID
    )
    assert [(m.pubkey, m.is_signer) for m in create.accounts] == [(payer, True), (nonce, True)]
    assert bytes(init.data) == struct.pack("<I", 6) + bytes(auth)  # InitializeNonceAccount
    advance = advance_nonce_instruction(nonce, auth)
    assert bytes(advance.data) == struct.pack("<I", 4)
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in advance.accounts] == [
        (nonce, False, True), (RECENT_BLOCKHASHES, False, False), (auth, True, False),
    ]  # fmt: skip
    withdraw = withdraw_nonce_instruction(nonce, auth, to, 123)
    assert bytes(withdraw.data) == struct.pack("<IQ", 5, 123)
    assert withdraw.accounts[0].pubkey == nonce
    assert withdraw.accounts[1].pubkey == to
    assert withdraw.accounts[-1] == AccountMeta(auth, True, False)


def test_builders_refuse_bad_amounts() -> None:
    a, b = Pubkey.new_unique(), Pubkey.new_unique()
    with pytest.raises(ValueError, match="rent-exempt"):
        create_nonce_instructions(a, b, a, NONCE_RENT_EXEMPT_LAMPORTS - 1)
    with pytest.raises(ValueError, match="positive"):
        withdraw_nonce_instruction(a, a, b, 0)


def test_is_advance_nonce() -> None:
    nonce, auth = Pubkey.new_unique(), Pubkey.new_unique()
    advance = advance_nonce_instruction(nonce, auth)
    assert is_advance_nonce(advance)
    assert is_advance_nonce(advance, nonce)
    assert not is_advance_nonce(advance, Pubkey.new_unique())
    assert not is_advance_nonce(withdraw_nonce_instruction(nonce, auth, auth, 1))
    assert not is_advance_nonce(Instruction(Pubkey.new_unique(), advance.data, advance.accounts))
    readonly = [AccountMeta(nonce, False, False), *advance.accounts[1:]]
    assert not is_advance_nonce(Instruction(SYSTEM_PROGRAM_ID, advance.data, readonly))
    assert not is_advance_nonce(Instruction(SYSTEM_PROGRAM_ID, advance.data, advance.accounts[:2]))
