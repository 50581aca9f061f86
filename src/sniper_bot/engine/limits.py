"""``LimitMonitor``: fires limit orders when the live price reaches them.

    monitor = LimitMonitor(limits=LimitOrderRepository(db), positions=repos.positions,
                           trading=trading, venue=venue, supply=token_supply, on_settled=notify)
    PumpFunListener(on_curve=monitor.on_curve)   # pump.fun curve coins: pushed, no polling
    tg.create_task(monitor.run(stop))

Where the price comes from:
- a pump.fun coin still on its curve: the detector's ``CurveUpdate`` events (``on_curve``, called
  for every trade the listener decodes). Each update of a watched mint is folded into the last
  known reserves and the mint's orders are checked at once (``domain.limits.limit_triggered``,
  exact integer math); a reached trigger wakes the loop, which fires it. Nothing is polled.
- any other coin (graduated, PumpSwap, Jupiter), or a curve coin with no event seen yet (or
  none for ``curve_stale_s``: its feed may be down): a quote
  through the venue every ``quote_interval_s`` per mint, at most ``max_quotes`` quotes a pass
  (bounded, whatever the number of orders). A buy is valued by buying its own amount, a sell by
  selling the tokens it would sell: the price the order would get, fees and impact included.

Firing is crash-safe and happens once: ``claim`` moves the order OPEN -> FIRED by
compare-and-set (of two replicas one wins), then the buy or sell goes through
``TradingService`` under the key ``limit:<id>`` (the executor's risk check applies to a buy), and
``attach_order`` records the order. A process killed between the claim and the order leaves a
FIRED order without one: after ``recover_after_s`` the monitor resubmits it under the same key,
which returns the order if it was made, so there is never a second one. Expiry is one UPDATE per
pass. One failing quote, order or notifier never stops the loop or the other orders.

A paper order (``LimitOrder.paper``: placed by a user trading on paper) fires the same way
through ``paper`` (``trading.paper.PaperTrader``: a fill in the paper book, never signed); a
paper sell sells a share of the paper position (``paper_positions``). Without a paper executor
it fails with a sentence rather than trade real money.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from sniper_bot.domain.entities import Order, OrderKind, Position
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import CurveUpdate
from sniper_bot.domain.limits import (
    LimitAction,
    LimitOrder,
    PricePoint,
    TriggerKind,
    decide_limit,
    limit_key,
    limit_triggered,
)
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderSide
from sniper_bot.errors import PermanentError, SniperBotError, TemporaryError
from sniper_bot.ports.venue import Quoter

__all__ = ["LimitMonitor", "LimitNotifier", "LimitStore", "Trader"]

log = structlog.get_logger(__name__)


class LimitStore(Protocol):
    """``sniper_bot.storage.repositories.limits.LimitOrderRepository`` fits."""

    async def list_open(self, limit: int = 10_000) -> list[LimitOrder]: ...
    async def list_fired_without_order(self, older_than: timedelta) -> list[LimitOrder]: ...
    async def claim(self, limit_id: int) -> LimitOrder: ...
    async def attach_order(self, limit_id: int, order_id: str) -> LimitOrder: ...
    async def mark_failed(self, limit_id: int, error: str) -> LimitOrder: ...
    async def expire_due(self, now: datetime | None = None) -> list[LimitOrder]: ...


class PositionSource(Protocol):
    async def get_position(self, user_id: int, wallet_id: int, mint: str) -> Position | None: ...


class PaperPositions(Protocol):
    """The paper book (``storage.repositories.paper.PaperRepository`` fits)."""

    async def position(self, user_id: int, mint: str) -> Position | None: ...


NO_PAPER_EXECUTOR = "📝 This paper order could not be filled on paper; nothing was traded."


class Trader(Protocol):
    """``sniper_bot.trading.service.TradingService`` fits."""

    async def buy(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        *,
        kind: OrderKind = OrderKind.MANUAL,
    ) -> Order: ...

    async def sell(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        token_amount: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
    ) -> Order: ...


# (the limit order as it is now, its order: None when it expired or failed before one existed)
LimitNotifier = Callable[[LimitOrder, Order | None], Awaitable[None]]
SupplySource = Callable[[str], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class _Curve:
    point: PricePoint
    slot: int | None
    seen: float  # monotonic time of the event


def _older(slot: int | None, than: int | None) -> bool:
    return slot is not None and than is not None and slot < than


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LimitMonitor:
    def __init__(
        self,
        *,
        limits: LimitStore,
        positions: PositionSource,
        trading: Trader,
        venue: Quoter,
        supply: SupplySource | None = None,
        on_settled: LimitNotifier | None = None,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        interval_s: float = 2.0,
        quote_interval_s: float = 5.0,
        max_quotes: int = 20,
        recover_after_s: float = 30.0,
        concurrency: int = 8,
        curve_stale_s: float = 60.0,
        paper: Trader | None = None,
        paper_positions: PaperPositions | None = None,
    ) -> None:
        if interval_s <= 0 or quote_interval_s < 0 or max_quotes < 0:
            raise ValueError("interval_s must be > 0, quote_interval_s and max_quotes >= 0")
        self._limits = limits
        self._positions = positions
        self._paper = paper
        self._paper_positions = paper_positions
        self._trading = trading
        self._venue = venue
        self._supply = supply
        self._on_settled = on_settled
        self._clock = clock
        self._monotonic = monotonic
        self.interval_s = interval_s
        self._quote_interval_s = quote_interval_s
        self._max_quotes = max_quotes
        self._recover_after = timedelta(seconds=recover_after_s)
        self._curve_stale_s = curve_stale_s
        self._watched: dict[str, list[LimitOrder]] = {}
        self._curves: dict[str, _Curve] = {}  # watched curve coins' last reserves (events)
        self._quoted_at: dict[str, float] = {}
        self._supplies: dict[str, int] = {}
        self._due: set[str] = set()
        self._wake = asyncio.Event()
        self._running: set[int] = set()
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self.curve_events = 0  # updates of watched mints folded in (tests, /status)
        self.quotes = 0

    # -- the event path -----------------------------------------------------------------------

    def on_curve(self, update: CurveUpdate) -> None:
        """A pump.fun event (the listener's ``on_curve``). O(1) for a mint nobody watches."""
        orders = self._watched.get(update.mint)
        if orders is None:
            return
        if update.complete:  # graduated: its price now comes from its pool (quotes)
            self._curves.pop(update.mint, None)
            return
        known = self._curves.get(update.mint)
        if known is not None and _older(update.slot, known.slot):
            return  # a late copy of an older trade
        sol, tokens = update.virtual_sol_reserves, update.virtual_token_reserves
        if sol is None or tokens is None:
            return
        supply = update.token_total_supply
        if supply is None and known is not None:
            supply = known.point.supply
        if supply is None:
            supply = self._supplies.get(update.mint)
        point = PricePoint(sol, tokens, supply)
        self._curves[update.mint] = _Curve(point, update.slot, self._monotonic())
        self.curve_events += 1
        if any(limit_triggered(o, point) for o in orders):
            self._due.add(update.mint)
            self._wake.set()

    # -- the loop -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Check every ``interval_s`` (at once when an event reached a trigger) until ``stop``."""
        log.info("limit_monitor_started", interval_s=self.interval_s)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                try:
                    await self.check_once()
                except Exception as exc:  # the database may be down for a tick; keep watching
                    log.error("limit_check_failed", error=repr(exc))
                woken = asyncio.ensure_future(self._wake.wait())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        asyncio.wait({stopping, woken}, return_when=asyncio.FIRST_COMPLETED),
                        timeout=self.interval_s,
                    )
                woken.cancel()
                self._wake.clear()
        finally:
            stopping.cancel()
        log.info("limit_monitor_stopped")

    async def check_once(self) -> list[tuple[LimitOrder, Order | None]]:
        """One pass: expire, recover interrupted fires, refresh the watched set, fire what is
        reached. Returns what it settled (fired, failed or expired)."""
        settled: list[tuple[LimitOrder, Order | None]] = []
        now = self._clock()
        for expired in await self._limits.expire_due(now):
            log.info("limit_expired", limit_id=expired.id, user_id=expired.user_id)
            settled.append((expired, None))
            await self._notify(expired, None)
        for stuck in await self._limits.list_fired_without_order(self._recover_after):
            log.warning("limit_fire_resumed", limit_id=stuck.id)
            settled.append(await self._submit(stuck))
        open_orders = await self._limits.list_open()
        watched: dict[str, list[LimitOrder]] = {}
        for order in open_orders:
            watched.setdefault(order.token_mint, []).append(order)
        self._watched = watched
        for table in (self._curves, self._quoted_at):
            for mint in [m for m in table if m not in watched]:
                del table[mint]
        self._due.clear()
        quotes_left = self._max_quotes
        reached: list[LimitOrder] = []
        for mint, orders in watched.items():
            curve = self._curves.get(mint)
            if curve is not None and self._monotonic() - curve.seen > self._curve_stale_s:
                curve = None  # no event for a while (a feed down?): quote it meanwhile
            if curve is not None:
                points = {side: curve.point for side in (OrderSide.BUY, OrderSide.SELL)}
            else:
                if quotes_left <= 0 or not self._quote_due(mint):
                    continue
                points, used = await self._quote_points(mint, orders)
                quotes_left -= used
            for order in orders:
                point = points.get(order.side)
                if decide_limit(order, point, now) is LimitAction.FIRE:
                    reached.append(order)
        fired = await asyncio.gather(*(self._fire(o) for o in reached))  # landing in parallel
        return settled + [r for r in fired if r is not None]

    def _quote_due(self, mint: str) -> bool:
        last = self._quoted_at.get(mint)
        return last is None or self._monotonic() - last >= self._quote_interval_s

    async def _quote_points(
        self, mint: str, orders: list[LimitOrder]
    ) -> tuple[dict[OrderSide, PricePoint], int]:
        """One buy-side and one sell-side quote at most for the mint's orders."""
        self._quoted_at[mint] = self._monotonic()
        points: dict[OrderSide, PricePoint] = {}
        used = 0
        supply = await self._supply_of(mint, orders)
        buys = [o for o in orders if o.side is OrderSide.BUY and o.amount_lamports]
        if buys:
            first = min(buys, key=lambda o: o.amount_lamports or 0)
            lamports = first.amount_lamports or 0
            used += 1
            try:
                quote = await self._venue.quote(WSOL_MINT, mint, lamports, first.slippage_bps)
                points[OrderSide.BUY] = PricePoint(lamports, quote.out_amount, supply)
            except SniperBotError as exc:
                log.info("limit_quote_failed", mint=mint, side="BUY", error=exc.message)
        sells = [o for o in orders if o.side is OrderSide.SELL]
        if sells:
            first = sells[0]
            tokens = await self._sell_amount(first)
            if tokens > 0:
                used += 1
                try:
                    quote = await self._venue.quote(mint, WSOL_MINT, tokens, first.slippage_bps)
                    points[OrderSide.SELL] = PricePoint(quote.out_amount, tokens, supply)
                except SniperBotError as exc:
                    log.info("limit_quote_failed", mint=mint, side="SELL", error=exc.message)
        self.quotes += used
        return points, used

    async def _supply_of(self, mint: str, orders: list[LimitOrder]) -> int | None:
        if self._supply is None or all(o.trigger_kind is TriggerKind.PRICE for o in orders):
            return None
        known = self._supplies.get(mint)
        if known is None:
            try:
                known = self._supplies[mint] = await self._supply(mint)
            except SniperBotError as exc:
                log.info("limit_supply_failed", mint=mint, error=exc.message)
                return None
        return known

    async def _sell_amount(self, order: LimitOrder) -> int:
        if order.paper:
            if self._paper_positions is None:
                return 0
            position = await self._paper_positions.position(order.user_id, order.token_mint)
        else:
            position = await self._positions.get_position(
                order.user_id, order.wallet_id, order.token_mint
            )
        if position is None or position.token_amount <= 0:
            return 0
        return position.token_amount * (order.sell_pct or 0) // 100

    # -- firing -------------------------------------------------------------------------------

    async def _fire(self, order: LimitOrder) -> tuple[LimitOrder, Order | None] | None:
        if order.id in self._running:
            return None
        self._running.add(order.id)
        try:
            async with self._gate:
                return await self._fire_one(order)
        finally:
            self._running.discard(order.id)

    async def _fire_one(self, order: LimitOrder) -> tuple[LimitOrder, Order | None] | None:
        try:
            claimed = await self._limits.claim(order.id)
        except Exception as exc:  # another replica won, or it was cancelled meanwhile
            log.info("limit_claim_lost", limit_id=order.id, error=repr(exc))
            return None
        log.info(
            "limit_triggered",
            limit_id=order.id,
            user_id=order.user_id,
            mint=order.token_mint,
            side=order.side.value,
            trigger=order.trigger_kind.value,
            trigger_value=order.trigger_value,
        )
        return await self._submit(claimed)

    async def _submit(self, order: LimitOrder) -> tuple[LimitOrder, Order | None]:
        """The claimed order's buy or sell under ``limit:<id>``; then it is recorded."""
        try:
            placed = await self._place(order)
        except TemporaryError as exc:  # the order may exist: the recovery pass resubmits the key
            log.warning("limit_submit_deferred", limit_id=order.id, error=exc.message)
            return order, None
        except SniperBotError as exc:
            placed = None
            reason = exc.user_message
        except Exception as exc:  # a bug or an outage: resumed by the next recovery pass
            log.error("limit_submit_failed", limit_id=order.id, error=repr(exc))
            return order, None
        else:
            reason = "You hold none of this token any more: nothing to sell."
        if placed is None:
            failed = await self._limits.mark_failed(order.id, reason)
            log.warning("limit_failed", limit_id=order.id, reason=reason)
            await self._notify(failed, None)
            return failed, None
        recorded = await self._limits.attach_order(order.id, placed.id)
        log.info("limit_fired", limit_id=order.id, order_id=placed.id, status=placed.status.value)
        await self._notify(recorded, placed)
        return recorded, placed

    def _trader(self, order: LimitOrder) -> Trader:
        if not order.paper:
            return self._trading
        if self._paper is None:
            raise PermanentError(f"paper limit {order.id} without a paper executor",
                                 user_message=NO_PAPER_EXECUTOR)  # fmt: skip
        return self._paper

    async def _place(self, order: LimitOrder) -> Order | None:
        key = limit_key(order.id)
        trading = self._trader(order)
        if order.side is OrderSide.BUY:
            return await trading.buy(
                order.user_id,
                order.wallet_id,
                order.token_mint,
                order.amount_lamports or 0,
                order.slippage_bps,
                order.priority_fee,
                key,
            )
        tokens = await self._sell_amount(order)
        if tokens <= 0:
            return None
        return await trading.sell(
            order.user_id,
            order.wallet_id,
            order.token_mint,
            tokens,
            order.slippage_bps,
            order.priority_fee,
            key,
        )

    async def _notify(self, order: LimitOrder, placed: Order | None) -> None:
        if self._on_settled is None:
            return
        try:
            await self._on_settled(order, placed)
        except Exception as exc:  # a failing notifier never stops trading
            log.error("limit_notify_failed", limit_id=order.id, error=repr(exc))
