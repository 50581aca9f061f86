"""Builders of swap transactions shaped like localnet's/Jupiter's, for verification tests."""

from __future__ import annotations

import struct
from decimal import Decimal

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.null_signer import NullSigner
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.quotes import Quote, RouteStep
from sniper_bot.solana.programs import COMPUTE_BUDGET_PROGRAM, SYSTEM_PROGRAM, TOKEN_PROGRAM

BUDGET = Pubkey.from_string(COMPUTE_BUDGET_PROGRAM)
SYSTEM = Pubkey.from_string(SYSTEM_PROGRAM)
TOKEN = Pubkey.from_string(TOKEN_PROGRAM)


def cu_limit(units: int) -> Instruction:
    return Instruction(BUDGET, bytes([2]) + struct.pack("<I", units), [])


def cu_price(micro: int) -> Instruction:
    return Instruction(BUDGET, bytes([3]) + struct.pack("<Q", micro), [])


def sol_transfer(src: Pubkey, dst: Pubkey, lamports: int) -> Instruction:
    return Instruction(
        SYSTEM,
        struct.pack("<IQ", 2, lamports),
        [AccountMeta(src, True, True), AccountMeta(dst, False, True)],
    )


def token_transfer_checked(
    src: Pubkey, mint: Pubkey, dst: Pubkey, owner: Pubkey, amount: int, decimals: int = 6
) -> Instruction:
    return Instruction(
        TOKEN,
        bytes([12]) + struct.pack("<QB", amount, decimals),
        [
            AccountMeta(src, False, True),
            AccountMeta(mint, False, False),
            AccountMeta(dst, False, True),
            AccountMeta(owner, True, False),
        ],
    )


def quote(mint: Pubkey, in_amount: int, out_amount: int, *, buy: bool = True) -> Quote:
    a, b = (WSOL_MINT, str(mint)) if buy else (str(mint), WSOL_MINT)
    return Quote(
        venue="test",
        input_mint=a,
        output_mint=b,
        in_amount=in_amount,
        out_amount=out_amount,
        other_amount_threshold=out_amount * 99 // 100,
        swap_mode="ExactIn",
        slippage_bps=100,
        price_impact_pct=Decimal(0),
        route=(RouteStep("pool", None, a, b, in_amount, out_amount, 10_000),),
    )


def cosigned_buy(
    user: Pubkey,
    maker: Keypair,
    mint: Pubkey,
    *,
    lamports: int,
    tokens: int,
    extra: list[Instruction] | None = None,
    price: int = 10_000,
    blockhash: Hash | None = None,
) -> VersionedTransaction:
    maker_ata, user_ata = Pubkey.new_unique(), Pubkey.new_unique()
    ixs = [
        cu_limit(100_000),
        cu_price(price),
        sol_transfer(user, maker.pubkey(), lamports),
        token_transfer_checked(maker_ata, mint, user_ata, maker.pubkey(), tokens),
        *(extra or []),
    ]
    msg = MessageV0.try_compile(user, ixs, [], blockhash or Hash.new_unique())
    return VersionedTransaction(msg, [NullSigner(user), maker])
