"""Quote mints other than SOL on localnet's pump.fun: the mints, their accounts, funding.

`install` (called by `localnet.pump.install`) puts a USDC mint at mainnet USDC's address
(`EPjF...`, SPL Token, 6 decimals: the mint `Global.whitelisted_quote_mints` lists, and the one
pump-fees charges its stable tiers for), and opens the quote ATAs of every fee, buyback and
reserved fee recipient, as they exist on mainnet. Other quote mints (an "exotic" quote: any SPL
Token or Token-2022 mint) are admitted the way the program admits them, through the
`QuoteControl` PDA (`add_quote_control_mint`).

Funding a wallet with a quote (`fund_quote`) writes its associated token account directly and
raises the mint's supply to match: localnet's airdrop for tokens, nothing a program does.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from solders.account import Account
from solders.pubkey import Pubkey
from solders.token.state import Mint, TokenAccount, TokenAccountState

from localnet.encoding import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from localnet.market import instructions as tix
from localnet.pump.state import (
    AUTHORITY,
    BUYBACK_FEE_RECIPIENTS,
    FEE_RECIPIENTS,
    PUMP_PROGRAM_ID,
    QUOTE_CONTROL,
    QUOTE_CONTROL_LAYOUT,
    RESERVED_FEE_RECIPIENTS,
    USDC_DECIMALS,
    USDC_MINT,
    decode_account,
    encode_account,
    pump_pda,
)

__all__ = [
    "QUOTE_MINT_AUTHORITY",
    "add_quote_control_mint",
    "create_quote_mint",
    "fund_quote",
    "install",
    "quote_balance",
]

# The authority of the mints localnet makes up (no program acts for it; funding writes balances).
QUOTE_MINT_AUTHORITY: Final = pump_pda(b"localnet-quote-mint-authority")
_MINT_LEN: Final = 82
_ACCOUNT_LEN: Final = 165


class QuoteBank(Protocol):
    @property
    def svm(self) -> Any: ...


def _rent(bank: QuoteBank, size: int) -> int:
    return int(bank.svm.minimum_balance_for_rent_exemption(size))


def create_quote_mint(
    bank: QuoteBank, mint: Pubkey, *, decimals: int = 6, token_program: Pubkey = TOKEN_PROGRAM_ID
) -> Pubkey:
    """Put a plain mint (no extensions) at `mint` owned by `token_program` (idempotent)."""
    if token_program not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
        raise ValueError(f"a quote mint is owned by SPL Token or Token-2022, not {token_program}")
    if bank.svm.get_account(mint) is not None:
        return mint
    data = bytes(Mint(mint_authority=QUOTE_MINT_AUTHORITY, supply=0, decimals=decimals,
                      is_initialized=True, freeze_authority=None))  # fmt: skip
    bank.svm.set_account(mint, Account(_rent(bank, _MINT_LEN), data, token_program, False, 0))
    for owner in (*FEE_RECIPIENTS, *BUYBACK_FEE_RECIPIENTS, *RESERVED_FEE_RECIPIENTS):
        _write_token_account(bank, owner, mint, token_program, 0)
    return mint


def install(bank: QuoteBank) -> None:
    create_quote_mint(bank, USDC_MINT, decimals=USDC_DECIMALS)


def _write_token_account(
    bank: QuoteBank, owner: Pubkey, mint: Pubkey, token_program: Pubkey, amount: int
) -> Pubkey:
    ata = tix.associated_token_address(owner, mint, token_program)
    data = bytes(TokenAccount(mint=mint, owner=owner, amount=amount, delegate=None,
                              state=TokenAccountState.Initialized, is_native=None,
                              delegated_amount=0, close_authority=None))  # fmt: skip
    bank.svm.set_account(ata, Account(_rent(bank, len(data)), data, token_program, False, 0))
    return ata


def quote_balance(bank: QuoteBank, owner: Pubkey, mint: Pubkey = USDC_MINT) -> int:
    account = bank.svm.get_account(mint)
    program = account.owner if account is not None else TOKEN_PROGRAM_ID
    ata = bank.svm.get_account(tix.associated_token_address(owner, mint, program))
    if ata is None or len(ata.data) < _ACCOUNT_LEN:
        return 0
    return int(TokenAccount.from_bytes(bytes(ata.data[:_ACCOUNT_LEN])).amount)


def fund_quote(bank: QuoteBank, owner: Pubkey, amount: int, mint: Pubkey = USDC_MINT) -> int:
    """Add `amount` base units of `mint` to `owner`'s associated token account (opened when
    missing) and to the mint's supply; returns the new balance."""
    if amount < 0:
        raise ValueError("a quote airdrop is a non-negative integer of base units")
    mint_account = bank.svm.get_account(mint)
    if mint_account is None:
        raise ValueError(f"no quote mint at {mint}")
    program = mint_account.owner
    balance = quote_balance(bank, owner, mint) + amount
    ata = tix.associated_token_address(owner, mint, program)
    existing = bank.svm.get_account(ata)
    if existing is None:
        _write_token_account(bank, owner, mint, program, balance)
    else:
        raw = bytearray(existing.data)
        raw[64:72] = balance.to_bytes(8, "little")
        bank.svm.set_account(ata, Account(existing.lamports, bytes(raw), program, False, 0))
    raw_mint = bytearray(mint_account.data)
    supply = int.from_bytes(raw_mint[36:44], "little") + amount
    raw_mint[36:44] = supply.to_bytes(8, "little")
    bank.svm.set_account(mint, Account(mint_account.lamports, bytes(raw_mint), program, False, 0))
    return balance


def add_quote_control_mint(
    bank: QuoteBank, mint: Pubkey, initial_virtual_quote_reserves: int
) -> None:
    """List `mint` in the `QuoteControl` PDA (created when missing), what the admin's
    `add_quote_control_mint` does: `create_v2` then accepts it as a quote."""
    account = bank.svm.get_account(QUOTE_CONTROL)
    fields = None
    if account is not None:
        fields = decode_account("QuoteControl", QUOTE_CONTROL_LAYOUT, bytes(account.data))
    if fields is None:
        fields = {"admin": AUTHORITY, "_reserved": [0] * 64, "mints": []}
    mints = [m for m in fields["mints"] if m["mint"] != mint]
    mints.append({"mint": mint, "initial_virtual_quote_reserves": initial_virtual_quote_reserves})
    fields["mints"] = mints
    size = 8 + 32 + 64 + 4 + 40 * max(len(mints), 8)
    data = encode_account("QuoteControl", QUOTE_CONTROL_LAYOUT, fields, size)
    bank.svm.set_account(QUOTE_CONTROL, Account(_rent(bank, size), data, PUMP_PROGRAM_ID, False, 0))
