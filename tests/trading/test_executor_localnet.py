"""End to end on localnet + PostgreSQL: a buy and a sell land and are accounted to the lamport."""

from __future__ import annotations

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderErrorType, OrderSide, OrderStatus

from .conftest import Env


async def test_buy_then_sell_land_and_are_accounted_to_the_lamport(env: Env) -> None:
    token = env.token("honest")
    ex = env.executor()
    before = env.balance(env.key.pubkey)
    order = await env.order(token.mint, 100_000_000, "buy-1")
    done = await ex.run(order, env.account)
    assert done.status is OrderStatus.CONFIRMED, done.error
    after = env.balance(env.key.pubkey)
    assert done.in_amount is not None
    assert done.fee_lamports is not None
    assert before - after == done.in_amount + done.fee_lamports
    assert done.out_amount
    assert done.out_amount > 0
    trade = await env.repos.trades.get_for_order(env.user_id, done.id)
    assert trade is not None
    assert trade.out_amount == done.out_amount

    sell = await env.order(
        token.mint, done.out_amount, "sell-1", side=OrderSide.SELL, fee=FeeLevel.NONE
    )
    sold = await ex.run(sell, env.account)
    assert sold.status is OrderStatus.CONFIRMED, sold.error
    final = env.balance(env.key.pubkey)
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


async def test_cosigner_policy_none_refuses_localnets_cosigned_swap_before_signing(
    env: Env,
) -> None:
    token = env.token("honest")
    before = env.balance(env.key.pubkey)
    order = await env.order(token.mint, 100_000_000, "none-policy")
    done = await env.executor(cosigners="none").run(order, env.account)
    assert done.status is OrderStatus.FAILED
    assert done.error is not None
    assert done.error.type is OrderErrorType.REJECTED
    assert "unexpected signer" in done.error.message
    assert done.signature is None
    assert env.balance(env.key.pubkey) == before


async def test_an_allow_listed_pool_key_is_accepted_under_policy_none(env: Env) -> None:
    token = env.token("honest")
    order = await env.order(token.mint, 10_000_000, "allow-set")
    done = await env.executor(cosigners="none", allowed_cosigners=frozenset({token.pool})).run(
        order, env.account
    )
    assert done.status is OrderStatus.CONFIRMED, done.error
