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
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog

from sniper_bot.domain.entities import Order, Position, UserSettings
from sniper_bot.domain.exits import ExitDecision, ExitRule, decide
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.venue import Quoter

__all__ = [
    "ExitNotifier",
    "ExitResult",
    "OpenPositions",
    "PositionMonitor",
    "Seller",
    "SettingsSource",
    "exit_idempotency_key",
    "exit_rule",
]

log = structlog.get_logger(__name__)


class OpenPositions(Protocol):
    """``sniper_bot.storage.repositories.positions.PositionRepository`` fits."""

    async def list_all_open(self) -> list[Position]: ...


class SettingsSource(Protocol):
    """``sniper_bot.storage.repositories.settings.SettingsRepository`` fits."""

    async def get(self, user_id: int) -> UserSettings: ...


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
    )


def exit_idempotency_key(position: Position, attempt: int = 0) -> str:
    """``exit:<id>:<opened_at>`` first; ``...:<n>`` for the n-th retry after a failed sell."""
    base = f"exit:{position.id}:{position.opened_at.isoformat()}"
    return base if attempt == 0 else f"{base}:{attempt}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


_Lifetime = tuple[int, datetime]  # (position id, opened_at): a re-opened position starts afresh


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
    ) -> None:
        if interval_s <= 0 or concurrency < 1 or max_attempts < 1:
            raise ValueError("interval_s must be > 0, concurrency and max_attempts >= 1")
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
        self._next_key: dict[_Lifetime, int] = {}  # attempt number of the next sell's key
        self._failures: dict[_Lifetime, int] = {}

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
        watched = [(p, rules[p.user_id]) for p in positions if p.user_id in rules]
        results = await asyncio.gather(*(self._check(p, s) for p, s in watched))
        return [r for r in results if r is not None]

    async def _rules(self, user_ids: set[int]) -> dict[int, UserSettings]:
        """Settings of the users with any exit rule set."""
        found: dict[int, UserSettings] = {}
        for user_id in sorted(user_ids):
            try:
                settings = await self._settings.get(user_id)
            except Exception as exc:
                log.error("exit_settings_failed", user_id=user_id, error=repr(exc))
                continue
            if exit_rule(settings).is_active:
                found[user_id] = settings
        return found

    def _forget_closed(self, open_positions: list[Position]) -> None:
        alive = {(p.id, p.opened_at) for p in open_positions}
        for table in (self._high_water, self._next_key, self._failures):
            for lifetime in [k for k in table if k not in alive]:
                del table[lifetime]

    async def _check(self, position: Position, settings: UserSettings) -> ExitResult | None:
        async with self._gate:
            try:
                return await self._check_one(position, settings)
            except Exception as exc:  # one position's failure never stops the others
                log.error(
                    "exit_position_failed",
                    position_id=position.id,
                    mint=position.token_mint,
                    error=repr(exc),
                )
                return None

    async def _check_one(self, position: Position, settings: UserSettings) -> ExitResult | None:
        if position.token_amount <= 0:
            return None
        lifetime = (position.id, position.opened_at)
        if self._failures.get(lifetime, 0) >= self._max_attempts:
            return None  # gave up for this lifetime; logged when it happened
        attempt = self._next_key.get(lifetime, 0)
        quote = await self._venue.quote(
            position.token_mint, WSOL_MINT, position.token_amount, settings.slippage_bps
        )
        value = quote.out_amount
        high = max(self._high_water.get(lifetime, 0), value)
        self._high_water[lifetime] = high
        decision = decide(
            value,
            position.cost_basis_lamports,
            high,
            position.opened_at,
            self._clock(),
            exit_rule(settings),
        )
        if decision is None:
            return None
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
        )
        order = await self._trading.sell(
            position.user_id,
            position.wallet_id,
            position.token_mint,
            position.token_amount,
            settings.slippage_bps,
            settings.priority_fee_level,
            exit_idempotency_key(position, attempt),
        )
        self._settle(lifetime, position, order, attempt)
        await self._notify(position, decision, order)
        return ExitResult(position.user_id, position, decision, order)

    def _settle(self, lifetime: _Lifetime, position: Position, order: Order, attempt: int) -> None:
        """A final order moves this lifetime to the next key: a failed sell may be retried, and
        tokens still held after a landed one (bought meanwhile) are sold under a fresh key."""
        if not order.is_final:
            return  # still landing (another replica runs it): the same key is replayed next time
        self._next_key[lifetime] = attempt + 1
        if order.status is OrderStatus.CONFIRMED:
            log.info("exit_sold", position_id=position.id, order_id=order.id)
            return
        failures = self._failures[lifetime] = self._failures.get(lifetime, 0) + 1
        error = order.error.to_json() if order.error else None
        event = "exit_sell_failed" if failures < self._max_attempts else "exit_gave_up"
        log.warning(event, position_id=position.id, order_id=order.id, error=error)

    async def _notify(self, position: Position, decision: ExitDecision, order: Order) -> None:
        if self._on_exit is None:
            return
        try:
            await self._on_exit(position.user_id, position, decision, order)
        except Exception as exc:  # a failing notifier never kills trading
            log.error("exit_notify_failed", position_id=position.id, error=repr(exc))
