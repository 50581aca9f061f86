"""``PositionMonitor``: sells open positions when their owner's exit rule says so.

    monitor = PositionMonitor(positions=repos.positions, settings=repos.settings,
                              trading=trading, venue=venue, metrics=metrics, on_exit=notify)
    tg.create_task(monitor.run(stop))            # in the app's TaskGroup

Every ``interval_s`` (``check_once``):
1. every open position whose owner has any exit rule (``sniper_bot.domain.exits.ExitRule``) is
   valued by quoting its full token amount into SOL through the venue;
2. the highest value seen is kept in memory per position lifetime (``id`` + ``opened_at``): the
   trailing stop measures from it (a restart starts the mark again from the next quote);
3. ``decide`` picks take-profit / stop-loss / trailing stop / max hold;
4. a decision sells 100 % through ``TradingService.sell`` with the idempotency key
   ``exit:<position id>:<opened_at ISO>``: a crash and replay, or a second replica deciding the
   same, return the same order and never sell twice. If that sell ends without landing (slippage,
   no route), the next check tries ``exit:<id>:<opened_at>:<n>`` up to ``max_attempts`` times
   (every replica counts the same way, so they still share each key);
5. ``on_exit(user_id, position, decision, order)`` is awaited for each landed or failed sell.
One failing quote, sell or notifier never stops the loop or the other positions.

Curve coins are valued from their events, not quoted every pass: ``on_curve`` (the pump.fun
listener's hook, through ``curve_sink``) folds each ``CurveUpdate`` of a watched mint into its
last reserves and values every position on it from them (the curve's constant-product output,
an estimate ``EVENT_SLACK_BPS`` either side covering the fees); the moment either estimate
crosses the owner's rule, that position is checked at once (a task, not the next pass): one
quote through the venue confirms the value, ``decide`` runs on it, and only then it sells. A
pass quotes a position only when its coin has no fresh curve value (``curve_stale_s``: events
stopped, the coin graduated, or it trades elsewhere) and its last quote is ``quote_interval_s``
old (0 by default: every pass, so Jupiter-routed coins keep their ``interval_s`` quotes).
``event_checks`` counts the checks events started, ``polled`` every quote made (tests, /status).

**Ladders** (``ExitRule.ladder``): step ``i`` sells ``domain.exits.step_sell_amount`` of the
position as it is when the step fires (re-read from the store right before the sell, so earlier
partial sells are counted, in base units), under the key ``exit:<id>:<opened_at>:tp<i+1>``
(``...:tp<i+1>:<n>`` for a retry). Which steps sold is read from the order store (``orders``,
``list_by_key_prefix``) the first time a lifetime is checked: a step is done when one of its keys
holds a CONFIRMED sell, an unfinished one is replayed under its own key (never a second sell),
so a restart between or in the middle of steps neither repeats nor skips one. The trailing
stop's high-water mark is scaled by the amount left after each partial sell.

**Sell when the creator sells** (``ExitRule.sell_with_creator``): a pump.fun trade whose seller
is the coin's creator (``CurveUpdate.user == creator``, ``is_buy`` false; any amount) marks every
position on that coin whose plan has the flag and checks it at once: it sells everything
(``ExitReason.CREATOR_SOLD``, the plain ``exit:<id>:<opened_at>`` key) whatever the price. The
mark is kept in memory for the lifetime (a failed sell is retried by the passes); a creator's sell
seen while the bot was down is not replayed.

A position's plan is its own ``Position.exit_plan`` when the user edited it, else its owner's
settings (``exit_rule``) as they are now.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from sniper_bot.domain.entities import Order, Position, UserSettings
from sniper_bot.domain.exits import (
    ExitDecision,
    ExitReason,
    ExitRule,
    decide,
    step_sell_amount,
)
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import CurveUpdate
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.venue import Quoter

__all__ = [
    "EVENT_SLACK_BPS",
    "ExitNotifier",
    "ExitOrders",
    "ExitResult",
    "OpenPositions",
    "PositionMonitor",
    "Seller",
    "SettingsSource",
    "exit_idempotency_key",
    "exit_rule",
    "position_rule",
]

log = structlog.get_logger(__name__)


class OpenPositions(Protocol):
    """``sniper_bot.storage.repositories.positions.PositionRepository`` fits."""

    async def list_all_open(self) -> list[Position]: ...
    async def get_position(self, user_id: int, wallet_id: int, mint: str) -> Position | None: ...


class ExitOrders(Protocol):
    """``sniper_bot.storage.repositories.orders.OrderRepository`` fits: the exit sells a
    position lifetime already has (which ladder steps sold, which attempt is next)."""

    async def list_by_key_prefix(self, user_id: int, prefix: str) -> list[Order]: ...


class SettingsSource(Protocol):
    """``sniper_bot.storage.repositories.settings.SettingsRepository`` fits."""

    async def get(self, user_id: int) -> UserSettings: ...
    async def get_many(self, user_ids: Iterable[int]) -> dict[int, UserSettings]: ...


class Seller(Protocol):
    """``sniper_bot.trading.service.TradingService`` fits."""

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


@dataclass(frozen=True, slots=True)
class ExitResult:
    user_id: int
    position: Position
    decision: ExitDecision
    order: Order


ExitNotifier = Callable[[int, Position, ExitDecision, Order], Awaitable[None]]


def exit_rule(settings: UserSettings) -> ExitRule:
    return ExitRule(
        take_profit_pct=settings.take_profit_pct,
        stop_loss_pct=settings.stop_loss_pct,
        trailing_stop_pct=settings.trailing_stop_pct,
        max_hold_minutes=settings.max_hold_minutes,
        ladder=settings.exit_ladder,
        sell_with_creator=settings.sell_with_creator,
    )


def position_rule(position: Position, settings: UserSettings) -> ExitRule:
    """The position's own plan when it has one, else its owner's defaults."""
    return position.exit_plan if position.exit_plan is not None else exit_rule(settings)


def _key_base(position: Position) -> str:
    return f"exit:{position.id}:{position.opened_at.isoformat()}"


def exit_idempotency_key(position: Position, attempt: int = 0, step: int | None = None) -> str:
    """``exit:<id>:<opened_at>`` first; ``...:<n>`` for the n-th retry after a failed sell.
    Ladder step ``step`` (0-based): ``exit:<id>:<opened_at>:tp<step+1>`` (``...:<n>``)."""
    base = _key_base(position)
    if step is not None:
        base = f"{base}:{_family(step)}"
    return base if attempt == 0 else f"{base}:{attempt}"


def _family(step: int | None) -> str:
    """A key family: ``""`` the full exits, ``"tp<n>"`` ladder step n (1-based)."""
    return "" if step is None else f"tp{step + 1}"


def _parse_key(base: str, key: str) -> tuple[str, int] | None:
    """``(family, attempt)`` of an exit key of this lifetime, None for any other key."""
    if key == base:
        return "", 0
    if not key.startswith(base + ":"):
        return None
    parts = key[len(base) + 1 :].split(":")
    family = ""
    if parts[0].startswith("tp"):
        family, parts = parts[0], parts[1:]
        if not family[2:].isdigit():
            return None
    if not parts:
        return family, 0
    if len(parts) != 1 or not parts[0].isdigit():
        return None
    return family, int(parts[0])


def _utcnow() -> datetime:
    return datetime.now(UTC)


_Lifetime = tuple[int, datetime]  # (position id, opened_at): a re-opened position starts afresh
_Family = tuple[_Lifetime, str]  # a lifetime's key family: "" (full exits) or "tp<n>" (a step)
# an event's value is the curve's output before fees; a check is due when the rule is crossed
# by that value or by it less this margin (pump.fun's fees are ~1.25 %: the quote decides)
EVENT_SLACK_BPS = 300


def curve_value(tokens: int, virtual_sol: int, virtual_tokens: int) -> int:
    """Lamports a sell of ``tokens`` returns on a curve with these virtual reserves, before
    fees (the constant product, rounded down)."""
    if tokens <= 0 or virtual_sol <= 0 or virtual_tokens <= 0:
        return 0
    return tokens * virtual_sol // (virtual_tokens + tokens)


@dataclass(frozen=True, slots=True)
class _Curve:
    virtual_sol: int
    virtual_tokens: int
    slot: int | None
    at: float  # monotonic seconds of the event


class PositionMonitor:
    def __init__(
        self,
        *,
        positions: OpenPositions,
        settings: SettingsSource,
        trading: Seller,
        venue: Quoter,
        metrics: Metrics,
        clock: Callable[[], datetime] = _utcnow,
        interval_s: float = 2.0,
        on_exit: ExitNotifier | None = None,
        concurrency: int = 8,
        max_attempts: int = 3,
        quote_interval_s: float | None = None,
        curve_stale_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        orders: ExitOrders | None = None,
    ) -> None:
        if interval_s <= 0 or concurrency < 1 or max_attempts < 1:
            raise ValueError("interval_s must be > 0, concurrency and max_attempts >= 1")
        self.quote_interval_s = 0.0 if quote_interval_s is None else quote_interval_s
        self._curve_stale_s = curve_stale_s
        self._monotonic = monotonic
        self._watched: dict[str, list[tuple[Position, UserSettings]]] = {}
        self._curves: dict[str, _Curve] = {}
        self._quoted_at: dict[_Lifetime, float] = {}
        self._in_flight: set[_Lifetime] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.event_checks = 0  # checks an event started (the rule crossed between passes)
        self.polled = 0  # quotes made (a pass's, or an event check's confirmation)
        self._positions = positions
        self._settings = settings
        self._trading = trading
        self._venue = venue
        self._metrics = metrics
        self._clock = clock
        self.interval_s = interval_s
        self._on_exit = on_exit
        self._gate = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts
        self._high_water: dict[_Lifetime, int] = {}
        self._amounts: dict[_Lifetime, int] = {}  # the amount the high-water mark is for
        self._next_key: dict[_Family, int] = {}  # attempt number of the next sell's key
        self._failures: dict[_Family, int] = {}
        self._orders = orders
        self._loaded: set[_Lifetime] = set()  # its past exit sells were read from the store
        self._steps: dict[_Lifetime, int] = {}  # ladder steps sold
        self._creator_sold: set[_Lifetime] = set()  # its coin's creator sold: sell everything
        self.creator_checks = 0  # checks a creator's sell started
        self.stale_quotes = 0  # quotes outside the curve events' band, asked again
        self.confirm_retries = 10
        self.confirm_wait_s = 0.1

    def high_water(self, position: Position) -> int | None:
        """The highest value (lamports) seen for this position lifetime, if any."""
        return self._high_water.get((position.id, position.opened_at))

    async def run(self, stop: asyncio.Event) -> None:
        """Check every ``interval_s`` until ``stop`` is set; never raises into the TaskGroup."""
        log.info("exit_monitor_started", interval_s=self.interval_s)
        while not stop.is_set():
            try:
                await self.check_once()
            except Exception as exc:  # the database may be down for a tick; keep watching
                log.error("exit_check_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
        log.info("exit_monitor_stopped")

    async def check_once(self) -> list[ExitResult]:
        """One pass over every open position; returns the sells it made (landed or not)."""
        positions = await self._positions.list_all_open()
        self._forget_closed(positions)
        rules = await self._rules({p.user_id for p in positions})
        watched = [
            (p, rules[p.user_id])
            for p in positions
            if p.user_id in rules and position_rule(p, rules[p.user_id]).is_active
        ]
        by_mint: dict[str, list[tuple[Position, UserSettings]]] = {}
        for position, settings in watched:
            by_mint.setdefault(position.token_mint, []).append((position, settings))
        self._watched = by_mint
        for mint in [m for m in self._curves if m not in by_mint]:
            del self._curves[mint]
        due = [(p, s) for p, s in watched if self._due_in_pass(p, s)]
        results = await asyncio.gather(*(self._check(p, s) for p, s in due))
        return [r for r in results if r is not None]

    # -- the event path ---------------------------------------------------------------------------

    def curve_sink(self, first: Callable[[CurveUpdate], None]) -> Callable[[CurveUpdate], None]:
        """A listener's ``on_curve``: ``first``, then this monitor's ``on_curve``."""

        def both(update: CurveUpdate) -> None:
            try:
                first(update)
            finally:
                self.on_curve(update)

        return both

    def watching(self, mint: str) -> bool:
        """Does the last pass hold a position with an exit rule on ``mint``?"""
        return mint in self._watched

    def on_curve(self, update: CurveUpdate) -> None:
        """A pump.fun event (sync, in the listener's decode). O(1) for a mint nobody holds."""
        held = self._watched.get(update.mint)
        if held is None:
            return
        if _creator_sells(update):
            self._on_creator_sell(update, held)
        if update.complete:  # graduated: its value now comes from its pool (quotes)
            self._curves.pop(update.mint, None)
            return
        sol, tokens = update.virtual_sol_reserves, update.virtual_token_reserves
        if sol is None or tokens is None:
            return
        known = self._curves.get(update.mint)
        if known is not None and _older(update.slot, known.slot):
            return  # a late copy of an older trade
        self._curves[update.mint] = _Curve(sol, tokens, update.slot, self._monotonic())
        for position, settings in held:
            if self._crossed(position, settings):
                self.event_checks += 1
                log.info("exit_event_check", position_id=position.id, mint=position.token_mint,
                         slot=update.slot)  # fmt: skip
                self._spawn(self._check(position, settings), f"exit-event:{position.id}")

    def _on_creator_sell(
        self, update: CurveUpdate, held: list[tuple[Position, UserSettings]]
    ) -> None:
        for position, settings in held:
            if not position_rule(position, settings).sell_with_creator:
                continue
            lifetime = (position.id, position.opened_at)
            if lifetime in self._creator_sold:
                continue
            self._creator_sold.add(lifetime)
            self.creator_checks += 1
            log.info("exit_creator_sold", position_id=position.id, mint=position.token_mint,
                     creator=update.creator, slot=update.slot)  # fmt: skip
            self._spawn(self._check(position, settings), f"exit-creator:{position.id}")

    def _estimates(self, position: Position) -> tuple[int, int] | None:
        """(low, high) value of the position from its coin's fresh curve reserves, or ``None``."""
        curve = self._curves.get(position.token_mint)
        if curve is None or self._monotonic() - curve.at > self._curve_stale_s:
            return None
        high = curve_value(position.token_amount, curve.virtual_sol, curve.virtual_tokens)
        return high - high * EVENT_SLACK_BPS // 10_000, high

    def _crossed(self, position: Position, settings: UserSettings) -> bool:
        """Does the curve's value, either estimate, cross the owner's rule? The low estimate
        feeds the trailing stop's high-water mark (never above what a sell could return)."""
        estimates = self._estimates(position)
        if estimates is None or position.token_amount <= 0:
            return False
        lifetime = (position.id, position.opened_at)
        if lifetime in self._in_flight or lifetime in self._creator_sold:
            return False  # being checked, or the creator's sell has its own check (and passes)
        low, high = estimates
        mark = self._mark(lifetime, position.token_amount, low)
        rule, now = position_rule(position, settings), self._clock()
        basis, done = position.cost_basis_lamports, self._steps.get(lifetime, 0)
        for v in (low, high):
            decision = decide(v, basis, mark, position.opened_at, now, rule, done)
            if decision is not None and not self._gave_up(lifetime, decision.step):
                return True
        return False

    def _gave_up(self, lifetime: _Lifetime, step: int | None) -> bool:
        return self._failures.get((lifetime, _family(step)), 0) >= self._max_attempts

    def _mark(self, lifetime: _Lifetime, amount: int, value: int) -> int:
        """The high-water mark with ``value``; scaled to ``amount`` when a partial sell (or a
        buy) changed the amount it was measured for."""
        mark = self._high_water.get(lifetime, 0)
        before = self._amounts.get(lifetime)
        if before and amount > 0 and before != amount:
            mark = mark * amount // before
        self._amounts[lifetime] = amount
        mark = self._high_water[lifetime] = max(mark, value)
        return mark

    def _due_in_pass(self, position: Position, settings: UserSettings) -> bool:
        """A pass checks a curve coin's position only when its value crossed the rule (its
        events keep it current) and every other position when its last quote is old enough."""
        if (position.id, position.opened_at) in self._creator_sold:
            return True
        if self._estimates(position) is not None:
            return self._crossed(position, settings)
        quoted = self._quoted_at.get((position.id, position.opened_at))
        return quoted is None or self._monotonic() - quoted >= self.quote_interval_s

    def _spawn(self, work: Awaitable[Any], name: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception as exc:  # _check logs its own; this is a last resort
                log.error("exit_event_task_failed", task=name, error=repr(exc))

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self, timeout_s: float | None = None) -> None:
        """Wait for the checks events started (tests)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _rules(self, user_ids: set[int]) -> dict[int, UserSettings]:
        """Settings of these users (a position's own plan may be active without theirs)."""
        try:  # one query for every owner (it was one per owner every pass: 1,000 positions
            every = await self._settings.get_many(user_ids)  # kept PostgreSQL busy at idle)
        except Exception as exc:
            log.error("exit_settings_failed", users=len(user_ids), error=repr(exc))
            return {}
        return every

    def _forget_closed(self, open_positions: list[Position]) -> None:
        alive = {(p.id, p.opened_at) for p in open_positions}
        for table in (self._high_water, self._amounts, self._quoted_at, self._steps):
            for lifetime in [k for k in table if k not in alive]:
                del table[lifetime]
        for families in (self._next_key, self._failures):
            for key in [k for k in families if k[0] not in alive]:
                del families[key]
        self._loaded &= alive
        self._creator_sold &= alive

    async def _load(self, position: Position) -> None:
        """Once per lifetime: its exit sells from the order store (ladder steps sold, attempts
        used, an unfinished sell to replay under its own key)."""
        lifetime = (position.id, position.opened_at)
        if lifetime in self._loaded or self._orders is None:
            return
        base = _key_base(position)
        by_family: dict[str, list[tuple[int, Order]]] = {}
        for order in await self._orders.list_by_key_prefix(position.user_id, base):
            parsed = _parse_key(base, order.idempotency_key)
            if parsed is not None and order.side is OrderSide.SELL:
                by_family.setdefault(parsed[0], []).append((parsed[1], order))
        for family, attempts in by_family.items():
            unfinished = [n for n, o in attempts if not o.is_final]
            failed = [
                n for n, o in attempts if o.is_final and o.status is not OrderStatus.CONFIRMED
            ]
            used = max(n for n, _ in attempts)
            self._next_key[(lifetime, family)] = min(unfinished) if unfinished else used + 1
            self._failures[(lifetime, family)] = len(failed)
        done = 0
        while any(o.status is OrderStatus.CONFIRMED for _, o in by_family.get(_family(done), [])):
            done += 1
        self._steps[lifetime] = done
        self._loaded.add(lifetime)

    async def _check(self, position: Position, settings: UserSettings) -> ExitResult | None:
        lifetime = (position.id, position.opened_at)
        if lifetime in self._in_flight:
            return None  # an event's check (or the pass's) is on it already
        self._in_flight.add(lifetime)
        try:
            async with self._gate:
                return await self._check_one(position, settings)
        except Exception as exc:  # one position's failure never stops the others
            log.error(
                "exit_position_failed",
                position_id=position.id,
                mint=position.token_mint,
                error=repr(exc),
            )
            return None
        finally:
            self._in_flight.discard(lifetime)

    async def _check_one(self, position: Position, settings: UserSettings) -> ExitResult | None:
        if position.token_amount <= 0:
            return None
        lifetime = (position.id, position.opened_at)
        await self._load(position)
        rule = position_rule(position, settings)
        value = await self._quote(position, settings, lifetime not in self._creator_sold)
        high = self._mark(lifetime, position.token_amount, value)
        decision: ExitDecision | None
        if lifetime in self._creator_sold:
            basis = position.cost_basis_lamports
            decision = ExitDecision(ExitReason.CREATOR_SOLD, value, basis, high)
        else:
            decision = decide(
                value,
                position.cost_basis_lamports,
                high,
                position.opened_at,
                self._clock(),
                rule,
                self._steps.get(lifetime, 0),
            )
        if decision is None:
            return None
        family = (lifetime, _family(decision.step))
        if self._failures.get(family, 0) >= self._max_attempts:
            return None  # gave up on this sell for this lifetime; logged when it happened
        attempt = self._next_key.get(family, 0)
        # the amount as stored now (an earlier partial sell may have landed since the pass)
        fresh = await self._positions.get_position(
            position.user_id, position.wallet_id, position.token_mint
        )
        if fresh is None or fresh.opened_at != position.opened_at or fresh.token_amount <= 0:
            return None  # closed or re-opened meanwhile: the next pass sees the new lifetime
        position = fresh
        amount = position.token_amount
        if decision.step is not None:
            amount = step_sell_amount(rule.ladder, decision.step, amount)
        log.info(
            "exit_triggered",
            position_id=position.id,
            user_id=position.user_id,
            mint=position.token_mint,
            reason=decision.reason.value,
            value_lamports=value,
            cost_basis_lamports=position.cost_basis_lamports,
            high_water_lamports=high,
            attempt=attempt,
            step=decision.step,
            token_amount=amount,
        )
        order = await self._trading.sell(
            position.user_id,
            position.wallet_id,
            position.token_mint,
            amount,
            settings.slippage_bps,
            settings.priority_fee_level,
            exit_idempotency_key(position, attempt, decision.step),
        )
        await self._settle(family, position, order, attempt, decision)
        await self._notify(position, decision, order)
        return ExitResult(position.user_id, position, decision, order)

    async def _settle(
        self, family: _Family, position: Position, order: Order, attempt: int,
        decision: ExitDecision,
    ) -> None:  # fmt: skip
        """A final order moves this family to the next key: a failed sell may be retried, and
        tokens still held after a landed one (bought meanwhile) are sold under a fresh key; a
        landed step counts as sold, and the pass's copy of the position is refreshed."""
        if not order.is_final:
            return  # still landing (another replica runs it): the same key is replayed next time
        lifetime = family[0]
        self._next_key[family] = attempt + 1
        if order.status is OrderStatus.CONFIRMED:
            log.info("exit_sold", position_id=position.id, order_id=order.id, step=decision.step)
            if decision.step is not None:
                self._steps[lifetime] = max(self._steps.get(lifetime, 0), decision.step + 1)
            if decision.reason is ExitReason.CREATOR_SOLD:
                self._creator_sold.discard(lifetime)
            await self._refresh(position)
            return
        failures = self._failures[family] = self._failures.get(family, 0) + 1
        error = order.error.to_json() if order.error else None
        event = "exit_sell_failed" if failures < self._max_attempts else "exit_gave_up"
        log.warning(event, position_id=position.id, order_id=order.id, error=error)

    async def _quote(self, position: Position, settings: UserSettings, confirm: bool) -> int:
        """The position's value by a venue quote. With ``confirm`` and a fresh curve value from
        events, a quote outside the events' band (``_estimates``) was read before the event's
        trade reached the quoting node (events come at ``processed``, reads at ``confirmed``):
        it is asked again, ``confirm_retries`` times at most, ``confirm_wait_s`` apart (a stale
        read would sell a trailing stop on the price before a pump, or miss a step)."""
        lifetime = (position.id, position.opened_at)
        value = 0
        for attempt in range(self.confirm_retries + 1):
            if attempt:
                await asyncio.sleep(self.confirm_wait_s)
            quote = await self._venue.quote(
                position.token_mint, WSOL_MINT, position.token_amount, settings.slippage_bps
            )
            self._quoted_at[lifetime] = self._monotonic()
            self.polled += 1
            value = quote.out_amount
            band = self._estimates(position) if confirm else None
            if band is None or band[0] <= value <= band[1]:
                break
            self.stale_quotes += 1
        return value

    async def _refresh(self, position: Position) -> None:
        """After a landed sell: the pass's copy of the position gets the amount left (a partial
        sell), so events value what is held until the next pass reads it."""
        try:
            fresh = await self._positions.get_position(
                position.user_id, position.wallet_id, position.token_mint
            )
        except Exception as exc:  # the next pass reads it anyway
            log.warning("exit_refresh_failed", position_id=position.id, error=repr(exc))
            return
        held = self._watched.get(position.token_mint)
        if fresh is None or held is None:
            return
        self._watched[position.token_mint] = [
            (fresh if p.id == fresh.id else p, st) for p, st in held
        ]

    async def _notify(self, position: Position, decision: ExitDecision, order: Order) -> None:
        if self._on_exit is None:
            return
        try:
            await self._on_exit(position.user_id, position, decision, order)
        except Exception as exc:  # a failing notifier never kills trading
            log.error("exit_notify_failed", position_id=position.id, error=repr(exc))


def _creator_sells(update: CurveUpdate) -> bool:
    """A trade in which the coin's creator sold (any amount)."""
    return (
        update.kind == "trade"
        and update.is_buy is False
        and update.creator is not None
        and update.user == update.creator
    )


def _older(slot: int | None, than: int | None) -> bool:
    return slot is not None and than is not None and slot < than
