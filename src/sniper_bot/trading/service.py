"""The trading engine the bot calls: ``buy``/``sell`` (idempotent per user action), ``recover_all``.

    order = await trading.buy(user_id, wallet_id, mint, lamports, slippage_bps, fee_level, key)
    order.status / order.error.user_message  -> what the user is told

A double-tap (same idempotency key) returns the first order and never runs a second swap.
On start, ``recover_all()`` resolves every non-final order: SIGNED/SENT ones are watched with the
same bytes until they land or provably expire; PENDING/QUOTED ones (nothing was sent) are re-run
when younger than ``max_pending_age_s``, otherwise cancelled. While the bot runs,
``run_claimer(stop)`` does the same for orders whose lease lapsed (a worker that died or gave up
during a database outage): ``claim_batch`` leases them (``FOR UPDATE SKIP LOCKED``, so replicas
split the work) and each is recovered. One process drives an order once: a buy, recovery and the
claimer that meet on the same order share one run.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from solders.pubkey import Pubkey
from solders.signature import Signature

from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff
from sniper_bot.trading.executor import Progress, SwapExecutor, TradeAccount

__all__ = ["OrderCreator", "OrderNotRecorded", "SignerSource", "TradingService", "UnlockedKey"]

log = structlog.get_logger(__name__)

CLAIM_INTERVAL_S = 2.0
CLAIM_BATCH = 20
_CREATE_BACKOFF = Backoff(base_s=0.1, factor=2.0, max_s=2.0, jitter=0.5)
_RNG = random.Random()


class OrderNotRecorded(TemporaryError):
    """The database did not answer while the order was being written: it may or may not exist."""

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(
            f"order {idempotency_key!r}: the database did not answer the insert",
            user_message=(
                "Our database is not answering, so we cannot tell whether your order was "
                "recorded. If it was, it runs automatically and you will get a message with its "
                "result; check /orders before you place it again."
            ),
            retry_after=1.0,
        )


class UnlockedKey(Protocol):
    @property
    def wallet_id(self) -> int: ...
    @property
    def pubkey(self) -> Pubkey: ...
    def sign_message(self, message: bytes) -> Signature: ...


class SignerSource(Protocol):
    """``sniper_bot.wallet.service.WalletService`` fits."""

    async def signer(self, user_id: int, wallet_id: int | None = None) -> UnlockedKey: ...


class OrderCreator(Protocol):
    async def create(
        self,
        *,
        user_id: int,
        wallet_id: int,
        kind: OrderKind,
        token_mint: str,
        side: OrderSide,
        amount: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        idempotency_key: str,
        priority_fee_lamports: int = 0,
        quote: Any = None,
        order_id: str | None = None,
        locked_by: str | None = None,
        lease_s: float | None = None,
    ) -> tuple[Order, bool]: ...
    async def list_non_final(self) -> list[Order]: ...
    async def claim_batch(
        self, worker_id: str, lease_s: float, now: datetime, limit: int = 50
    ) -> list[Order]: ...
    async def get_by_id(self, order_id: str) -> Order | None: ...
    async def transition(
        self, order_id: str, expected: OrderStatus, new: OrderStatus, **fields: Any
    ) -> Order: ...
    async def count_by_status(self) -> dict[OrderStatus, int]: ...


class TradingService:
    def __init__(
        self,
        *,
        executor: SwapExecutor,
        orders: OrderCreator,
        signers: SignerSource,
        metrics: Metrics,
        max_priority_fee_lamports: int,
        max_pending_age_s: float = 120.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._executor = executor
        self._orders = orders
        self._signers = signers
        self._metrics = metrics
        self._max_fee = max_priority_fee_lamports
        self._max_pending_age_s = max_pending_age_s
        self._now = now
        # Orders this process is driving right now: whoever else wants one joins its run.
        self._running: dict[str, asyncio.Task[Order]] = {}

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
        progress: Progress | None = None,
    ) -> Order:
        return await self._trade(
            user_id,
            wallet_id,
            mint,
            OrderSide.BUY,
            lamports,
            slippage_bps,
            fee_level,
            idempotency_key,
            kind,
            progress,
        )

    async def sell(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        token_amount: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        *,
        progress: Progress | None = None,
    ) -> Order:
        return await self._trade(
            user_id,
            wallet_id,
            mint,
            OrderSide.SELL,
            token_amount,
            slippage_bps,
            fee_level,
            idempotency_key,
            OrderKind.MANUAL,
            progress,
        )

    async def _trade(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        side: OrderSide,
        amount: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        kind: OrderKind,
        progress: Progress | None = None,
    ) -> Order:
        Pubkey.from_string(mint)  # a malformed mint fails here, before any row is written
        validate_slippage_bps(slippage_bps)
        key = await self._signers.signer(user_id, wallet_id)
        cfg = self._executor.config
        order, created = await self._insert(
            lambda: self._orders.create(
                user_id=user_id,
                wallet_id=key.wallet_id,
                kind=kind,
                token_mint=mint,
                side=side,
                amount=amount,
                slippage_bps=slippage_bps,
                priority_fee=fee_level,
                idempotency_key=idempotency_key,
                locked_by=cfg.worker_id,  # born leased: no claimer takes it from under us
                lease_s=cfg.lease_s,
            ),
            idempotency_key,
        )
        if not created:
            log.info("order_idempotent_replay", order_id=order.id, status=order.status.value)
            if order.is_final:
                return order
        result = await self._drive(order, self._account(key), progress)
        await self._refresh_gauge_quietly()
        return result

    async def _insert(
        self, create: Callable[[], Awaitable[tuple[Order, bool]]], idempotency_key: str
    ) -> tuple[Order, bool]:
        """The insert is idempotent on (user, key), so a restarting database is simply asked
        again for ``store_retry_s``; after that nobody knows whether the row exists."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while True:
            try:
                return await create()
            except Exception as exc:
                if not isinstance(exc, TemporaryError):
                    raise
                if loop.time() - started >= self._executor.config.store_retry_s:
                    raise OrderNotRecorded(idempotency_key) from exc
                log.warning("order_insert_retry", attempt=attempt + 1, error=type(exc).__name__)
                await asyncio.sleep(_CREATE_BACKOFF.delay(min(attempt, 16), _RNG))
                attempt += 1

    async def _drive(
        self, order: Order, account: TradeAccount, progress: Progress | None = None
    ) -> Order:
        """Run the executor on ``order``, or join the run this process already has for it."""
        running = self._running.get(order.id)
        if running is None:
            running = asyncio.create_task(
                self._executor.run(order, account, progress=progress), name=f"order-{order.id}"
            )
            self._running[order.id] = running
            running.add_done_callback(self._finished)
        # a caller that goes away (a cancelled handler) does not cancel the order's run
        return await asyncio.shield(running)

    def _account(self, key: UnlockedKey) -> TradeAccount:
        return TradeAccount(owner=key.pubkey, key=key, max_priority_fee_lamports=self._max_fee)

    def _finished(self, task: asyncio.Task[Order]) -> None:
        order_id = task.get_name().removeprefix("order-")
        self._running.pop(order_id, None)
        if not task.cancelled():
            task.exception()  # retrieved: every caller that joined the run got it already

    async def recover_all(self, *, concurrency: int = 8) -> list[Order]:
        """Resolve every non-final order (run on start); returns them in their new state."""
        pending = await self._orders.list_non_final()
        log.info("recovery_start", orders=len(pending))
        gate = asyncio.Semaphore(concurrency)

        async def one(order: Order) -> Order:
            async with gate:
                try:
                    return await self.recover(order)
                except Exception as exc:  # one bad order must not stop the others
                    log.error("recovery_failed", order_id=order.id, error=repr(exc))
                    return order

        results = list(await asyncio.gather(*(one(o) for o in pending)))
        await self._refresh_gauge_quietly()
        return results

    async def run_claimer(
        self,
        stop: asyncio.Event,
        *,
        interval_s: float = CLAIM_INTERVAL_S,
        batch: int = CLAIM_BATCH,
        concurrency: int = 8,
    ) -> None:
        """Until ``stop``: every ``interval_s`` lease orders nobody holds (or whose lease lapsed)
        and recover each, at most ``concurrency`` at a time. A database outage only delays it."""
        cfg = self._executor.config
        gate = asyncio.Semaphore(concurrency)
        tasks: set[asyncio.Task[None]] = set()

        async def one(order: Order) -> None:
            async with gate:
                try:
                    await self.recover(order)
                except Exception as exc:  # its lease lapses; a later round tries again
                    log.warning("claimed_order_failed", order_id=order.id, error=repr(exc))

        try:
            while not stop.is_set():
                free = concurrency - len(tasks)
                if free > 0:
                    try:
                        claimed = await self._orders.claim_batch(
                            cfg.worker_id, cfg.lease_s, self._now(), limit=min(batch, free)
                        )
                    except Exception as exc:
                        if not isinstance(exc, TemporaryError):
                            raise
                        log.info("claimer_database_unavailable", error=type(exc).__name__)
                        claimed = []
                    for order in claimed:
                        if order.id in self._running:
                            continue
                        log.info("order_claimed", order_id=order.id, status=order.status.value)
                        task = asyncio.create_task(one(order), name=f"claimed-{order.id}")
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)
        finally:
            for task in tasks:
                task.cancel()  # orders are persisted at every step: the next owner resumes
            await asyncio.gather(*tasks, return_exceptions=True)

    async def recover(self, order: Order) -> Order:
        if order.is_final:
            return order
        if order.wallet_id is None:
            raise ValueError(f"order {order.id} has no wallet; it cannot be recovered")
        if order.status in (OrderStatus.PENDING, OrderStatus.QUOTED):
            age = (self._now() - order.created_at).total_seconds()
            if age > self._max_pending_age_s:
                return await self._orders.transition(order.id, order.status, OrderStatus.CANCELLED)
        key = await self._signers.signer(order.user_id, order.wallet_id)
        return await self._drive(order, self._account(key))

    async def refresh_gauge(self) -> None:
        counts = await self._orders.count_by_status()
        for status in OrderStatus:
            self._metrics.orders.labels(state=status.value).set(counts.get(status, 0))

    async def _refresh_gauge_quietly(self) -> None:
        """The gauge is bookkeeping: a database hiccup here must not turn a result into an error."""
        try:
            await self.refresh_gauge()
        except Exception as exc:
            log.info("orders_gauge_refresh_failed", error=type(exc).__name__)


def describe(orders: Sequence[Order]) -> list[str]:
    """One line per order for logs and the CLI."""
    return [
        f"{o.id} {o.side} {o.status} {o.error.type if o.error else ''}".rstrip() for o in orders
    ]
