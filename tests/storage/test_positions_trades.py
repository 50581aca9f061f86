"""Contract: trades land in one transaction with their position (average cost, integer PnL)."""

from __future__ import annotations

import asyncio

import pytest

from sniper_bot.domain.entities import Order, PositionStatus
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.storage import NotFound, Repositories

from .conftest import ORDER_DEFAULTS, make_user, make_wallet

S = OrderStatus
MINT = ORDER_DEFAULTS["token_mint"]


async def confirmed(
    repos: Repositories, key: str, side: OrderSide, amount: int, telegram_id: int = 1001
) -> Order:
    user = await make_user(repos, telegram_id)
    wallet = await repos.wallets.get_active(user.id) or await make_wallet(repos, user)
    order, _ = await repos.orders.create(
        user_id=user.id,
        wallet_id=wallet.id,
        idempotency_key=key,
        **{**ORDER_DEFAULTS, "side": side, "amount": amount},
    )
    return order


async def test_buy_then_partial_sell_then_full_sell(repos: Repositories) -> None:
    buy = await confirmed(repos, "b1", OrderSide.BUY, 1_000_000_000)
    trade, pos = await repos.trades.record_trade(
        order_id=buy.id,
        in_amount=1_000_000_000,
        out_amount=3_000,
        fee_lamports=5_000,
        signature="s1",
    )
    assert trade.side is OrderSide.BUY
    assert trade.user_id == buy.user_id
    assert (pos.token_amount, pos.cost_basis_lamports, pos.status) == (
        3_000,
        1_000_005_000,
        PositionStatus.OPEN,
    )

    sell = await confirmed(repos, "s1", OrderSide.SELL, 1_000)
    _, pos = await repos.trades.record_trade(
        order_id=sell.id,
        in_amount=1_000,
        out_amount=600_000_000,
        fee_lamports=5_000,
        signature="s2",
    )
    share = 1_000_005_000 * 1_000 // 3_000  # floor: 333_335_000
    assert pos.token_amount == 2_000
    assert pos.cost_basis_lamports == 1_000_005_000 - share
    assert pos.realized_pnl_lamports == 600_000_000 - 5_000 - share

    close = await confirmed(repos, "s2", OrderSide.SELL, 2_000)
    _, pos = await repos.trades.record_trade(
        order_id=close.id,
        in_amount=2_000,
        out_amount=500_000_000,
        fee_lamports=5_000,
        signature="s3",
    )
    assert (pos.token_amount, pos.cost_basis_lamports, pos.status) == (0, 0, PositionStatus.CLOSED)
    assert pos.realized_pnl_lamports == (600_000_000 + 500_000_000 - 10_000) - 1_000_005_000
    assert await repos.positions.list_open(buy.user_id) == []
    assert await repos.positions.get_position(buy.user_id, pos.wallet_id, MINT) == pos
    trades = await repos.trades.list_trades(buy.user_id)
    assert [t.signature for t in trades] == ["s3", "s2", "s1"]
    assert [t.signature for t in await repos.trades.list_trades(buy.user_id, limit=1)] == ["s3"]


async def test_recording_the_same_order_twice_applies_it_once(repos: Repositories) -> None:
    buy = await confirmed(repos, "b1", OrderSide.BUY, 100)
    first = await repos.trades.record_trade(
        order_id=buy.id, in_amount=100, out_amount=10, fee_lamports=0, signature="s"
    )
    again = await repos.trades.record_trade(
        order_id=buy.id, in_amount=100, out_amount=10, fee_lamports=0, signature="s"
    )
    assert again == first
    assert first[1].token_amount == 10


async def test_concurrent_first_buys_on_one_mint_share_one_position(repos: Repositories) -> None:
    orders = [await confirmed(repos, f"b{i}", OrderSide.BUY, 100) for i in range(4)]
    await asyncio.gather(
        *(
            repos.trades.record_trade(
                order_id=o.id, in_amount=100, out_amount=10, fee_lamports=1, signature=f"s{i}"
            )
            for i, o in enumerate(orders)
        )
    )
    [pos] = await repos.positions.list_open(orders[0].user_id)
    assert (pos.token_amount, pos.cost_basis_lamports) == (40, 404)


async def test_a_closed_position_reopens_on_the_next_buy(repos: Repositories) -> None:
    buy = await confirmed(repos, "b1", OrderSide.BUY, 100)
    await repos.trades.record_trade(
        order_id=buy.id, in_amount=100, out_amount=10, fee_lamports=0, signature="a"
    )
    sell = await confirmed(repos, "s1", OrderSide.SELL, 10)
    _, closed = await repos.trades.record_trade(
        order_id=sell.id, in_amount=10, out_amount=150, fee_lamports=0, signature="b"
    )
    rebuy = await confirmed(repos, "b2", OrderSide.BUY, 200)
    _, reopened = await repos.trades.record_trade(
        order_id=rebuy.id, in_amount=200, out_amount=5, fee_lamports=0, signature="c"
    )
    assert reopened.id == closed.id
    assert reopened.status is PositionStatus.OPEN
    assert reopened.opened_at > closed.opened_at
    assert (reopened.token_amount, reopened.realized_pnl_lamports) == (5, 50)


async def test_positions_and_trades_are_scoped_by_user(repos: Repositories) -> None:
    buy = await confirmed(repos, "b1", OrderSide.BUY, 100, telegram_id=1)
    _, pos = await repos.trades.record_trade(
        order_id=buy.id, in_amount=100, out_amount=10, fee_lamports=0, signature="a"
    )
    mallory = await make_user(repos, 2)
    assert await repos.positions.get_position(mallory.id, pos.wallet_id, MINT) is None
    assert await repos.positions.list_open(mallory.id) == []
    assert await repos.trades.list_trades(mallory.id) == []
    assert await repos.trades.get_for_order(mallory.id, buy.id) is None
    assert await repos.trades.get_for_order(buy.user_id, buy.id) is not None
    assert [p.id for p in await repos.positions.list_all_open()] == [pos.id]


async def test_recording_a_trade_for_an_unknown_order_fails(repos: Repositories) -> None:
    with pytest.raises(NotFound):
        await repos.trades.record_trade(
            order_id="nope", in_amount=1, out_amount=1, fee_lamports=0, signature="x"
        )


async def test_deleting_a_wallet_removes_its_positions_but_keeps_trades(
    repos: Repositories,
) -> None:
    buy = await confirmed(repos, "b1", OrderSide.BUY, 100)
    await repos.trades.record_trade(
        order_id=buy.id, in_amount=100, out_amount=10, fee_lamports=0, signature="a"
    )
    await repos.orders.transition(buy.id, S.PENDING, S.FAILED)
    assert buy.wallet_id is not None
    assert await repos.wallets.delete(buy.user_id, buy.wallet_id)
    assert await repos.positions.list_open(buy.user_id) == []
    [trade] = await repos.trades.list_trades(buy.user_id)
    assert trade.wallet_id is None
