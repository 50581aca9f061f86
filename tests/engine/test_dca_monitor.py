"""DCA plans on localnet + PostgreSQL: parts every interval that add up to the total; a restart
(a new monitor and trading service over the same database) goes on without doubling a part, also
when the process died between a part's order and ``advance``; the band pauses and resumes it."""

from __future__ import annotations

from datetime import timedelta

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.limits import DcaPlan, DcaStatus, dca_key
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.engine.dca import DcaMonitor
from sniper_bot.storage.repositories.dca import DcaPlanRepository
from sniper_bot.trading.service import TradingService

from .conftest import SOL, ManualClock, Stack
from .test_exits_monitor import PUMP, Whale
from .test_limits_monitor import DECIMALS, orders_of, price_now

TOTAL = SOL // 10 + 1  # three parts: 33333334, 33333333, 33333334


def monitor(stack: Stack, trading: TradingService, clock: ManualClock) -> DcaMonitor:
    return DcaMonitor(plans=DcaPlanRepository(stack.db, clock), trading=trading,
                      venue=stack.venue, clock=clock)  # fmt: skip


async def new_plan(stack: Stack, clock: ManualClock, mint: str, **kw: int) -> DcaPlan:
    return await DcaPlanRepository(stack.db, clock).create(
        user_id=stack.user_id, wallet_id=stack.key.wallet_id, token_mint=mint,
        side=OrderSide.BUY, total_amount=TOTAL, parts=3, interval_seconds=60,
        decimals=DECIMALS, slippage_bps=1_000, priority_fee=FeeLevel.LOW, **kw,
    )  # fmt: skip


async def test_parts_run_every_interval_and_a_restart_never_doubles_one(stack: Stack) -> None:
    risk = stack.risk()
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    plan = await new_plan(stack, clock, mint)
    first = monitor(stack, stack.trading(risk, "worker-1"), clock)

    ((after0, part0),) = await first.check_once()
    assert part0 is not None
    assert part0.status is OrderStatus.CONFIRMED, part0
    assert (after0.parts_done, part0.idempotency_key) == (1, dca_key(plan.id, 0))
    assert await first.check_once() == []  # the next part is not due yet
    clock.advance(59)
    assert await first.check_once() == []

    # a restart: another process (trading service, monitor) on the same database
    clock.advance(1)
    second = monitor(stack, stack.trading(risk, "worker-2"), clock)
    ((after1, part1),) = await second.check_once()
    assert part1 is not None
    assert after1.parts_done == 2
    assert await first.check_once() == []  # the old one, still alive, sees nothing due
    clock.advance(60)
    ((done, part2),) = await second.check_once()
    assert part2 is not None
    assert (done.status, done.parts_done) == (DcaStatus.DONE, 3)
    clock.advance(3_600)
    assert await second.check_once() == []

    orders = await orders_of(stack)
    assert sorted(o.idempotency_key for o in orders) == [dca_key(plan.id, k) for k in range(3)]
    assert sorted(o.amount for o in orders) == [33_333_333, 33_333_334, 33_333_334]
    assert sum(o.amount for o in orders) == TOTAL
    assert all(o.status is OrderStatus.CONFIRMED for o in orders)
    assert stack.tokens_held(mint) == sum(o.out_amount or 0 for o in orders)


async def test_a_part_ordered_before_a_crash_is_not_bought_again_after_it(stack: Stack) -> None:
    """Killed after part 0's order landed and before ``advance``: ``partsDone`` is still 0. The
    next process resubmits ``dca:<id>:0``, gets that order back and moves on to part 1."""
    risk = stack.risk()
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    plan = await new_plan(stack, clock, mint)
    dead = stack.trading(risk, "worker-dead")
    landed = await dead.buy(stack.user_id, stack.key.wallet_id, mint, 33_333_334, 1_000,
                            FeeLevel.LOW, dca_key(plan.id, 0))  # fmt: skip
    assert landed.status is OrderStatus.CONFIRMED, landed.error
    held = stack.tokens_held(mint)

    restarted = monitor(stack, stack.trading(risk, "worker-new"), clock)
    ((after, replayed),) = await restarted.check_once()

    assert replayed is not None
    assert replayed.id == landed.id
    assert (after.parts_done, after.last_order_id) == (1, landed.id)
    assert len(await orders_of(stack)) == 1
    assert stack.tokens_held(mint) == held  # no second buy
    clock.advance(60)
    ((_, next_part),) = await restarted.check_once()
    assert next_part is not None
    assert next_part.idempotency_key == dca_key(plan.id, 1)
    assert len(await orders_of(stack)) == 2


async def test_the_band_pauses_the_plan_and_it_resumes_when_the_price_is_back(
    stack: Stack,
) -> None:
    trading = stack.trading(stack.risk())
    clock = ManualClock()
    whale = Whale(stack)
    mint = (await stack.launch("honest", announce="none"))["mint"]
    start = await price_now(stack, mint, 33_333_334)
    plan = await new_plan(stack, clock, mint, band_max_price=start * 12 // 10)
    dca = monitor(stack, trading, clock)

    whale.trade(mint, "buy", PUMP)  # the price runs away above the band
    ((paused, none),) = await dca.check_once()
    assert (paused.status, none) == (DcaStatus.PAUSED, None)
    clock.advance(600)
    assert await dca.check_once() == []  # still above: stays paused, buys nothing
    assert await orders_of(stack) == []

    whale.dump(mint)  # back inside the band
    ((resumed, part),) = await dca.check_once()
    assert part is not None
    assert part.status is OrderStatus.CONFIRMED, part
    assert (resumed.status, resumed.parts_done) == (DcaStatus.ACTIVE, 1)
    cancelled = await DcaPlanRepository(stack.db, clock).cancel(stack.user_id, plan.id)
    assert cancelled.status is DcaStatus.CANCELLED
    clock.advance(timedelta(hours=1).total_seconds())
    assert await dca.check_once() == []
    assert len(await orders_of(stack)) == 1
