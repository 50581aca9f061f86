"""Double-taps and concurrent workers produce one swap; failures carry the runbook sentence."""

from __future__ import annotations

import asyncio

from solders.pubkey import Pubkey

from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import USER_SENTENCES, OrderErrorType, OrderSide, OrderStatus
from sniper_bot.trading.executor import TradeAccount

from .conftest import Env


async def _order(env: Env, mint: str, amount: int, key: str) -> tuple[Order, bool]:
    return await env.repos.orders.create(
        user_id=env.user_id,
        wallet_id=env.key.wallet_id,
        kind=OrderKind.MANUAL,
        token_mint=mint,
        side=OrderSide.BUY,
        amount=amount,
        slippage_bps=100,
        priority_fee=FeeLevel.LOW,
        idempotency_key=key,
    )


async def test_double_tap_and_two_workers_produce_one_swap(env: Env) -> None:
    token = env.token("honest")
    first, created = await _order(env, str(token.mint), 50_000_000, "tap")
    again, created_again = await _order(env, str(token.mint), 50_000_000, "tap")
    assert created
    assert not created_again
    assert again.id == first.id
    account = TradeAccount(env.key.pubkey, env.key, 1_000_000)
    a = env.executor()
    b = env.executor(worker_id="worker-2")
    results = await asyncio.gather(a.run(first, account), b.run(again, account))
    final = await env.repos.orders.get_by_id(first.id)
    assert final is not None
    assert final.status is OrderStatus.CONFIRMED
    assert {r.id for r in results} == {first.id}
    trade = await env.repos.trades.get_for_order(env.user_id, first.id)
    assert trade is not None
    assert trade.signature == final.signature


async def test_insufficient_funds_fails_before_anything_is_sent(env: Env) -> None:
    token = env.token("honest")
    order, _ = await _order(env, str(token.mint), 50 * 10**9, "big")
    done = await env.executor().run(order, TradeAccount(env.key.pubkey, env.key, 1_000_000))
    assert done.status is OrderStatus.FAILED
    assert done.error is not None
    assert done.error.type is OrderErrorType.INSUFFICIENT_FUNDS
    assert done.error.user_message == USER_SENTENCES[OrderErrorType.INSUFFICIENT_FUNDS]
    assert done.signature is None


async def test_unknown_mint_has_no_route(env: Env) -> None:
    order, _ = await _order(env, str(Pubkey.new_unique()), 10_000_000, "noroute")
    done = await env.executor().run(order, TradeAccount(env.key.pubkey, env.key, 1_000_000))
    assert done.status is OrderStatus.FAILED
    assert done.error is not None
    assert done.error.type is OrderErrorType.NO_ROUTE, done.error
    assert done.error.user_message == USER_SENTENCES[OrderErrorType.NO_ROUTE]
    assert done.quote is None
    assert done.signature is None
