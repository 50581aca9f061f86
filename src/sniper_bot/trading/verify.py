"""Check a venue's swap transaction before signing it, then sign it fast.

Checked statically (no network): the fee payer is the user; every other required signer is an
allowed co-signer that has already signed (a valid signature over this message); every invoked
program is allowed; SOL the user transfers (System Transfer/CreateAccount) and tokens the user
moves (Token Transfer/TransferChecked) do not exceed what the quote says; the compute-budget
priority fee is within the user's maximum. The simulation later checks the resulting balances.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from solders.hash import Hash
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.domain.orders import OrderErrorType, OrderSide
from sniper_bot.domain.quotes import Quote
from sniper_bot.trading.errors import SwapVerificationError
from sniper_bot.trading.programs import (
    ASSOCIATED_TOKEN_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    MEMO_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
)
from sniper_bot.trading.venues.jupiter.constants import JUPITER_V6_PROGRAM

__all__ = [
    "DEFAULT_ALLOWED_PROGRAMS",
    "VerifiedSwap",
    "VerifyPolicy",
    "sign_swap",
    "verify_swap",
]

DEFAULT_ALLOWED_PROGRAMS = frozenset(
    Pubkey.from_string(p)
    for p in (
        SYSTEM_PROGRAM,
        TOKEN_PROGRAM,
        TOKEN_2022_PROGRAM,
        ASSOCIATED_TOKEN_PROGRAM,
        COMPUTE_BUDGET_PROGRAM,
        MEMO_PROGRAM,
        JUPITER_V6_PROGRAM,
    )
)
_SYSTEM = Pubkey.from_string(SYSTEM_PROGRAM)
_BUDGET = Pubkey.from_string(COMPUTE_BUDGET_PROGRAM)
_TOKENS = frozenset({Pubkey.from_string(TOKEN_PROGRAM), Pubkey.from_string(TOKEN_2022_PROGRAM)})
# Rent of up to a few new accounts (ATA 165 B ~ 0.00204 SOL; wSOL account): allowed beyond amounts.
DEFAULT_RENT_ALLOWANCE = 10_000_000


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    max_priority_fee_lamports: int
    allowed_programs: frozenset[Pubkey] = DEFAULT_ALLOWED_PROGRAMS
    allowed_cosigners: frozenset[Pubkey] = field(default_factory=frozenset)
    rent_allowance_lamports: int = DEFAULT_RENT_ALLOWANCE


@dataclass(frozen=True, slots=True)
class VerifiedSwap:
    tx: VersionedTransaction
    message_bytes: bytes
    user_index: int
    program_ids: tuple[str, ...]  # per instruction index, for error classification
    writable_accounts: tuple[Pubkey, ...]
    sol_out_lamports: int
    tokens_out: int
    compute_unit_limit: int | None
    compute_unit_price_micro_lamports: int | None
    blockhash: Hash

    @property
    def priority_fee_lamports(self) -> int:
        limit = self.compute_unit_limit if self.compute_unit_limit is not None else 200_000
        price = self.compute_unit_price_micro_lamports or 0
        return -(-limit * price // 1_000_000)


def _refuse(reason: str) -> SwapVerificationError:
    return SwapVerificationError(
        f"swap transaction refused: {reason}",
        error_type=OrderErrorType.REJECTED,
        details={"verification": reason},
    )


def _writable(msg: MessageV0) -> Iterable[Pubkey]:
    keys = msg.account_keys
    for i, key in enumerate(keys):
        if msg.is_maybe_writable(i):
            yield key


def verify_swap(
    tx: VersionedTransaction,
    *,
    user: Pubkey,
    quote: Quote,
    side: OrderSide,
    policy: VerifyPolicy,
) -> VerifiedSwap:
    """Raise ``SwapVerificationError`` unless ``tx`` is a swap we are willing to sign."""
    msg = tx.message
    if not isinstance(msg, MessageV0):
        raise _refuse("not a v0 message")
    keys = list(msg.account_keys)
    header = msg.header
    n_signers = header.num_required_signatures
    if not keys or keys[0] != user:
        raise _refuse(f"fee payer is {keys[0] if keys else None}, not the user's wallet")
    message_bytes = to_bytes_versioned(msg)
    sigs = list(tx.signatures)
    if len(sigs) != n_signers:
        raise _refuse("signature count does not match the message header")
    for i in range(1, n_signers):
        signer = keys[i]
        if signer == user:
            continue
        if signer not in policy.allowed_cosigners:
            raise _refuse(f"unexpected signer {signer}")
        if sigs[i] == Signature.default() or not sigs[i].verify(signer, message_bytes):
            raise _refuse(f"co-signer {signer} has not signed this message")
    program_ids: list[str] = []
    sol_out = 0
    tokens_out = 0
    cu_limit: int | None = None
    cu_price: int | None = None
    for ix in msg.instructions:
        if ix.program_id_index >= len(keys):
            raise _refuse("an instruction's program is loaded from a lookup table")
        program = keys[ix.program_id_index]
        if program not in policy.allowed_programs:
            raise _refuse(f"unexpected program {program}")
        program_ids.append(str(program))
        data = bytes(ix.data)
        accounts = list(ix.accounts)

        def key_at(pos: int, accounts: list[int] = accounts) -> Pubkey | None:
            if pos >= len(accounts) or accounts[pos] >= len(keys):
                return None
            return keys[accounts[pos]]

        if program == _BUDGET and data:
            if data[0] == 2 and len(data) >= 5:
                cu_limit = struct.unpack_from("<I", data, 1)[0]
            elif data[0] == 3 and len(data) >= 9:
                cu_price = struct.unpack_from("<Q", data, 1)[0]
        elif program == _SYSTEM and len(data) >= 12 and key_at(0) == user:
            tag = struct.unpack_from("<I", data, 0)[0]
            if tag in (0, 2):  # CreateAccount / Transfer: lamports at 4..12
                sol_out += struct.unpack_from("<Q", data, 4)[0]
        elif program in _TOKENS and data:
            # Transfer(3): authority is account 2; TransferChecked(12): account 3.
            authority_pos = {3: 2, 12: 3}.get(data[0])
            if authority_pos is not None and len(data) >= 9 and key_at(authority_pos) == user:
                tokens_out += struct.unpack_from("<Q", data, 1)[0]
    user_index = keys.index(user)
    if user_index >= n_signers:
        raise _refuse("the user's wallet is not a signer")
    spend_sol = quote.in_amount if side is OrderSide.BUY else 0
    spend_tokens = quote.in_amount if side is OrderSide.SELL else 0
    if sol_out > spend_sol + policy.rent_allowance_lamports:
        raise _refuse(f"moves {sol_out} lamports from the wallet; the quote says {spend_sol}")
    if tokens_out > spend_tokens:
        raise _refuse(f"moves {tokens_out} tokens from the wallet; the quote says {spend_tokens}")
    verified = VerifiedSwap(
        tx=tx,
        message_bytes=message_bytes,
        user_index=user_index,
        program_ids=tuple(program_ids),
        writable_accounts=tuple(_writable(msg)),
        sol_out_lamports=sol_out,
        tokens_out=tokens_out,
        compute_unit_limit=cu_limit,
        compute_unit_price_micro_lamports=cu_price,
        blockhash=msg.recent_blockhash,
    )
    if verified.priority_fee_lamports > policy.max_priority_fee_lamports:
        raise _refuse(
            f"priority fee {verified.priority_fee_lamports} lamports exceeds the maximum "
            f"{policy.max_priority_fee_lamports}"
        )
    return verified


def sign_swap(verified: VerifiedSwap, sign_message: object) -> VersionedTransaction:
    """Fill the user's signature slot (co-signers' slots are kept): STACK-NOTES 8's fast path.

    ``sign_message`` is a callable ``bytes -> Signature`` (``Keypair.sign_message``).
    """
    if not callable(sign_message):
        raise TypeError("sign_message must be callable")
    signature = sign_message(verified.message_bytes)
    if not isinstance(signature, Signature):
        raise TypeError("sign_message must return a solders Signature")
    sigs = list(verified.tx.signatures)
    sigs[verified.user_index] = signature
    return VersionedTransaction.populate(verified.tx.message, sigs)
