"""``DcaMonitor``: runs DCA plans, one part every interval, paused outside their price band.

    monitor = DcaMonitor(plans=DcaPlanRepository(db), trading=trading, venue=venue,
                         on_part=notify)
    tg.create_task(monitor.run(stop))

Every ``interval_s`` (``check_once``): each running plan whose next part is due is decided by
``domain.limits.decide_dca`` (the band is checked against a quote of the part itself, only for
plans that have one). A part runs through ``TradingService`` under the key ``dca:<id>:<k>`` (the
executor's risk check applies to a buy), then ``advance`` moves ``partsDone`` from k to k+1 by
compare-and-set. Killed between the two (``kill -9``), the next process finds ``partsDone`` = k,
resubmits part k under the same key and gets the order that exists (the order store is unique by
key): a part never runs twice, and none is skipped. A part whose order failed (slippage, no
route) still counts (its owner is told); a database or RPC outage (``TemporaryError``) leaves the
plan as it is for the next pass. Out of band: ACTIVE -> PAUSED, and back when the price returns.

A SELL plan sells ``total_amount`` token base units the same way (``/dca sell``), each part's
band checked against a quote of selling that part. A paper plan (``DcaPlan.paper``) runs its
parts through ``paper`` (``trading.paper.PaperTrader``: fills in the paper book, never signed),
under the same keys, so a restart never doubles a paper part either; without a paper executor
the plan fails with a sentence rather than trade real money.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from sniper_bot.domain.entities import Order
from sniper_bot.domain.limits import (
    DcaAction,
    DcaPlan,
    DcaStatus,
    PricePoint,
    dca_key,
    dca_part_amount,
    decide_dca,
)
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderSide
from sniper_bot.engine.limits import Trader
from sniper_bot.errors import PermanentError, SniperBotError, TemporaryError
from sniper_bot.ports.venue import Quoter

__all__ = ["DcaMonitor", "DcaNotifier", "DcaStore"]

log = structlog.get_logger(__name__)


class DcaStore(Protocol):
    """``sniper_bot.storage.repositories.dca.DcaPlanRepository`` fits."""

    async def list_due(self, now: datetime, limit: int = 1_000) -> list[DcaPlan]: ...
    async def advance(
        self, plan_id: int, part: int, order_id: str | None, next_at: datetime
    ) -> DcaPlan | None: ...
    async def set_paused(self, plan_id: int, paused: bool) -> DcaPlan | None: ...
    async def mark_done(self, plan_id: int) -> DcaPlan | None: ...
    async def mark_failed(self, plan_id: int, error: str) -> DcaPlan | None: ...


# (the plan after the step, the part's order: None when it paused, resumed or failed)
DcaNotifier = Callable[[DcaPlan, Order | None], Awaitable[None]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DcaMonitor:
    def __init__(
        self,
        *,
        plans: DcaStore,
        trading: Trader,
        venue: Quoter,
        on_part: DcaNotifier | None = None,
        clock: Callable[[], datetime] = _utcnow,
        interval_s: float = 1.0,
        concurrency: int = 4,
        paper: Trader | None = None,
    ) -> None:
        if interval_s <= 0 or concurrency < 1:
            raise ValueError("interval_s must be > 0 and concurrency >= 1")
        self._plans = plans
        self._trading = trading
        self._paper = paper
        self._venue = venue
        self._on_part = on_part
        self._clock = clock
        self.interval_s = interval_s
        self._gate = asyncio.Semaphore(concurrency)
        self._running: set[int] = set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("dca_monitor_started", interval_s=self.interval_s)
        while not stop.is_set():
            try:
                await self.check_once()
            except Exception as exc:  # the database may be down for a tick; keep going
                log.error("dca_check_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
        log.info("dca_monitor_stopped")

    async def check_once(self) -> list[tuple[DcaPlan, Order | None]]:
        """One pass over the due plans; returns the steps it took (parts, pauses, ends)."""
        due = await self._plans.list_due(self._clock())
        results = await asyncio.gather(*(self._guarded(p) for p in due))
        return [r for r in results if r is not None]

    async def _guarded(self, plan: DcaPlan) -> tuple[DcaPlan, Order | None] | None:
        if plan.id in self._running:
            return None  # its last part is still landing
        self._running.add(plan.id)
        try:
            async with self._gate:
                return await self._step(plan)
        except TemporaryError as exc:  # nothing advanced: the same part (same key) next pass
            log.warning("dca_part_deferred", plan_id=plan.id, error=exc.message)
            return None
        except Exception as exc:
            log.error("dca_plan_failed", plan_id=plan.id, error=repr(exc))
            return None
        finally:
            self._running.discard(plan.id)

    async def _step(self, plan: DcaPlan) -> tuple[DcaPlan, Order | None] | None:
        now = self._clock()
        price = await self._price(plan) if plan.has_band else None
        step = decide_dca(plan, now, price)
        if step.action is DcaAction.WAIT:
            return None
        if step.action is DcaAction.DONE:
            done = await self._plans.mark_done(plan.id)
            return (done, None) if done is not None else None
        if step.action is DcaAction.PAUSE:
            if plan.status is DcaStatus.PAUSED:
                return None
            paused = await self._plans.set_paused(plan.id, True)
            if paused is None:
                return None
            log.info("dca_paused", plan_id=plan.id, price=price)
            await self._notify(paused, None)
            return paused, None
        if plan.status is DcaStatus.PAUSED:
            resumed = await self._plans.set_paused(plan.id, False)
            if resumed is None:
                return None  # cancelled meanwhile
            log.info("dca_resumed", plan_id=plan.id, price=price)
            plan = resumed
        try:
            order = await self._place(plan, step.part, step.amount)
        except TemporaryError:
            raise
        except SniperBotError as exc:  # this plan cannot go on (wallet gone, not a mint...)
            failed = await self._plans.mark_failed(plan.id, exc.user_message)
            if failed is not None:
                await self._notify(failed, None)
                return failed, None
            return None
        next_at = self._clock() + timedelta(seconds=plan.interval_seconds)
        advanced = await self._plans.advance(plan.id, step.part, order.id, next_at)
        if advanced is None:  # another process advanced this part already (same order)
            return None
        log.info(
            "dca_part",
            plan_id=plan.id,
            part=step.part,
            parts=plan.parts,
            order_id=order.id,
            status=order.status.value,
        )
        await self._notify(advanced, order)
        return advanced, order

    async def _place(self, plan: DcaPlan, part: int, amount: int) -> Order:
        key = dca_key(plan.id, part)
        trading = self._trading
        if plan.paper:
            if self._paper is None:
                raise PermanentError(
                    f"paper dca {plan.id} without a paper executor",
                    user_message="📝 This paper DCA plan could not run on paper; it was stopped.",
                )
            trading = self._paper
        if plan.side is OrderSide.BUY:
            return await trading.buy(
                plan.user_id,
                plan.wallet_id,
                plan.token_mint,
                amount,
                plan.slippage_bps,
                plan.priority_fee,
                key,
            )
        return await trading.sell(
            plan.user_id,
            plan.wallet_id,
            plan.token_mint,
            amount,
            plan.slippage_bps,
            plan.priority_fee,
            key,
        )

    async def _price(self, plan: DcaPlan) -> int | None:
        """The next part's own price (micro-lamports per whole token), from a quote of it."""
        if plan.parts_done >= plan.parts:
            return None
        amount = dca_part_amount(plan.total_amount, plan.parts, plan.parts_done)
        try:
            if plan.side is OrderSide.BUY:
                quote = await self._venue.quote(
                    WSOL_MINT, plan.token_mint, amount, plan.slippage_bps
                )
                point = PricePoint(amount, quote.out_amount)
            else:
                quote = await self._venue.quote(
                    plan.token_mint, WSOL_MINT, amount, plan.slippage_bps
                )
                point = PricePoint(quote.out_amount, amount)
        except SniperBotError as exc:
            log.info("dca_quote_failed", plan_id=plan.id, error=exc.message)
            return None
        return point.price(plan.decimals)

    async def _notify(self, plan: DcaPlan, order: Order | None) -> None:
        if self._on_part is None:
            return
        try:
            await self._on_part(plan, order)
        except Exception as exc:
            log.error("dca_notify_failed", plan_id=plan.id, error=repr(exc))
