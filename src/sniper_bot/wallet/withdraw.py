"""Withdrawals of SOL and tokens: a preview to confirm, then one signed v0 transaction.

Flow (``wallet.withdrawals.WithdrawalService`` drives it; this module only computes and signs):
1. ``preview_sol`` / ``preview_token`` check the amount against balances the caller read from the
   chain and return a ``WithdrawalPreview`` (amount, network fee, rent for a new token account,
   destination) for the confirmation step. Nothing is signed yet.
2. After the user confirms and passes the PIN (``WalletService.unlock_for_withdrawal``),
   ``sign_withdrawal`` builds and signs the transaction against a fresh blockhash.
3. ``WithdrawalService`` (not the trading executor: it has its own path, on the same rules)
   persists the signature, the signed bytes and ``last_valid_block_height`` BEFORE the first send
   and resends only those bytes until they land or that height passes with no status (EXPIRED,
   final). It never signs a second transaction for the same withdrawal: after EXPIRED the user
   starts a new one.

Instructions (PROTOCOLS 2.10 and 7): ComputeBudget SetComputeUnitLimit (tag 2, u32) and
SetComputeUnitPrice (tag 3, u64 micro-lamports); System Transfer (u32 2, u64 lamports);
Associated Token Account CreateIdempotent (tag 1) with the MINT'S token program; SPL
TransferChecked (tag 12, u64 amount, u8 decimals) sent to the mint's token program (Token or
Token-2022), between ATAs derived with that same program.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.domain.money import format_sol, format_tokens
from sniper_bot.errors import PermanentError
from sniper_bot.solana.pda import associated_token_address
from sniper_bot.solana.programs import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    COMPUTE_BUDGET_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)
from sniper_bot.solana.rent import BASE_FEE_LAMPORTS, RENT_EXEMPT_MINIMUM_LAMPORTS
from sniper_bot.wallet.keys import parse_address
from sniper_bot.wallet.sessions import UnlockedWallet

__all__ = [
    "SignedWithdrawal",
    "TokenInfo",
    "WithdrawalError",
    "WithdrawalPreview",
    "create_ata_idempotent",
    "preview_sol",
    "preview_token",
    "sign_withdrawal",
    "system_transfer",
    "token_account_rent",
    "transfer_checked",
]


_LAMPORTS_PER_BYTE_YEAR_X2 = 6_960  # rent: (128 + data bytes) * 3480 lamports * 2 years
SOL_CU_LIMIT = 1_000  # measured ~450 with the two compute-budget instructions
TOKEN_CU_LIMIT = 60_000  # ATA create (~15-25k) + transfer_checked (Token-2022 ~3-7k) + margin


class WithdrawalError(PermanentError):
    def __init__(self, message: str) -> None:
        super().__init__(message, user_message=message)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What the caller read from the mint account: its owner program and decimals."""

    mint: Pubkey
    token_program: Pubkey
    decimals: int
    symbol: str | None = None
    # Size of the recipient's new token account, for the rent shown: Token 165; Token-2022 170
    # (ImmutableOwner), more when the mint's extensions add account extensions (e.g. 182).
    account_size: int | None = None

    def __post_init__(self) -> None:
        if self.token_program not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            raise WithdrawalError("This mint is not owned by a token program; cannot withdraw it.")
        if not 0 <= self.decimals <= 255:
            raise WithdrawalError("The mint's decimals are out of range.")


def token_account_rent(token: TokenInfo) -> int:
    size = token.account_size or (165 if token.token_program == TOKEN_PROGRAM_ID else 170)
    return (128 + size) * _LAMPORTS_PER_BYTE_YEAR_X2


@dataclass(frozen=True, slots=True)
class WithdrawalPreview:
    """The confirmation step: what leaves, what it costs, where it goes."""

    source: Pubkey
    destination: Pubkey
    amount: int  # lamports (SOL) or token base units
    fee_lamports: int  # base fee + priority fee
    rent_lamports: int  # a new token account at the destination, paid by the sender; else 0
    priority_fee_lamports: int
    token: TokenInfo | None = None  # None: SOL

    @property
    def total_sol_cost(self) -> int:
        sol = self.amount if self.token is None else 0
        return sol + self.fee_lamports + self.rent_lamports

    def amount_text(self) -> str:
        if self.token is None:
            return format_sol(self.amount)
        name = self.token.symbol or str(self.token.mint)
        return f"{format_tokens(self.amount, self.token.decimals)} {name}"

    def lines(self) -> list[str]:
        """Plain-text lines for the confirmation message (the caller escapes/format them)."""
        out = [
            f"Send: {self.amount_text()}",
            f"To: {self.destination}",
            f"Network fee: {format_sol(self.fee_lamports)}",
        ]
        if self.rent_lamports:
            out.append(f"New token account for the recipient: {format_sol(self.rent_lamports)}")
        out.append(f"Total SOL leaving your wallet: {format_sol(self.total_sol_cost)}")
        return out


def _priority_price(priority_fee_lamports: int, cu_limit: int) -> int:
    """Micro-lamports per CU so that limit x price / 1e6 is at most the requested total."""
    return priority_fee_lamports * 1_000_000 // cu_limit


def _fee(priority_fee_lamports: int, cu_limit: int) -> tuple[int, int]:
    price = _priority_price(priority_fee_lamports, cu_limit)
    priority = -(-cu_limit * price // 1_000_000)
    return BASE_FEE_LAMPORTS + priority, priority


def _destination(text: str, source: Pubkey) -> Pubkey:
    destination = parse_address(text)
    if destination == source:
        raise WithdrawalError("That is this wallet's own address; paste the address to send to.")
    return destination


def _check_leftover(left: int) -> None:
    if 0 < left < RENT_EXEMPT_MINIMUM_LAMPORTS:
        raise WithdrawalError(
            f"This would leave {format_sol(left)} in the wallet, below the "
            f"{format_sol(RENT_EXEMPT_MINIMUM_LAMPORTS)} Solana requires to keep an account; "
            "send a little less, or withdraw everything."
        )


def preview_sol(
    source: Pubkey,
    destination: str,
    amount: int | None,
    *,
    balance_lamports: int,
    priority_fee_lamports: int = 0,
) -> WithdrawalPreview:
    """``amount`` None withdraws everything the fee leaves."""
    dest = _destination(destination, source)
    fee, priority = _fee(priority_fee_lamports, SOL_CU_LIMIT)
    if amount is None:
        amount = balance_lamports - fee
    if amount <= 0:
        raise WithdrawalError(
            f"Nothing to send: the balance {format_sol(balance_lamports)} does not cover the "
            f"network fee {format_sol(fee)}."
        )
    if amount + fee > balance_lamports:
        raise WithdrawalError(
            f"Not enough SOL: {format_sol(amount)} plus the fee {format_sol(fee)} is more than "
            f"the balance {format_sol(balance_lamports)}."
        )
    _check_leftover(balance_lamports - amount - fee)
    return WithdrawalPreview(source, dest, amount, fee, 0, priority)


def preview_token(
    source: Pubkey,
    destination: str,
    token: TokenInfo,
    amount: int | None,
    *,
    token_balance: int,
    sol_balance_lamports: int,
    destination_account_exists: bool,
    priority_fee_lamports: int = 0,
) -> WithdrawalPreview:
    """``amount`` None sends the whole token balance. The sender pays the recipient's account."""
    dest = _destination(destination, source)
    if dest == token.mint:
        raise WithdrawalError("That is the token's mint address, not a wallet; nothing was sent.")
    if amount is None:
        amount = token_balance
    if amount <= 0:
        raise WithdrawalError("Nothing to send: the amount must be greater than 0.")
    if amount > token_balance:
        raise WithdrawalError(
            f"Not enough tokens: you hold {format_tokens(token_balance, token.decimals)}."
        )
    fee, priority = _fee(priority_fee_lamports, TOKEN_CU_LIMIT)
    rent = 0 if destination_account_exists else token_account_rent(token)
    if fee + rent > sol_balance_lamports:
        raise WithdrawalError(
            f"Not enough SOL for the fee{' and the recipient token account' if rent else ''}: "
            f"needs {format_sol(fee + rent)}, the wallet has {format_sol(sol_balance_lamports)}."
        )
    _check_leftover(sol_balance_lamports - fee - rent)
    return WithdrawalPreview(source, dest, amount, fee, rent, priority, token)


@dataclass(frozen=True, slots=True)
class SignedWithdrawal:
    """Hand this to the executor's crash-safe send path (persist first, then send)."""

    preview: WithdrawalPreview
    transaction: VersionedTransaction
    signature: Signature
    last_valid_block_height: int

    @property
    def wire(self) -> bytes:
        return bytes(self.transaction)


def _compute_budget(cu_limit: int, priority_fee_lamports: int) -> list[Instruction]:
    ixs = [Instruction(COMPUTE_BUDGET_PROGRAM_ID, struct.pack("<BI", 2, cu_limit), [])]
    price = _priority_price(priority_fee_lamports, cu_limit)
    if price:
        ixs.append(Instruction(COMPUTE_BUDGET_PROGRAM_ID, struct.pack("<BQ", 3, price), []))
    return ixs


def system_transfer(source: Pubkey, destination: Pubkey, lamports: int) -> Instruction:
    return Instruction(
        SYSTEM_PROGRAM_ID,
        struct.pack("<IQ", 2, lamports),
        [AccountMeta(source, True, True), AccountMeta(destination, False, True)],
    )


def create_ata_idempotent(payer: Pubkey, owner: Pubkey, token: TokenInfo) -> Instruction:
    ata = associated_token_address(owner, token.mint, token.token_program)
    return Instruction(
        ASSOCIATED_TOKEN_PROGRAM_ID,
        bytes([1]),
        [
            AccountMeta(payer, True, True),
            AccountMeta(ata, False, True),
            AccountMeta(owner, False, False),
            AccountMeta(token.mint, False, False),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(token.token_program, False, False),
        ],
    )


def transfer_checked(
    owner: Pubkey, destination_owner: Pubkey, token: TokenInfo, amount: int
) -> Instruction:
    source_ata = associated_token_address(owner, token.mint, token.token_program)
    dest_ata = associated_token_address(destination_owner, token.mint, token.token_program)
    return Instruction(
        token.token_program,
        struct.pack("<BQB", 12, amount, token.decimals),
        [
            AccountMeta(source_ata, False, True),
            AccountMeta(token.mint, False, False),
            AccountMeta(dest_ata, False, True),
            AccountMeta(owner, True, False),
        ],
    )


def sign_withdrawal(
    signer: UnlockedWallet,
    preview: WithdrawalPreview,
    recent_blockhash: Hash,
    last_valid_block_height: int,
) -> SignedWithdrawal:
    """Build the v0 transaction for a confirmed preview and sign it with the wallet's key."""
    if signer.pubkey != preview.source:
        raise WithdrawalError("This withdrawal was prepared for another wallet; start again.")
    src = preview.source
    if preview.token is None:
        ixs = _compute_budget(SOL_CU_LIMIT, preview.priority_fee_lamports)
        ixs.append(system_transfer(src, preview.destination, preview.amount))
    else:
        ixs = _compute_budget(TOKEN_CU_LIMIT, preview.priority_fee_lamports)
        ixs.append(create_ata_idempotent(src, preview.destination, preview.token))
        ixs.append(transfer_checked(src, preview.destination, preview.token, preview.amount))
    message = MessageV0.try_compile(src, ixs, [], recent_blockhash)
    signature = signer.sign_message(to_bytes_versioned(message))
    transaction = VersionedTransaction.populate(message, [signature])
    return SignedWithdrawal(preview, transaction, signature, last_valid_block_height)
