"""Paper rows through the real engines on localnet + PostgreSQL: a paper snipe, limit order,
DCA part and exit fill in the paper book through ``PaperTrader`` (live quotes, the risk gate),
never make a ``"SniperOrder"``, never sign, and move no lamport or token on chain (balances read
from the cluster); a restart between a paper part's fill and ``advance`` never fills it twice.
A DCA sell (real money) sells the held tokens in parts, and a crash between a part's order and
``advance`` never sells a part twice. A paper row without a paper executor fails; it never
falls back to real money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import SnipeStatus
from sniper_bot.domain.limits import (
    DcaStatus,
    LimitStatus,
    TriggerKind,
    dca_key,
    dca_part_amount,
    limit_key,
)
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.engine.dca import DcaMonitor
from sniper_bot.engine.limits import LimitMonitor
from sniper_bot.storage.repositories.dca import DcaPlanRepository
from sniper_bot.storage.repositories.limits import LimitOrderRepository
from sniper_bot.storage.repositories.paper import PaperRepository
from sniper_bot.trading.paper import PaperTrader

from .conftest import SOL, ManualClock, Stack
from .test_limits_monitor import DECIMALS, orders_of

START = 5 * SOL


def paper_trader(stack: Stack) -> PaperTrader:
    return PaperTrader(venue=stack.venue, book=PaperRepository(stack.db), start_lamports=START,
                       max_priority_fee_lamports=1_000_000, risk=stack.risk())  # fmt: skip


async def paper_trades(stack: Stack) -> list[str]:
    from sqlalchemy import text

    async with stack.db.engine.connect() as conn:
        rows = await conn.execute(
            text('SELECT "idempotencyKey" FROM "PaperTrade" WHERE "userId" = :u ORDER BY id'),
            {"u": stack.user_id},
        )
        return [r[0] for r in rows]


def chain_state(stack: Stack, mint: str) -> tuple[int, int]:
    return stack.net.cluster.get_balance(stack.key.pubkey), stack.tokens_held(mint)


async def test_a_paper_snipe_fills_in_the_paper_book_and_signs_nothing(stack: Stack) -> None:
    paper = paper_trader(stack)
    engine = stack.engine()
    engine._paper = paper  # what the app passes as SnipeEngine(paper=...)
    mint = (await stack.launch("honest", announce="none"))["mint"]
    before = chain_state(stack, mint)

    target = await engine.arm(stack.user_id, stack.key.wallet_id, mint, SOL // 20, 1_500,
                              FeeLevel.LOW, 60.0, paper=True)  # fmt: skip
    assert target.paper is True
    assert target.nonce_account is None
    await engine.wait_idle()  # the pool trades already: it fires at once

    fired = await stack.targets.get(stack.user_id, target.id)
    assert fired is not None
    assert fired.status is SnipeStatus.FIRED
    assert fired.order_id is not None
    assert fired.order_id.startswith("paper:")
    assert await paper_trades(stack) == [f"snipe:{target.id}"]
    position = await paper.book.position(stack.user_id, mint)
    assert position is not None
    assert position.token_amount > 0
    assert await orders_of(stack) == []
    assert chain_state(stack, mint) == before  # no lamport, no token
    assert await stack.targets.list_fired_without_order() == []  # no replay after a restart


async def test_a_paper_snipe_without_a_paper_executor_buys_nothing(stack: Stack) -> None:
    engine = stack.engine()  # no paper executor
    mint = (await stack.launch("honest", announce="none"))["mint"]
    before = chain_state(stack, mint)
    target = await engine.arm(stack.user_id, stack.key.wallet_id, mint, SOL // 20, 1_500,
                              FeeLevel.LOW, 60.0, paper=True)  # fmt: skip
    await engine.wait_idle()
    failed = await stack.targets.get(stack.user_id, target.id)
    assert failed is not None
    assert failed.status is SnipeStatus.FAILED
    assert await orders_of(stack) == []
    assert chain_state(stack, mint) == before


async def test_a_paper_limit_buy_and_sell_fill_in_the_paper_book(stack: Stack) -> None:
    paper = paper_trader(stack)
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    before = chain_state(stack, mint)
    limits = LimitOrderRepository(stack.db, clock)
    monitor = LimitMonitor(limits=limits, positions=stack.repos.positions,
                           trading=stack.trading(stack.risk()), venue=stack.venue, clock=clock,
                           paper=paper, paper_positions=paper.book,
                           quote_interval_s=0)  # fmt: skip
    later = datetime.now(UTC) + timedelta(hours=1)
    buy = await limits.create(
        user_id=stack.user_id, wallet_id=stack.key.wallet_id, token_mint=mint,
        side=OrderSide.BUY, trigger_kind=TriggerKind.PRICE, trigger_value=2**62,
        decimals=DECIMALS, slippage_bps=1_000, priority_fee=FeeLevel.LOW, expires_at=later,
        amount_lamports=SOL // 10, paper=True,
    )  # fmt: skip
    ((fired, placed),) = await monitor.check_once()
    assert placed is not None
    assert placed.status is OrderStatus.CONFIRMED
    assert placed.id.startswith("paper:")
    assert fired.order_id == placed.id
    assert fired.status is LimitStatus.FIRED
    assert fired.paper
    held = (await paper.book.position(stack.user_id, mint)).token_amount  # type: ignore[union-attr]
    assert held == placed.out_amount

    sell = await limits.create(
        user_id=stack.user_id, wallet_id=stack.key.wallet_id, token_mint=mint,
        side=OrderSide.SELL, trigger_kind=TriggerKind.PRICE, trigger_value=1, decimals=DECIMALS,
        slippage_bps=1_000, priority_fee=FeeLevel.LOW, expires_at=later, sell_pct=50,
        paper=True,
    )  # fmt: skip
    ((_, sold),) = await monitor.check_once()
    assert sold is not None
    assert sold.status is OrderStatus.CONFIRMED
    assert sold.amount == held * 50 // 100  # half of the paper position
    assert await paper_trades(stack) == [limit_key(buy.id), limit_key(sell.id)]
    assert await orders_of(stack) == []
    assert chain_state(stack, mint) == before


async def test_paper_dca_parts_fill_once_each_across_a_restart(stack: Stack) -> None:
    paper = paper_trader(stack)
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    before = chain_state(stack, mint)
    plans = DcaPlanRepository(stack.db, clock)
    plan = await plans.create(
        user_id=stack.user_id, wallet_id=stack.key.wallet_id, token_mint=mint,
        side=OrderSide.BUY, total_amount=SOL // 10, parts=2, interval_seconds=60,
        decimals=DECIMALS, slippage_bps=1_000, priority_fee=FeeLevel.LOW, paper=True,
    )  # fmt: skip
    # a process filled part 0 on paper and died before advance
    dead = paper_trader(stack)
    first = await dead.buy(stack.user_id, stack.key.wallet_id, mint, SOL // 20, 1_000,
                           FeeLevel.LOW, dca_key(plan.id, 0))  # fmt: skip
    restarted = DcaMonitor(plans=plans, trading=stack.trading(stack.risk()), venue=stack.venue,
                           clock=clock, paper=paper)  # fmt: skip
    ((after, replayed),) = await restarted.check_once()
    assert replayed is not None
    assert replayed.id == first.id
    assert (after.parts_done, after.last_order_id) == (1, first.id)
    clock.advance(60)
    ((done, part1),) = await restarted.check_once()
    assert part1 is not None
    assert part1.status is OrderStatus.CONFIRMED
    assert done.status is DcaStatus.DONE
    assert await paper_trades(stack) == [dca_key(plan.id, 0), dca_key(plan.id, 1)]
    assert await paper.balance(stack.user_id) == START - SOL // 10 - sum(
        o.fee_lamports or 0 for o in (first, part1)
    )
    assert await orders_of(stack) == []
    assert chain_state(stack, mint) == before


async def test_a_dca_sell_sells_the_held_tokens_in_parts_never_twice(stack: Stack) -> None:
    risk = stack.risk()
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    trading = stack.trading(risk, "worker-1")
    bought = await trading.buy(stack.user_id, stack.key.wallet_id, mint, SOL // 10, 1_000,
                               FeeLevel.LOW, "manual:1")  # fmt: skip
    assert bought.status is OrderStatus.CONFIRMED, bought.error
    held = stack.tokens_held(mint)
    plans = DcaPlanRepository(stack.db, clock)
    plan = await plans.create(
        user_id=stack.user_id, wallet_id=stack.key.wallet_id, token_mint=mint,
        side=OrderSide.SELL, total_amount=held, parts=3, interval_seconds=60,
        decimals=DECIMALS, slippage_bps=1_000, priority_fee=FeeLevel.LOW,
    )  # fmt: skip
    first = DcaMonitor(plans=plans, trading=trading, venue=stack.venue, clock=clock)
    ((_, part0),) = await first.check_once()
    assert part0 is not None
    assert part0.status is OrderStatus.CONFIRMED, part0.error
    assert (part0.side, part0.amount) == (OrderSide.SELL, dca_part_amount(held, 3, 0))
    clock.advance(60)
    # part 1 sold by a process that died before advance
    dead = stack.trading(risk, "worker-dead")
    amount1 = dca_part_amount(held, 3, 1)
    landed = await dead.sell(stack.user_id, stack.key.wallet_id, mint, amount1, 1_000,
                             FeeLevel.LOW, dca_key(plan.id, 1))  # fmt: skip
    assert landed.status is OrderStatus.CONFIRMED, landed.error
    left = stack.tokens_held(mint)
    restarted = DcaMonitor(plans=plans, trading=stack.trading(risk, "worker-new"),
                           venue=stack.venue, clock=clock)  # fmt: skip
    ((after, replayed),) = await restarted.check_once()
    assert replayed is not None
    assert replayed.id == landed.id
    assert after.parts_done == 2
    assert stack.tokens_held(mint) == left  # part 1 was not sold again
    clock.advance(60)
    ((done, part2),) = await restarted.check_once()
    assert part2 is not None
    assert part2.status is OrderStatus.CONFIRMED, part2.error
    assert done.status is DcaStatus.DONE
    sells = [o for o in await orders_of(stack) if o.side is OrderSide.SELL]
    assert sorted(o.idempotency_key for o in sells) == [dca_key(plan.id, k) for k in range(3)]
    assert sum(o.amount for o in sells) == held
    assert stack.tokens_held(mint) == 0


@pytest.mark.parametrize("side", [OrderSide.BUY])
async def test_a_paper_plan_without_a_paper_executor_fails_without_trading(
    stack: Stack, side: OrderSide
) -> None:
    clock = ManualClock()
    mint = (await stack.launch("honest", announce="none"))["mint"]
    before = chain_state(stack, mint)
    plans = DcaPlanRepository(stack.db, clock)
    await plans.create(
        user_id=stack.user_id, wallet_id=stack.key.wallet_id, token_mint=mint, side=side,
        total_amount=SOL // 10, parts=2, interval_seconds=60, decimals=DECIMALS,
        slippage_bps=1_000, priority_fee=FeeLevel.LOW, paper=True,
    )  # fmt: skip
    dca = DcaMonitor(plans=plans, trading=stack.trading(stack.risk()), venue=stack.venue,
                     clock=clock)  # fmt: skip
    ((failed, none),) = await dca.check_once()
    assert (failed.status, none) == (DcaStatus.FAILED, None)
    assert failed.error is not None
    assert "paper" in failed.error
    assert await orders_of(stack) == []
    assert chain_state(stack, mint) == before


async def test_a_paper_position_is_sold_by_its_exit_rules_on_paper_steps_once(
    stack: Stack,
) -> None:
    """The paper exit monitor (``PaperExitBook`` + the paper executor): a ladder's first step
    sells half of a paper position on paper once, a restarted monitor reads the step from the
    paper book and does not sell it again, nothing moves on chain."""
    from sniper_bot.domain.exits import LadderStep
    from sniper_bot.engine.exits import PositionMonitor
    from sniper_bot.trading.paper import PaperExitBook

    from .test_exits_monitor import PUMP, Whale

    paper = paper_trader(stack)
    mint = (await stack.launch("honest", announce="none"))["mint"]
    before = chain_state(stack, mint)
    bought = await paper.buy(stack.user_id, None, mint, SOL // 2, 1_500, FeeLevel.LOW, "p:1")
    assert bought.status is OrderStatus.CONFIRMED
    await stack.repos.settings.update(
        stack.user_id, exit_ladder=[LadderStep(20, 50), LadderStep(10_000, 50)], slippage_bps=500
    )
    book = PaperExitBook(paper.book)

    def watcher() -> PositionMonitor:
        return PositionMonitor(positions=book, settings=stack.repos.settings, trading=paper,
                               venue=stack.venue, metrics=stack.metrics, clock=ManualClock(),
                               orders=book)  # fmt: skip

    first = watcher()
    assert await first.check_once() == []
    Whale(stack).trade(mint, "buy", PUMP)
    (step,) = await first.check_once()
    assert step.order.status is OrderStatus.CONFIRMED
    assert step.order.id.startswith("paper:")
    assert step.order.amount == bought.out_amount // 2
    assert await watcher().check_once() == []  # a restart: the step is in the paper book
    held = await paper.book.position(stack.user_id, mint)
    assert held is not None
    assert held.token_amount == (bought.out_amount or 0) - step.order.amount
    assert await orders_of(stack) == []
    assert chain_state(stack, mint) == before
