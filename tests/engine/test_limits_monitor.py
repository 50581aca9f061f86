"""Limit orders on localnet + PostgreSQL, priced by quotes (a coin with no curve events): a limit
buy fires when another trader dumps the price and not before, once (key ``limit:<id>``), even when
the process dies between the claim and the order; a limit sell fires when the price rises; expiry
and cancel; curve events of a watched mint wake the monitor, an older slot does not."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import CurveUpdate
from sniper_bot.domain.limits import LimitOrder, LimitStatus, PricePoint, TriggerKind, limit_key
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.engine.limits import LimitMonitor
from sniper_bot.storage.errors import NotFound
from sniper_bot.storage.repositories.limits import LimitNotOpen, LimitOrderRepository
from sniper_bot.trading.service import TradingService

from .conftest import SOL, ManualClock, Stack
from .test_exits_monitor import PUMP, Whale

BUY = SOL // 10
DECIMALS = 6  # localnet's market tokens


class Told:
    def __init__(self) -> None:
        self.calls: list[tuple[LimitOrder, Order | None]] = []

    async def __call__(self, order: LimitOrder, placed: Order | None) -> None:
        self.calls.append((order, placed))


async def price_now(stack: Stack, mint: str, lamports: int = BUY) -> int:
    quote = await stack.venue.quote(WSOL_MINT, mint, lamports, 100)
    price = PricePoint(lamports, quote.out_amount).price(DECIMALS)
    assert price is not None
    return price


def watcher(stack: Stack, trading: TradingService, clock: ManualClock, told: Told | None = None,
            recover_after_s: float = 30.0) -> LimitMonitor:  # fmt: skip
    return LimitMonitor(
        limits=LimitOrderRepository(stack.db, clock), positions=stack.repos.positions,
        trading=trading, venue=stack.venue, on_settled=told, clock=clock,
        quote_interval_s=0.0, recover_after_s=recover_after_s,
    )  # fmt: skip


async def place(stack: Stack, clock: ManualClock, mint: str, side: OrderSide, price: int,
                **kw: int) -> LimitOrder:  # fmt: skip
    return await LimitOrderRepository(stack.db, clock).create(
        user_id=stack.user_id, wallet_id=stack.key.wallet_id, token_mint=mint, side=side,
        trigger_kind=TriggerKind.PRICE, trigger_value=price, decimals=DECIMALS,
        slippage_bps=1_000, priority_fee=FeeLevel.LOW, expires_at=clock() + timedelta(hours=1),
        **kw,
    )  # fmt: skip


async def orders_of(stack: Stack) -> list[Order]:
    return await stack.repos.orders.list_for_user(stack.user_id, limit=50)


async def test_a_limit_buy_fires_when_a_trader_dumps_the_price_and_not_before(
    stack: Stack,
) -> None:
    trading = stack.trading(stack.risk())
    clock = ManualClock()
    whale = Whale(stack)
    mint = (await stack.launch("honest", announce="none"))["mint"]
    whale.trade(mint, "buy", PUMP)  # the whale holds a bag; the price is up
    pumped = await price_now(stack, mint)
    order = await place(stack, clock, mint, OrderSide.BUY, pumped * 8 // 10, amount_lamports=BUY)
    told = Told()
    monitor = watcher(stack, trading, clock, told)

    assert await monitor.check_once() == []
    whale.trade(mint, "sell", 10**6)  # a small sell: the price barely moves
    assert await monitor.check_once() == []
    assert await orders_of(stack) == []  # not before

    whale.dump(mint)  # the whale sells everything: the price falls below the limit
    ((fired, placed),) = await monitor.check_once()

    assert placed is not None
    assert (fired.id, fired.status, fired.order_id) == (order.id, LimitStatus.FIRED, placed.id)
    assert placed.status is OrderStatus.CONFIRMED, placed.error
    assert (placed.side, placed.amount, placed.idempotency_key) == (
        OrderSide.BUY, BUY, limit_key(order.id),
    )  # fmt: skip
    assert stack.tokens_held(mint) == placed.out_amount > 0
    assert [(o.id, p.id if p else None) for o, p in told.calls] == [(order.id, placed.id)]
    whale.trade(mint, "buy", PUMP)
    whale.dump(mint)  # crossing again fires nothing: it fired once
    assert await monitor.check_once() == []
    assert len(await orders_of(stack)) == 1


async def test_a_limit_sell_fires_when_the_price_rises_and_sells_its_share(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    bought = await trading.buy(stack.user_id, stack.key.wallet_id, mint, SOL // 2, 1_500,
                               FeeLevel.LOW, f"buy:{mint}")  # fmt: skip
    assert bought.status is OrderStatus.CONFIRMED, bought.error
    held = stack.tokens_held(mint)
    start = await price_now(stack, mint)
    order = await place(stack, clock, mint, OrderSide.SELL, start * 13 // 10, sell_pct=50)
    monitor = watcher(stack, trading, clock)
    assert await monitor.check_once() == []

    Whale(stack).trade(mint, "buy", PUMP)  # ~+69 %
    ((fired, placed),) = await monitor.check_once()

    assert placed is not None
    assert (fired.id, fired.status) == (order.id, LimitStatus.FIRED)
    assert placed.status is OrderStatus.CONFIRMED, placed.error
    assert (placed.side, placed.amount) == (OrderSide.SELL, held // 2)
    assert stack.tokens_held(mint) == held - held // 2


async def test_a_fire_interrupted_after_the_claim_is_resumed_under_the_same_key_once(
    stack: Stack,
) -> None:
    """The process died after ``claim`` and after the order was made, before ``attach_order``:
    the recovery pass resubmits ``limit:<id>`` and gets that order back, no second buy."""
    trading = stack.trading(stack.risk())
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    order = await place(stack, clock, mint, OrderSide.BUY, 10**18, amount_lamports=BUY)
    repo = LimitOrderRepository(stack.db, clock)
    await repo.claim(order.id)
    first = await trading.buy(stack.user_id, stack.key.wallet_id, mint, BUY, 1_000,
                              FeeLevel.LOW, limit_key(order.id))  # fmt: skip
    assert first.status is OrderStatus.CONFIRMED, first.error
    held = stack.tokens_held(mint)
    monitor = watcher(stack, trading, clock, recover_after_s=60)

    assert await monitor.check_once() == []  # too fresh: the claimer may still be at work
    clock.advance(61)
    ((resumed, placed),) = await monitor.check_once()

    assert placed is not None
    assert placed.id == first.id
    assert (resumed.status, resumed.order_id) == (LimitStatus.FIRED, first.id)
    assert len(await orders_of(stack)) == 1
    assert stack.tokens_held(mint) == held  # nothing bought twice


async def test_expiry_cancel_and_a_sell_without_tokens(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    repo = LimitOrderRepository(stack.db, clock)
    told = Told()
    monitor = watcher(stack, trading, clock, told)
    expiring = await place(stack, clock, mint, OrderSide.BUY, 1, amount_lamports=BUY)
    cancelled = await place(stack, clock, mint, OrderSide.BUY, 1, amount_lamports=BUY)
    nothing_held = await place(stack, clock, mint, OrderSide.SELL, 1, sell_pct=100)

    assert (await repo.cancel(stack.user_id, cancelled.id)).status is LimitStatus.CANCELLED
    with pytest.raises(LimitNotOpen) as again:
        await repo.cancel(stack.user_id, cancelled.id)
    assert again.value.user_message == (
        f"Limit order #{cancelled.id} is already cancelled; only an open one can be cancelled."
    )
    with pytest.raises(NotFound) as other:
        await repo.cancel(stack.user_id + 1, expiring.id)
    assert other.value.user_message == "No such limit order. Send /orders to see yours."
    sold = await monitor.check_once()  # the sell triggers at any price but holds nothing
    assert sold == []  # nothing held: not even quoted, stays open
    clock.advance(3_601)
    settled = await monitor.check_once()

    assert {(o.id, o.status) for o, _ in settled} == {
        (expiring.id, LimitStatus.EXPIRED), (nothing_held.id, LimitStatus.EXPIRED),
    }  # fmt: skip
    assert await orders_of(stack) == []
    assert (await repo.get(stack.user_id, cancelled.id)).status is LimitStatus.CANCELLED  # type: ignore[union-attr]


async def test_curve_events_of_a_watched_mint_wake_the_monitor_an_older_slot_does_not(
    stack: Stack,
) -> None:
    trading = stack.trading(stack.risk())
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    await place(stack, clock, mint, OrderSide.BUY, 20_000_000, amount_lamports=BUY)
    monitor = LimitMonitor(limits=LimitOrderRepository(stack.db, clock),
                           positions=stack.repos.positions, trading=trading, venue=stack.venue,
                           clock=clock, max_quotes=0)  # fmt: skip
    assert await monitor.check_once() == []  # watched now; no quotes allowed, no curve yet
    assert monitor.quotes == 0

    def update(sol: int, slot: int, mint_: str = mint) -> CurveUpdate:
        return CurveUpdate(kind="trade", mint=mint_, virtual_sol_reserves=sol,
                           virtual_token_reserves=1_000_000_000_000_000, real_sol_reserves=0,
                           real_token_reserves=0, complete=False, slot=slot, signature=None,
                           seen_at=0.0)  # fmt: skip

    monitor.on_curve(update(30_000_000_000, 10, mint_=WSOL_MINT))  # nobody watches it
    assert monitor.curve_events == 0
    monitor.on_curve(update(30_000_000_000, 10))  # 30 lamports a token: above 20
    assert monitor.curve_events == 1
    assert not monitor._wake.is_set()
    monitor.on_curve(update(10_000_000_000, 9))  # an older copy, below: ignored
    assert not monitor._wake.is_set()
    monitor.on_curve(update(20_000_000_000, 11))  # 20 lamports a token: reached
    assert monitor._wake.is_set()


async def test_two_replicas_seeing_the_same_trigger_buy_once(stack: Stack) -> None:
    risk = stack.risk()
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    order = await place(stack, clock, mint, OrderSide.BUY, 10**18, amount_lamports=BUY)
    a = watcher(stack, stack.trading(risk, "worker-1"), clock)
    b = watcher(stack, stack.trading(risk, "worker-2"), clock)

    first, second = await asyncio.gather(a.check_once(), b.check_once())

    settled = first + second
    assert [(o.id, o.status) for o, _ in settled] == [(order.id, LimitStatus.FIRED)]
    (placed,) = await orders_of(stack)
    assert placed.idempotency_key == limit_key(order.id)
    assert placed.status is OrderStatus.CONFIRMED, placed.error


async def test_a_curve_without_events_for_a_while_is_quoted_instead(stack: Stack) -> None:
    trading = stack.trading(stack.risk())
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    await place(stack, clock, mint, OrderSide.BUY, 1, amount_lamports=BUY)  # never reached
    now = [1_000.0]
    monitor = LimitMonitor(limits=LimitOrderRepository(stack.db, clock),
                           positions=stack.repos.positions, trading=trading, venue=stack.venue,
                           clock=clock, monotonic=lambda: now[0], quote_interval_s=0.0,
                           curve_stale_s=60.0)  # fmt: skip
    await monitor.check_once()
    assert monitor.quotes == 1  # no event yet: quoted
    monitor.on_curve(CurveUpdate(kind="trade", mint=mint, virtual_sol_reserves=30 * SOL,
                                 virtual_token_reserves=10**15, real_sol_reserves=0,
                                 real_token_reserves=0, complete=False, slot=5, signature=None,
                                 seen_at=0.0))  # fmt: skip
    await monitor.check_once()
    assert monitor.quotes == 1  # the event's price is used, no quote
    now[0] += 61
    await monitor.check_once()
    assert monitor.quotes == 2  # the feed went quiet: quoted again
    assert await orders_of(stack) == []
