"""Automatic exits on localnet + PostgreSQL: a bought position is sold 100 % by its owner's rule.

The price moves because another trader swaps through localnet's market (control API
``POST /tokens/{mint}/trade``); the monitor values positions by real Jupiter-API quotes.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from sniper_bot.domain.entities import Order, OrderKind, Position, PositionStatus
from sniper_bot.domain.exits import ExitDecision, ExitReason
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.engine.exits import PositionMonitor, exit_idempotency_key
from sniper_bot.trading.service import TradingService

from .conftest import SOL, ManualClock, Stack

BUY = SOL // 2
PUMP = 15 * SOL  # into a 50 SOL pool: the price rises ~69 %


class Notes:
    """The ``on_exit`` callback: what the app would send to Telegram."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, Position, ExitDecision, Order]] = []

    async def __call__(
        self, user_id: int, position: Position, decision: ExitDecision, order: Order
    ) -> None:
        self.calls.append((user_id, position, decision, order))


async def bought(
    stack: Stack, trading: TradingService, mint: str | None = None
) -> tuple[str, Position]:
    """``mint`` (default: a fresh honest token) bought for ``BUY`` lamports, and the position."""
    if mint is None:
        mint = (await stack.launch("honest", announce="none"))["mint"]
    order = await trading.buy(
        stack.user_id, stack.key.wallet_id, mint, BUY, 1_500, FeeLevel.LOW, f"buy:{mint}"
    )
    assert order.status is OrderStatus.CONFIRMED, order.error
    position = await stack.repos.positions.get_position(stack.user_id, stack.key.wallet_id, mint)
    assert position is not None
    assert position.status is PositionStatus.OPEN
    return mint, position


class Whale:
    """Another trader with deep pockets, swapping through localnet's market (same path as the
    Jupiter API serves: quote, build, sign, send)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.keypair = Keypair()
        stack.net.cluster.airdrop(self.keypair.pubkey(), 100 * SOL)

    def trade(self, mint: str, side: Literal["buy", "sell"], amount: int) -> None:
        outcome = self.stack.net.market.trade(Pubkey.from_string(mint), self.keypair, side, amount)
        assert outcome.err is None, outcome.err

    def dump(self, mint: str) -> None:
        """Sell every token it holds."""
        accounts = self.stack.net.cluster.token_accounts_by_owner(
            self.keypair.pubkey(), mint=Pubkey.from_string(mint)
        )
        held = sum(int.from_bytes(bytes(a.data[64:72]), "little") for _, a in accounts)
        assert held > 0
        self.trade(mint, "sell", held)


def monitor(
    stack: Stack,
    trading: TradingService,
    clock: ManualClock | None = None,
    on_exit: Notes | None = None,
) -> PositionMonitor:
    return PositionMonitor(
        positions=stack.repos.positions,
        settings=stack.repos.settings,
        trading=trading,
        venue=stack.venue,
        metrics=stack.metrics,
        clock=clock or ManualClock(),
        interval_s=0.05,
        on_exit=on_exit,
    )


async def sells_of(stack: Stack) -> list[Order]:
    orders = await stack.repos.orders.list_for_user(stack.user_id, limit=50)
    return [o for o in orders if o.side is OrderSide.SELL]


async def closed(stack: Stack, mint: str) -> Position:
    position = await stack.repos.positions.get_position(stack.user_id, stack.key.wallet_id, mint)
    assert position is not None
    return position


async def test_take_profit_sells_everything_once_the_price_is_pumped(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    mint, position = await bought(stack, trading)
    await stack.repos.settings.update(stack.user_id, take_profit_pct=20, slippage_bps=500)
    notes = Notes()
    watcher = monitor(stack, trading, on_exit=notes)

    assert await watcher.check_once() == []  # bought at the current price: no profit yet
    Whale(stack).trade(mint, "buy", PUMP)  # another trader pumps the pool
    results = await watcher.check_once()

    assert [r.decision.reason for r in results] == [ExitReason.TAKE_PROFIT]
    sale = results[0].order
    assert sale.status is OrderStatus.CONFIRMED, sale.error
    assert sale.amount == position.token_amount
    assert sale.idempotency_key == exit_idempotency_key(position)
    assert results[0].decision.value_lamports * 100 >= position.cost_basis_lamports * 120
    after = await closed(stack, mint)
    assert after.status is PositionStatus.CLOSED
    assert after.token_amount == 0
    assert after.realized_pnl_lamports > 0
    assert stack.tokens_held(mint) == 0
    assert [(c[0], c[2].reason, c[3].id) for c in notes.calls] == [
        (stack.user_id, ExitReason.TAKE_PROFIT, sale.id)
    ]
    assert await watcher.check_once() == []  # nothing left to watch


async def test_stop_loss_sells_after_a_dump(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    whale = Whale(stack)
    mint = (await stack.launch("honest", announce="none"))["mint"]
    whale.trade(mint, "buy", PUMP)  # a trader takes a bag before us ...
    mint, _ = await bought(stack, trading, mint)
    await stack.repos.settings.update(stack.user_id, stop_loss_pct=30, slippage_bps=1_000)
    watcher = monitor(stack, trading)
    assert await watcher.check_once() == []

    whale.dump(mint)  # ... and dumps it after we bought
    results = await watcher.check_once()

    assert [r.decision.reason for r in results] == [ExitReason.STOP_LOSS]
    assert results[0].order.status is OrderStatus.CONFIRMED, results[0].order.error
    after = await closed(stack, mint)
    assert after.status is PositionStatus.CLOSED
    assert after.realized_pnl_lamports < 0


async def test_max_hold_sells_when_the_injected_clock_passes_the_limit(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    mint, position = await bought(stack, trading)
    await stack.repos.settings.update(stack.user_id, max_hold_minutes=30, slippage_bps=500)
    clock = ManualClock()
    clock.now = position.opened_at
    watcher = monitor(stack, trading, clock)

    clock.advance(29 * 60 + 59)
    assert await watcher.check_once() == []
    clock.advance(1)
    results = await watcher.check_once()

    assert [r.decision.reason for r in results] == [ExitReason.MAX_HOLD]
    assert results[0].order.status is OrderStatus.CONFIRMED, results[0].order.error
    assert (await closed(stack, mint)).status is PositionStatus.CLOSED


async def test_without_any_rule_a_position_is_never_sold(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    mint, position = await bought(stack, trading)
    clock = ManualClock()
    clock.now = position.opened_at
    watcher = monitor(stack, trading, clock)
    whale = Whale(stack)

    whale.trade(mint, "buy", PUMP)
    clock.advance(30 * 24 * 3600)
    assert await watcher.check_once() == []
    whale.dump(mint)
    assert await watcher.check_once() == []

    assert await sells_of(stack) == []
    assert (await closed(stack, mint)).status is PositionStatus.OPEN
    assert watcher.high_water(position) is None  # not even quoted


async def test_two_replicas_sell_a_position_once(stack: Stack) -> None:
    risk = stack.risk()
    first, second = stack.trading(risk, "worker-1"), stack.trading(risk, "worker-2")
    mint, position = await bought(stack, first)
    await stack.repos.settings.update(stack.user_id, take_profit_pct=20, slippage_bps=500)
    Whale(stack).trade(mint, "buy", PUMP)
    a, b = monitor(stack, first), monitor(stack, second)

    both = await asyncio.gather(a.check_once(), b.check_once())

    sells = await sells_of(stack)
    assert len(sells) == 1
    assert sells[0].status is OrderStatus.CONFIRMED, sells[0].error
    assert sells[0].idempotency_key == exit_idempotency_key(position)
    assert {r.order.id for results in both for r in results} == {sells[0].id}
    assert (await closed(stack, mint)).status is PositionStatus.CLOSED
    assert await a.check_once() == []
    assert await b.check_once() == []


async def unquotable_position(stack: Stack) -> Position:
    """A position in a mint no venue can route (recorded the way a landed buy is)."""
    mint = str(Keypair().pubkey())
    order, _ = await stack.repos.orders.create(
        user_id=stack.user_id, wallet_id=stack.key.wallet_id, kind=OrderKind.MANUAL,
        token_mint=mint, side=OrderSide.BUY, amount=BUY, slippage_bps=100,
        priority_fee=FeeLevel.LOW, idempotency_key=f"buy:{mint}",
    )  # fmt: skip
    _, position = await stack.repos.trades.record_trade(
        order_id=order.id, in_amount=BUY, out_amount=10**9, fee_lamports=5_000,
        signature=str(Keypair().sign_message(b"x")),
    )  # fmt: skip
    return position


async def test_a_failing_quote_never_stops_the_loop_or_the_other_positions(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    stuck = await unquotable_position(stack)
    mint, _ = await bought(stack, trading)
    await stack.repos.settings.update(stack.user_id, take_profit_pct=20, slippage_bps=500)
    Whale(stack).trade(mint, "buy", PUMP)
    notes = Notes()
    watcher = monitor(stack, trading, on_exit=notes)

    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    try:
        async with asyncio.timeout(15):
            while not notes.calls:  # noqa: ASYNC110 - the loop runs in another task
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task

    assert [c[2].reason for c in notes.calls] == [ExitReason.TAKE_PROFIT]
    assert (await closed(stack, mint)).status is PositionStatus.CLOSED
    still = await stack.repos.positions.get_position(
        stack.user_id, stack.key.wallet_id, stuck.token_mint
    )
    assert still is not None
    assert still.status is PositionStatus.OPEN
    assert watcher.high_water(stuck) is None  # never valued: every quote failed


async def test_trailing_stop_sells_when_the_price_falls_back_from_its_peak(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    mint, position = await bought(stack, trading)
    await stack.repos.settings.update(stack.user_id, trailing_stop_pct=25, slippage_bps=1_000)
    watcher = monitor(stack, trading)
    whale = Whale(stack)

    whale.trade(mint, "buy", PUMP)
    assert await watcher.check_once() == []  # at the peak: the high-water mark is set
    peak = watcher.high_water(position)
    assert peak is not None
    assert peak > position.cost_basis_lamports
    whale.dump(mint)  # back to about where we bought: ~40 % off the peak
    results = await watcher.check_once()

    assert [r.decision.reason for r in results] == [ExitReason.TRAILING_STOP]
    assert results[0].decision.high_water_lamports == peak
    assert results[0].order.status is OrderStatus.CONFIRMED, results[0].order.error
    assert (await closed(stack, mint)).status is PositionStatus.CLOSED
