"""The simulated executor on live localnet quotes (Jupiter-compatible API) and PostgreSQL: a fill
at the worst price the slippage accepts plus the network fee, the paper balance and position, one
fill per idempotency key, refusals that write nothing, and not a lamport moved on chain."""

from __future__ import annotations

import pytest

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderErrorType, OrderSide, OrderStatus
from sniper_bot.storage.repositories.paper import PaperRepository
from sniper_bot.trading.fees import priority_fee_lamports
from sniper_bot.trading.paper import BASE_FEE_LAMPORTS, PaperTrader, is_paper

from .conftest import SOL, Env

pytestmark = pytest.mark.asyncio

START = 2 * SOL
MAX_FEE = 1_000_000


def trader(env: Env) -> PaperTrader:
    return PaperTrader(
        venue=env.venue,
        book=PaperRepository(env.repos.users._db),
        start_lamports=START,
        max_priority_fee_lamports=MAX_FEE,
    )


async def test_a_paper_buy_fills_at_the_slippage_bound_of_the_live_quote_and_signs_nothing(
    env: Env,
) -> None:
    paper, mint = trader(env), str(env.token().mint)
    chain_before = env.balance(env.key.pubkey)
    quote = await env.venue.quote(WSOL_MINT, mint, SOL // 10, 300)

    order = await paper.buy(env.user_id, None, mint, SOL // 10, 300, FeeLevel.HIGH, "k1")

    fee = BASE_FEE_LAMPORTS + priority_fee_lamports(FeeLevel.HIGH, max_lamports=MAX_FEE)
    assert order.status is OrderStatus.CONFIRMED
    assert is_paper(order)
    assert order.signature is None
    assert order.signed_tx is None
    assert order.out_amount == quote.other_amount_threshold < quote.out_amount
    assert (order.in_amount, order.fee_lamports) == (SOL // 10, fee)
    assert await paper.balance(env.user_id) == START - SOL // 10 - fee
    position = await paper.book.position(env.user_id, mint)
    assert position is not None
    assert position.token_amount == order.out_amount
    assert position.cost_basis_lamports == SOL // 10 + fee
    assert env.balance(env.key.pubkey) == chain_before
    assert await env.repos.positions.list_open(env.user_id) == []  # never a real position

    again = await paper.buy(env.user_id, None, mint, SOL // 10, 300, FeeLevel.HIGH, "k1")
    assert (again.id, again.out_amount) == (order.id, order.out_amount)
    assert await paper.balance(env.user_id) == START - SOL // 10 - fee  # one fill per key


async def test_refusals_write_nothing_and_a_full_sell_closes_the_position_with_its_pnl(
    env: Env,
) -> None:
    paper, mint = trader(env), str(env.token().mint)
    poor = await paper.buy(env.user_id, None, mint, START, 100, FeeLevel.LOW, "too-much")
    assert poor.status is OrderStatus.FAILED
    assert poor.error is not None
    assert poor.error.type is OrderErrorType.INSUFFICIENT_FUNDS
    assert "Not enough paper SOL" in poor.error.user_message
    assert await paper.balance(env.user_id) == START
    assert await paper.book.position(env.user_id, mint) is None

    bought = await paper.buy(env.user_id, None, mint, SOL // 5, 100, FeeLevel.LOW, "b")
    assert bought.out_amount is not None
    over = await paper.sell(env.user_id, None, mint, bought.out_amount + 1, 100, FeeLevel.LOW, "x")
    assert over.status is OrderStatus.FAILED
    assert over.error is not None
    assert over.error.user_message.startswith("📝 Your paper position holds fewer tokens")

    quote = await env.venue.quote(mint, WSOL_MINT, bought.out_amount, 100)
    sold = await paper.sell(env.user_id, None, mint, bought.out_amount, 100, FeeLevel.LOW, "s")
    assert sold.status is OrderStatus.CONFIRMED
    assert sold.side is OrderSide.SELL
    assert sold.out_amount == quote.other_amount_threshold
    position = await paper.book.position(env.user_id, mint)
    assert position is not None
    assert position.token_amount == 0
    assert position.status.value == "CLOSED"
    paid = (bought.in_amount or 0) + (bought.fee_lamports or 0)
    got = (sold.out_amount or 0) - (sold.fee_lamports or 0)
    assert position.realized_pnl_lamports == got - paid
    assert await paper.balance(env.user_id) == START - paid + got
