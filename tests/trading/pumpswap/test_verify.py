"""`verify_swap` on PumpSwap transactions: the venue's own swap passes; one whose AMM instruction
lets the program take more than the quote (a bigger sell, a bigger spendable budget, a larger
max quote in), trades for someone else, or trades the other side is refused before signing."""

from __future__ import annotations

import random
import struct
from dataclasses import replace

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.domain.orders import OrderSide
from sniper_bot.domain.quotes import Quote
from sniper_bot.solana import pumpswap as ps
from sniper_bot.trading.errors import NoRouteError, SwapVerificationError
from sniper_bot.trading.venues.pumpswap import PumpSwapVenue
from sniper_bot.trading.venues.pumpswap.venue import swap_instructions_for
from sniper_bot.trading.verify import VerifyPolicy, verify_swap

from .test_sdk_differential import random_case

POLICY = VerifyPolicy(max_priority_fee_lamports=0)


def _quote(kind: str, seed: int) -> Quote:
    rng = random.Random(seed)
    venue = PumpSwapVenue(rpc=None, rng=rng)  # type: ignore[arg-type]  # price() reads nothing
    while True:
        c = random_case(rng)
        buy, mode = kind != "sell", "ExactOut" if kind == "buy" else "ExactIn"
        size = {"buy": 10**9, "buy_exact_quote_in": 10**8, "sell": 10**9}[kind]
        try:
            return venue.price(c.pool_state, c.configs, buy=buy, amount=size, slippage_bps=100,
                               swap_mode=mode)  # type: ignore[arg-type]  # fmt: skip
        except NoRouteError:  # a random pool that cannot fill this size: draw another
            continue


def _tx(quote: Quote, user: Keypair, **raw: str) -> VersionedTransaction:
    ixs = swap_instructions_for({**quote.raw, **raw}, user.pubkey())
    msg = MessageV0.try_compile(user.pubkey(), ixs, [], Hash.default())
    return VersionedTransaction.populate(msg, [Signature.default()])


@pytest.mark.parametrize("kind", ["buy", "buy_exact_quote_in", "sell"])
def test_the_venues_own_swap_passes_and_bigger_caps_are_refused(kind: str) -> None:
    quote, user = _quote(kind, 3), Keypair()
    side = OrderSide.SELL if kind == "sell" else OrderSide.BUY
    verified = verify_swap(_tx(quote, user), user=user.pubkey(), quote=quote, side=side,
                           policy=POLICY)  # fmt: skip
    assert str(ps.PUMP_AMM_PROGRAM_ID) in verified.program_ids
    # the AMM instruction's cap raised past the quote (the wrapped SOL stays as quoted)
    field = "limit" if kind == "buy" else "amount"
    bigger = str(int(quote.raw[field]) * 2 + 20_000_000)
    tx = _tx(quote, user, **{field: bigger})
    if kind != "sell":  # keep the SOL transfer as quoted: only the AMM's cap is wrong
        tx = _with_transfer(tx, _tx(quote, user))
    with pytest.raises(SwapVerificationError):
        verify_swap(tx, user=user.pubkey(), quote=quote, side=side, policy=POLICY)
    other = OrderSide.BUY if side is OrderSide.SELL else OrderSide.SELL
    with pytest.raises(SwapVerificationError, match="PumpSwap"):
        verify_swap(_tx(quote, user), user=user.pubkey(), quote=quote, side=other, policy=POLICY)


def _with_transfer(tx: VersionedTransaction, honest: VersionedTransaction) -> VersionedTransaction:
    """`tx` with the system transfer's lamports of `honest` (same layout)."""
    msg, good = tx.message, honest.message
    ixs = list(msg.instructions)
    for i, (ix, ok) in enumerate(zip(ixs, good.instructions, strict=True)):
        if bytes(ix.data)[:4] == struct.pack("<I", 2) and len(bytes(ix.data)) == 12:
            ixs[i] = ok
    rebuilt = MessageV0(msg.header, list(msg.account_keys), msg.recent_blockhash, ixs, [])
    return VersionedTransaction.populate(rebuilt, [Signature.default()])


def test_a_pumpswap_trade_for_another_wallet_is_refused() -> None:
    quote, user = _quote("sell", 5), Keypair()
    someone = Keypair()
    ixs = swap_instructions_for(quote.raw, someone.pubkey())
    msg = MessageV0.try_compile(user.pubkey(), ixs, [], Hash.default())
    tx = VersionedTransaction.populate(
        msg, [Signature.default()] * msg.header.num_required_signatures
    )
    with pytest.raises(SwapVerificationError):
        verify_swap(tx, user=user.pubkey(), quote=replace(quote), side=OrderSide.SELL,
                    policy=POLICY)  # fmt: skip
