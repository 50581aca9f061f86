"""verify_swap on pump.fun transactions: the venue's own transactions verify; the pump program is
refused in a Jupiter swap; a max_sol_cost past the quote's slippage, a sell of more tokens than
quoted, someone else's wallet as the trade's user, a second trade, or a sell inside a buy are
refused."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import pytest
from solders.account import Account
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderSide
from sniper_bot.domain.quotes import Quote
from sniper_bot.solana import pumpfun as pf
from sniper_bot.trading.errors import SwapVerificationError
from sniper_bot.trading.venues.pumpfun.venue import PumpFunVenue
from sniper_bot.trading.verify import VerifyPolicy, verify_swap

from . import oracle

POLICY = VerifyPolicy(max_priority_fee_lamports=1_000_000)


class Served:
    def __init__(self, accounts: dict[Pubkey, Account]) -> None:
        self.accounts = accounts

    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]:
        return [self.accounts.get(k) for k in pubkeys]

    async def recent_blockhash(self) -> tuple[Hash, int]:
        return Hash.new_unique(), 1_000


async def _venue() -> tuple[PumpFunVenue, Pubkey]:
    rng = random.Random(7)
    mint = Keypair().pubkey()
    curve = oracle.random_curve(rng)
    curve.update(creator=Keypair().pubkey(), real_token_reserves=10**14)
    accounts = {
        pf.bonding_curve_address(mint): Account(1, oracle.encode_curve(curve), pf.PUMP_PROGRAM_ID),
        mint: Account(1, b"\0" * 82, pf.TOKEN_2022_PROGRAM_ID),
        pf.GLOBAL: Account(1, oracle.encode_global(oracle.genesis_global()), pf.PUMP_PROGRAM_ID),
    }
    return PumpFunVenue(Served(accounts)), mint


def _tx(user: Pubkey, ixs: list[Instruction]) -> VersionedTransaction:
    msg = MessageV0.try_compile(user, ixs, [], Hash.new_unique())
    return VersionedTransaction.populate(msg, [Signature.default()])


async def _quote(venue: PumpFunVenue, mint: Pubkey, side: OrderSide) -> Quote:
    if side is OrderSide.BUY:
        return await venue.quote(WSOL_MINT, str(mint), 10**9, 500)
    return await venue.quote(str(mint), WSOL_MINT, 10**12, 500)


@pytest.mark.parametrize("side", [OrderSide.BUY, OrderSide.SELL])
async def test_the_venues_own_transaction_verifies(side: OrderSide) -> None:
    venue, mint = await _venue()
    user = Keypair().pubkey()
    q = await _quote(venue, mint, side)
    swap = await venue.build_swap(q, str(user), priority_fee_lamports=50_000)
    verified = verify_swap(VersionedTransaction.from_bytes(swap.tx_bytes), user=user, quote=q,
                           side=side, policy=POLICY)  # fmt: skip
    assert str(pf.PUMP_PROGRAM_ID) in verified.program_ids
    assert verified.priority_fee_lamports <= 50_000
    if side is OrderSide.SELL:
        assert verified.tokens_out == q.in_amount


async def test_a_jupiter_quote_may_not_call_the_pump_program() -> None:
    venue, mint = await _venue()
    user = Keypair().pubkey()
    q = await _quote(venue, mint, OrderSide.BUY)
    tx = _tx(user, venue.instructions(q, user, None))
    with pytest.raises(SwapVerificationError, match="unexpected program"):
        verify_swap(tx, user=user, quote=replace(q, venue="jupiter"), side=OrderSide.BUY,
                    policy=POLICY)  # fmt: skip


async def test_refusals() -> None:
    venue, mint = await _venue()
    user = Keypair().pubkey()
    buy = await _quote(venue, mint, OrderSide.BUY)
    sell = await _quote(venue, mint, OrderSide.SELL)

    def refused(q: Quote, side: OrderSide, ixs: list[Instruction], match: str) -> None:
        with pytest.raises(SwapVerificationError, match=match):
            verify_swap(_tx(user, ixs), user=user, quote=q, side=side, policy=POLICY)

    # a cap one lamport past the quote's own slippage
    greedy = replace(buy, raw={**buy.raw, "limit": int(buy.raw["limit"]) + 1})
    refused(buy, OrderSide.BUY, venue.instructions(greedy, user, None), "lets pump.fun take")
    # selling more tokens than the quote says
    more = replace(sell, raw={**sell.raw, "tokens": sell.in_amount + 1})
    refused(sell, OrderSide.SELL, venue.instructions(more, user, None), "tokens from the wallet")
    # the trade's user is another wallet (the fee payer only pays the fee)
    trade = venue.instructions(buy, user, None)[-1]
    metas = list(trade.accounts)
    metas[13] = AccountMeta(Keypair().pubkey(), False, True)
    forged = Instruction(trade.program_id, bytes(trade.data), metas)
    refused(buy, OrderSide.BUY, [forged], "user is not the wallet")
    # two buys in one swap
    ixs = venue.instructions(buy, user, None)
    refused(buy, OrderSide.BUY, [*ixs, ixs[-1]], "2 pump.fun trades")
    # a sell inside a buy order
    refused(buy, OrderSide.BUY, venue.instructions(sell, user, None), "sell in a buy order")
