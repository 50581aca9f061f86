"""End to end on localnet + PostgreSQL: a buy and a sell land and are accounted to the lamport."""

from __future__ import annotations

from sniper_bot.domain.entities import OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.trading.executor import TradeAccount

from .conftest import Env


async def test_buy_then_sell_land_and_are_accounted_to_the_lamport(env: Env) -> None:
    token = env.factory.create("honest")
    ex = env.executor(frozenset({token.pool}))
    account = TradeAccount(env.key.pubkey, env.key, 1_000_000)
    before = env.cluster.get_balance(env.key.pubkey)
    order, _created = await env.repos.orders.create(
        user_id=env.user_id,
        wallet_id=env.key.wallet_id,
        kind=OrderKind.MANUAL,
        token_mint=str(token.mint),
        side=OrderSide.BUY,
        amount=100_000_000,
        slippage_bps=100,
        priority_fee=FeeLevel.LOW,
        idempotency_key="buy-1",
    )
    done = await ex.run(order, account)
    assert done.status is OrderStatus.CONFIRMED, done.error
    after = env.cluster.get_balance(env.key.pubkey)
    assert done.in_amount is not None
    assert done.fee_lamports is not None
    assert before - after == done.in_amount + done.fee_lamports
    assert done.out_amount
    assert done.out_amount > 0
    trade = await env.repos.trades.get_for_order(env.user_id, done.id)
    assert trade is not None
    assert trade.out_amount == done.out_amount

    sell, _ = await env.repos.orders.create(
        user_id=env.user_id,
        wallet_id=env.key.wallet_id,
        kind=OrderKind.MANUAL,
        token_mint=str(token.mint),
        side=OrderSide.SELL,
        amount=done.out_amount,
        slippage_bps=100,
        priority_fee=FeeLevel.NONE,
        idempotency_key="sell-1",
    )
    sold = await ex.run(sell, account)
    assert sold.status is OrderStatus.CONFIRMED, sold.error
    final = env.cluster.get_balance(env.key.pubkey)
    assert sold.out_amount is not None
    assert sold.fee_lamports is not None
    assert final - after == sold.out_amount - sold.fee_lamports
    position = await env.repos.positions.get_position(
        env.user_id, env.key.wallet_id, str(token.mint)
    )
    assert position is not None
    assert position.token_amount == 0
    assert position.realized_pnl_lamports == (
        sold.out_amount - sold.fee_lamports - done.in_amount - done.fee_lamports
    )
