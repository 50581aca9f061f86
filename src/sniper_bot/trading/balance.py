"""Balance checks before a trade, and the runbook's check-wallet-balance report.

``sniper-bot wallet-balance <pubkey>`` (wired by the CLI) prints ``render_balance_table(await
wallet_balance(rpc, owner))``: SOL and every token holding under both token programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from solders.account import Account
from solders.pubkey import Pubkey

from sniper_bot.chain.types import TokenAccountInfo
from sniper_bot.domain.money import format_sol, format_tokens
from sniper_bot.domain.orders import OrderErrorType, OrderSide
from sniper_bot.solana.layouts.token import token_account_amount
from sniper_bot.solana.pda import associated_token_address
from sniper_bot.solana.programs import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from sniper_bot.solana.rent import ATA_RENT_LAMPORTS, BASE_FEE_LAMPORTS
from sniper_bot.trading.errors import OrderFailed

__all__ = [
    "ATA_RENT_LAMPORTS",
    "BASE_FEE_LAMPORTS",
    "TokenHolding",
    "WalletBalance",
    "check_funds",
    "render_balance_table",
    "wallet_balance",
]


class _AccountsReader(Protocol):
    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]: ...


class _BalanceReader(Protocol):
    async def get_balance(self, pubkey: Pubkey) -> int: ...
    async def get_token_accounts_by_owner(
        self, owner: Pubkey, program_id: Pubkey
    ) -> list[TokenAccountInfo]: ...


def _token_amount(account: Account | None) -> int:
    return 0 if account is None else token_account_amount(bytes(account.data))


@dataclass(frozen=True, slots=True)
class FundsCheck:
    lamports: int
    token_amount: int
    needs_token_account: bool
    token_account: Pubkey | None


async def check_funds(
    rpc: _AccountsReader,
    *,
    owner: Pubkey,
    mint: Pubkey,
    side: OrderSide,
    amount: int,
    priority_fee_lamports: int,
) -> FundsCheck:
    """Raise ``OrderFailed(insufficient_funds)`` unless the wallet can pay for this trade.

    BUY needs ``amount`` + base fee + priority fee + rent of the token account if it is missing;
    SELL needs the tokens and the fees in SOL. One ``getMultipleAccounts`` round trip.
    """
    ata_classic = associated_token_address(owner, mint, TOKEN_PROGRAM_ID)
    ata_2022 = associated_token_address(owner, mint, TOKEN_2022_PROGRAM_ID)
    wallet, mint_acc, classic, t22 = await rpc.get_multiple_accounts(
        [owner, mint, ata_classic, ata_2022]
    )
    lamports = wallet.lamports if wallet is not None else 0
    program = mint_acc.owner if mint_acc is not None else TOKEN_PROGRAM_ID
    token_acc, address = (
        (t22, ata_2022) if program == TOKEN_2022_PROGRAM_ID else (classic, ata_classic)
    )
    held = _token_amount(token_acc)
    fees = BASE_FEE_LAMPORTS + priority_fee_lamports
    if side is OrderSide.BUY:
        rent = ATA_RENT_LAMPORTS if token_acc is None else 0
        needed = amount + fees + rent
        if lamports < needed:
            raise OrderFailed(
                f"wallet has {format_sol(lamports)}, the buy needs {format_sol(needed)} "
                f"({format_sol(amount)} + fees {format_sol(fees)} + rent {format_sol(rent)})",
                error_type=OrderErrorType.INSUFFICIENT_FUNDS,
                details={"balance": lamports, "needed": needed},
            )
    else:
        if held < amount:
            raise OrderFailed(
                f"wallet holds {held} base units of the token, the sell needs {amount}",
                error_type=OrderErrorType.INSUFFICIENT_FUNDS,
                details={"token_balance": held, "needed": amount},
            )
        if lamports < fees:
            raise OrderFailed(
                f"wallet has {format_sol(lamports)}, the sell's fees need {format_sol(fees)}",
                error_type=OrderErrorType.INSUFFICIENT_FUNDS,
                details={"balance": lamports, "needed": fees},
            )
    return FundsCheck(lamports, held, token_acc is None, address)


@dataclass(frozen=True, slots=True)
class TokenHolding:
    address: str
    mint: str
    amount: int
    decimals: int | None
    program: str  # "spl-token" | "token-2022"
    state: str


@dataclass(frozen=True, slots=True)
class WalletBalance:
    owner: str
    lamports: int
    holdings: tuple[TokenHolding, ...]


async def wallet_balance(rpc: _BalanceReader, owner: Pubkey) -> WalletBalance:
    """SOL and every token account of ``owner`` under SPL Token and Token-2022."""
    lamports = await rpc.get_balance(owner)
    holdings: list[TokenHolding] = []
    for program, label in ((TOKEN_PROGRAM_ID, "spl-token"), (TOKEN_2022_PROGRAM_ID, "token-2022")):
        for acc in await rpc.get_token_accounts_by_owner(owner, program):
            holdings.append(
                TokenHolding(
                    address=str(acc.address),
                    mint=str(acc.mint),
                    amount=acc.amount,
                    decimals=acc.decimals,
                    program=label,
                    state=acc.state,
                )
            )
    holdings.sort(key=lambda h: (h.amount == 0, h.mint))
    return WalletBalance(str(owner), lamports, tuple(holdings))


def render_balance_table(balance: WalletBalance) -> str:
    """Plain-text table (monospace) for the CLI and Telegram ``<pre>``."""
    rows = [("MINT", "AMOUNT", "PROGRAM", "STATE")]
    for h in balance.holdings:
        amount = format_tokens(h.amount, h.decimals) if h.decimals is not None else str(h.amount)
        rows.append((h.mint, amount, h.program, h.state))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"Wallet {balance.owner}", f"SOL: {format_sol(balance.lamports)}"]
    if balance.holdings:
        lines.append(f"Tokens ({len(balance.holdings)}):")
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
    else:
        lines.append("Tokens: none")
    return "\n".join(lines)
