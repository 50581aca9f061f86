"""Check a venue's swap transaction before signing it, then sign it fast.

Checked statically (no network): the fee payer is the user; every other required signer is a
co-signer the policy accepts and that has already signed (a valid signature over this exact
message); every invoked program is allowed; SOL the user transfers (System Transfer/
CreateAccount) and tokens the user moves (Token Transfer/TransferChecked) do not exceed what the
quote says; the wallet hands no authority away (Approve, SetAuthority, CloseAccount to someone
else, System Assign); the compute-budget priority fee is within the user's maximum. A Jito tip
is a System transfer from the user to a known tip account (Jito's, plus
``VerifyPolicy.tip_accounts``): it is accepted only when the order asked for one
(``VerifyPolicy.tip_lamports``) and only of that amount; an order that asked for a tip is refused
unless the transaction tips a tip account (a tip sent anywhere else is no tip: a block engine
would refuse the bundle, and the lamports would go to a stranger).

Co-signers (``VerifyPolicy.cosigners``, the app's ``SWAP_COSIGNER_POLICY``):

* ``"none"`` (production default): mainnet Jupiter transactions need only the user's signature,
  so any extra signer is refused unless it is in ``allowed_cosigners`` (an explicit allow-set).
* ``"presigned"``: venues that co-sign with keys the app cannot know in advance (localnet's
  market signs each swap with a per-pool key). An extra signer is accepted only if (a) it has
  already produced a valid signature over this exact message, (b) it is not the fee payer, and
  (c) the amount checks hold; the executor then also simulates the signed transaction and refuses
  it when more SOL would leave the wallet than the quote + fees + rent (``check_outflow``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

from solders.hash import Hash
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.jito import JITO_TIP_ACCOUNTS
from sniper_bot.domain.orders import OrderErrorType, OrderSide
from sniper_bot.domain.quotes import Quote
from sniper_bot.solana.programs import (
    ASSOCIATED_TOKEN_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    JUPITER_V6_PROGRAM,
    MEMO_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
)
from sniper_bot.trading.errors import SwapVerificationError
from sniper_bot.trading.venues.pumpfun.checks import PUMP_PROGRAM, read_pump_trade
from sniper_bot.trading.venues.pumpswap.checks import PUMP_AMM_PROGRAM, read_pumpswap_trade

__all__ = [
    "COSIGNER_POLICIES",
    "DEFAULT_ALLOWED_PROGRAMS",
    "VENUE_PROGRAMS",
    "CosignerPolicy",
    "VerifiedSwap",
    "VerifyPolicy",
    "check_outflow",
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
        JUPITER_V6_PROGRAM,
        MEMO_PROGRAM,
        JUPITER_V6_PROGRAM,
    )
)
# Programs a venue's own transactions may call besides the defaults, by ``Quote.venue``.
VENUE_PROGRAMS: dict[str, frozenset[Pubkey]] = {"pumpfun": frozenset({PUMP_PROGRAM})}
VENUE_PROGRAMS["pumpswap"] = frozenset({PUMP_AMM_PROGRAM})  # its caps: venues.pumpswap.checks
_SYSTEM = Pubkey.from_string(SYSTEM_PROGRAM)
_BUDGET = Pubkey.from_string(COMPUTE_BUDGET_PROGRAM)
_TOKENS = frozenset({Pubkey.from_string(TOKEN_PROGRAM), Pubkey.from_string(TOKEN_2022_PROGRAM)})
# Rent of up to a few new accounts (ATA 165 B ~ 0.00204 SOL; wSOL account): allowed beyond amounts.
DEFAULT_RENT_ALLOWANCE = 10_000_000
LAMPORTS_PER_SIGNATURE = 5_000

CosignerPolicy = Literal["none", "presigned"]
COSIGNER_POLICIES: tuple[CosignerPolicy, ...] = get_args(CosignerPolicy)

# Token instructions by which the wallet would hand its tokens or accounts to someone else:
# tag -> (position of the authority account, description). CloseAccount is handled apart.
_TOKEN_AUTHORITY_GRANTS = {
    4: (2, "approves a delegate over the wallet's tokens"),
    13: (3, "approves a delegate over the wallet's tokens"),
    6: (1, "changes an authority the wallet holds"),
}
_TOKEN_CLOSE_ACCOUNT = 9
_SYSTEM_MOVES = (0, 2)  # CreateAccount, Transfer: lamports at 4..12
_SYSTEM_TRANSFER = 2


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What a venue's transaction may contain; ``cosigners`` is ``"none"`` or ``"presigned"``."""

    max_priority_fee_lamports: int
    allowed_programs: frozenset[Pubkey] = DEFAULT_ALLOWED_PROGRAMS
    allowed_cosigners: frozenset[Pubkey] = field(default_factory=frozenset)
    rent_allowance_lamports: int = DEFAULT_RENT_ALLOWANCE
    cosigners: CosignerPolicy = "none"
    # The Jito tip the order asked for (0: none; any tip is then refused) and tip accounts known
    # besides Jito's own (what a block engine's getTipAccounts reported).
    tip_lamports: int = 0
    tip_accounts: frozenset[Pubkey] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if isinstance(self.tip_lamports, bool) or self.tip_lamports < 0:
            raise ValueError(f"tip_lamports must be whole lamports >= 0, got {self.tip_lamports}")
        if self.cosigners not in COSIGNER_POLICIES:
            raise ValueError(
                f"cosigner policy must be one of {', '.join(COSIGNER_POLICIES)}, "
                f"got {self.cosigners!r} (set SWAP_COSIGNER_POLICY=none on mainnet)"
            )


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
    cosigners: tuple[Pubkey, ...] = ()  # extra signers that already signed (presigned policy)
    tip_lamports: int = 0  # the Jito tip the wallet pays (System transfers to tip accounts)

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
    cosigners = _check_cosigners(keys, sigs, n_signers, message_bytes, policy)
    program_ids: list[str] = []
    sol_out = 0
    tip_out = 0
    tip_accounts = JITO_TIP_ACCOUNTS | policy.tip_accounts
    tokens_out = 0
    cu_limit: int | None = None
    cu_price: int | None = None
    # A venue's own program is allowed only in that venue's transactions (a Jupiter swap never
    # gets to call the pump program); its caps are read from its instruction.
    allowed = policy.allowed_programs | VENUE_PROGRAMS.get(quote.venue, frozenset())
    venue_trades = 0
    venue_max_sol = 0
    for ix in msg.instructions:
        if ix.program_id_index >= len(keys):
            raise _refuse("an instruction's program is loaded from a lookup table")
        program = keys[ix.program_id_index]
        if program not in allowed:
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
        elif program == _SYSTEM and len(data) >= 4 and key_at(0) == user:
            tag = struct.unpack_from("<I", data, 0)[0]
            if tag not in _SYSTEM_MOVES or len(data) < 12:
                raise _refuse(f"system instruction {tag} on the wallet account itself")
            moved = struct.unpack_from("<Q", data, 4)[0]
            if tag == _SYSTEM_TRANSFER and key_at(1) in tip_accounts:
                tip_out += moved
            else:
                sol_out += moved
        elif program == PUMP_PROGRAM:
            try:
                trade = read_pump_trade(data, [key_at(i) for i in range(len(accounts))], user, side)
            except ValueError as exc:
                raise _refuse(str(exc)) from None
            venue_trades += 1
            venue_max_sol += trade.max_sol_in
            tokens_out += trade.tokens_in
        elif program == PUMP_AMM_PROGRAM:
            try:
                amm = read_pumpswap_trade(data, [key_at(i) for i in range(len(accounts))], user,
                                          side)  # fmt: skip
            except ValueError as exc:
                raise _refuse(str(exc)) from None
            venue_trades += amm.trades
            venue_max_sol += amm.max_quote_in
            tokens_out += amm.tokens_in
        elif program in _TOKENS and data:
            tag = data[0]
            grant = _TOKEN_AUTHORITY_GRANTS.get(tag)
            if grant is not None and key_at(grant[0]) == user:
                raise _refuse(grant[1])
            if tag == _TOKEN_CLOSE_ACCOUNT and key_at(2) == user and key_at(1) != user:
                raise _refuse("closes a wallet token account into someone else's account")
            # Transfer(3): authority is account 2; TransferChecked(12): account 3.
            authority_pos = {3: 2, 12: 3}.get(tag)
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
    if tip_out > policy.tip_lamports:
        asked = f"asked for {policy.tip_lamports}" if policy.tip_lamports else "asked for no tip"
        raise _refuse(f"tips {tip_out} lamports to Jito tip accounts; the order {asked}")
    if policy.tip_lamports and tip_out != policy.tip_lamports:
        raise _refuse(
            f"tips {tip_out} lamports to Jito tip accounts, not the {policy.tip_lamports} the "
            "order asked for (a tip to any other account is no tip)"
        )
    if venue_trades > 1:
        raise _refuse(f"{venue_trades} pump.fun trades in one swap")
    # max_sol_cost may exceed the quote's lamports by the quote's own slippage, never more.
    cap = spend_sol + spend_sol * quote.slippage_bps // 10_000
    if venue_max_sol > cap:
        raise _refuse(f"lets pump.fun take up to {venue_max_sol} lamports; the quote allows {cap}")
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
        cosigners=cosigners,
        tip_lamports=tip_out,
    )
    if verified.priority_fee_lamports > policy.max_priority_fee_lamports:
        raise _refuse(
            f"priority fee {verified.priority_fee_lamports} lamports exceeds the maximum "
            f"{policy.max_priority_fee_lamports}"
        )
    return verified


def _check_cosigners(
    keys: list[Pubkey],
    sigs: list[Signature],
    n_signers: int,
    message_bytes: bytes,
    policy: VerifyPolicy,
) -> tuple[Pubkey, ...]:
    """Every required signer after the fee payer (the user) must be accepted and have signed."""
    accepted: list[Pubkey] = []
    for i in range(1, n_signers):
        signer = keys[i]
        if signer == keys[0]:  # (b) a co-signer can never be the fee payer
            raise _refuse(f"co-signer {signer} is the fee payer")
        if signer not in policy.allowed_cosigners and policy.cosigners != "presigned":
            raise _refuse(
                f"unexpected signer {signer} (co-signer policy {policy.cosigners!r} "
                "accepts only the user's signature)"
            )
        if sigs[i] == Signature.default() or not sigs[i].verify(signer, message_bytes):
            raise _refuse(f"co-signer {signer} has not signed this message")
        accepted.append(signer)
    return tuple(accepted)


def check_outflow(
    verified: VerifiedSwap,
    *,
    spend_lamports: int,
    pre_lamports: int,
    post_lamports: int,
    policy: VerifyPolicy,
) -> None:
    """Refuse when a (simulated) run takes more SOL than the quote + fees + rent allowance.

    ``spend_lamports`` is the quote's SOL input (0 for a sell); the network fee is one base fee
    per signature plus the priority fee the message asks for.
    """
    fees = LAMPORTS_PER_SIGNATURE * len(verified.tx.signatures) + verified.priority_fee_lamports
    fees += verified.tip_lamports
    limit = spend_lamports + fees + policy.rent_allowance_lamports
    taken = pre_lamports - post_lamports
    if taken > limit:
        raise _refuse(
            f"simulation takes {taken} lamports from the wallet; quote + fees + rent allow {limit}"
        )


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
