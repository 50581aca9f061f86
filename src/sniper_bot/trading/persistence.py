"""Every database write the swap executor makes for one order, and how each survives an outage.

The store raises ``TemporaryError`` while the database is away. Before SIGNED a write is retried
for ``store_retry_s``, then ``StoreUnavailable`` stops the worker with nothing sent; SIGNED itself
is retried only while the signed bytes' blockhash stays fresh (``SignedSwapStale`` otherwise).
From SIGNED on the swap may be on chain, so a write is retried until the database takes it, and
SIGNED -> SENT is tried once (the next resend tries again). A transition that loses its
compare-and-set raises ``OrderLost`` unless the row holds our own write that committed as the
connection dropped. While it holds an order the worker renews its lease; releasing it never
raises. What the caller of ``run`` hears meanwhile goes through ``PROGRESS``.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Literal, TypeVar

import structlog

from sniper_bot.domain.entities import Order
from sniper_bot.domain.orders import OrderError, OrderStatus
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.stores import StaleOrderState
from sniper_bot.resilience.backoff import Backoff
from sniper_bot.trading.executor_config import Boundary, ExecutorConfig
from sniper_bot.trading.ports import OrderStore

__all__ = [
    "ON_CHAIN",
    "PROGRESS",
    "NotStored",
    "OrderLost",
    "OrderWriter",
    "Progress",
    "Retry",
    "SignedSwapStale",
    "StoreUnavailable",
    "brief",
]

log = structlog.get_logger(__name__)

_T = TypeVar("_T")
ON_CHAIN = (OrderStatus.SIGNED, OrderStatus.SENT)
_STORE_BACKOFF = Backoff(base_s=0.1, factor=2.0, max_s=2.0, jitter=0.5)
_RELEASE_ATTEMPTS = 3
_FRESH_BLOCKS = 30  # a signed swap is stored (then sent) only with this many blocks left

# What the caller of one ``run`` hears while it waits: (event, order as the worker knows it).
#   "store_unavailable"  a write is waiting for the database (the order is kept as stored)
#   "landed_unrecorded"  the swap landed on chain; its result waits for the database
Progress = Callable[[str, Order], Awaitable[None]]
PROGRESS: ContextVar[Progress | None] = ContextVar("executor_progress", default=None)
Retry = Literal["budget", "forever", "once"]


class StoreUnavailable(TemporaryError):
    """The database did not take an order's write within ``store_retry_s``, before anything was
    sent. The order stays as stored; a claimer resumes (or cancels, if too old) it later."""

    def __init__(self, order: Order, operation: str) -> None:
        super().__init__(
            f"order {order.id} ({order.status.value}): the database did not take '{operation}' "
            "in time; nothing was sent, the order is resumed when its lease lapses",
            user_message=(
                "Our database stopped answering before your order was sent, so nothing has been "
                "sent yet. The order is kept: it will be finished (or cancelled, if it waited "
                "too long) automatically once the database is back, and you will get a message "
                "with the result. Do not place it again."
            ),
            retry_after=1.0,
        )
        self.order = order


class SignedSwapStale(Exception):
    """The signed swap was not stored before its blockhash got too old to send."""


class NotStored(Exception):
    """A write tried once (``retry="once"``) did not reach the database; the caller goes on."""


class OrderLost(Exception):
    """Another worker moved the order first; stop and reload."""


class OrderWriter:
    """The order store as the executor uses it: retries, compare-and-set, lease, boundary hook."""

    def __init__(
        self,
        *,
        orders: OrderStore,
        metrics: Metrics,
        config: ExecutorConfig,
        boundary: Boundary | None,
        sleep: Callable[[float], Awaitable[None]],
        monotonic: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self._orders = orders
        self._metrics = metrics
        self._config = config
        self._boundary = boundary
        self._sleep = sleep
        self._monotonic = monotonic
        self._now = now

    # -- the lease -------------------------------------------------------------------------------

    async def claim(self, order: Order) -> bool:
        cfg = self._config
        return await self.store(
            order,
            "claim",
            lambda: self._orders.claim(order.id, cfg.worker_id, cfg.lease_s, self._now()),
        )

    async def keep_lease(self, order_id: str) -> None:
        """Renew the lease while this worker holds the order, so no claimer takes it over."""
        cfg = self._config
        while True:
            await self._sleep(max(cfg.lease_s / 3, 0.05))
            try:
                if not await self._orders.claim(order_id, cfg.worker_id, cfg.lease_s, self._now()):
                    return  # final, or another worker holds it now
            except Exception as exc:  # the next renewal tries again; the lease has slack
                log.info("lease_renew_failed", order_id=order_id, error=brief(exc))

    async def release(self, order_id: str) -> None:
        """Give the lease back; a failure is logged (the lease lapses) and never raised, so it
        cannot replace the error that ended the run."""
        for attempt in range(_RELEASE_ATTEMPTS):
            try:
                await self._orders.release(order_id, self._config.worker_id)
                return
            except Exception as exc:
                if attempt + 1 == _RELEASE_ATTEMPTS or not isinstance(exc, TemporaryError):
                    log.warning(
                        "lease_release_failed",
                        order_id=order_id,
                        error=brief(exc),
                        lapses_in_s=self._config.lease_s,
                    )
                    return
                await self._sleep(_STORE_BACKOFF.delay(attempt, _RNG))

    # -- transitions -----------------------------------------------------------------------------

    async def store_signed(
        self,
        order: Order,
        last_valid: int,
        block_height: Callable[[], Awaitable[int]],
        **fields: Any,
    ) -> Order:
        """Commit SIGNED (nothing is sent before it). Through an outage it is tried again only
        while the blockhash keeps ``_FRESH_BLOCKS`` blocks: bytes that would expire on arrival
        are dropped (``SignedSwapStale``) and the swap is built again with a fresh quote."""
        started = self._monotonic()
        attempt = 0
        while True:
            try:
                return await self.move(
                    order, OrderStatus.SIGNED, retry="once", after_failure=attempt > 0, **fields
                )
            except NotStored:
                pass
            if self._monotonic() - started >= self._config.store_retry_s:
                raise StoreUnavailable(order, "move to SIGNED")
            await self._sleep(_STORE_BACKOFF.delay(min(attempt, 16), _RNG))
            attempt += 1
            try:
                height = await block_height()
            except TemporaryError:
                continue
            if height > last_valid - _FRESH_BLOCKS:
                raise SignedSwapStale(order.id)

    async def mark_sent(self, order: Order) -> Order:
        """SIGNED -> SENT is bookkeeping: with the database away the watch goes on as SIGNED
        (SIGNED -> CONFIRMED is allowed) and the next resend tries again."""
        try:
            return await self.move(order, OrderStatus.SENT, retry="once")
        except NotStored:
            return order

    async def fail(
        self, order: Order, error: OrderError, *, event: str | None = None, **fields: Any
    ) -> Order:
        self._metrics.swap_failures.labels(reason=error.type.value).inc()
        log.info(
            "order_failed", order_id=order.id, error_type=error.type.value, error=error.message
        )
        return await self.move(order, OrderStatus.FAILED, event=event, error=error, **fields)

    async def move(
        self,
        order: Order,
        new: OrderStatus,
        *,
        retry: Retry | None = None,
        event: str | None = None,
        after_failure: bool = False,
        **fields: Any,
    ) -> Order:
        failed = after_failure  # an earlier attempt failed: its COMMIT may have gone through

        def note_failure() -> None:
            nonlocal failed
            failed = True

        try:
            moved = await self.store(
                order,
                f"move to {new.value}",
                lambda: self._orders.transition(order.id, order.status, new, **fields),
                retry=retry,
                event=event,
                on_failure=note_failure,
            )
        except StaleOrderState as exc:
            ours = await self._own_commit(order, new, fields, exc) if failed else None
            if ours is None:
                raise OrderLost(order.id) from exc
            moved = ours
        self._metrics.order_transitions.labels(to_state=new.value).inc()
        await self.hook(new.value.lower(), moved)
        return moved

    async def _own_commit(
        self, order: Order, new: OrderStatus, fields: dict[str, Any], exc: StaleOrderState
    ) -> Order | None:
        """After a failed attempt, "not in the expected state" may be our own write that did
        commit (the connection dropped during COMMIT). It is ours if the row holds what we wrote;
        for SIGNED the signature decides, as only those bytes may ever be sent."""
        if exc.actual is not new:
            return None
        current = await self.reload(order)
        if "signature" in fields and current.signature != fields["signature"]:
            return None
        log.info("order_write_committed_before_drop", order_id=order.id, status=new.value)
        return current

    async def reload(self, order: Order) -> Order:
        current = await self.store(order, "reload", lambda: self._orders.get_by_id(order.id))
        if current is None:
            raise ValueError(f"order {order.id} disappeared")
        return current

    # -- one database call through an outage -----------------------------------------------------

    async def store(
        self,
        order: Order,
        operation: str,
        call: Callable[[], Awaitable[_T]],
        *,
        retry: Retry | None = None,
        event: str | None = None,
        on_failure: Callable[[], None] | None = None,
    ) -> _T:
        """Run one database call for ``order`` through an outage (see the module docstring).

        ``retry``: "budget" (``store_retry_s``, then ``StoreUnavailable``), "forever", or "once"
        (``NotStored``); by default "forever" once the swap may be on chain, else "budget".
        """
        mode = retry or ("forever" if order.status in ON_CHAIN else "budget")
        started = self._monotonic()
        attempt = 0
        while True:
            try:
                result = await call()
            except Exception as exc:
                if not isinstance(exc, TemporaryError):
                    raise
                if on_failure is not None:
                    on_failure()
                if attempt == 0:
                    log.warning(
                        "order_store_unavailable",
                        order_id=order.id,
                        status=order.status.value,
                        operation=operation,
                        error=brief(exc),
                    )
                    if mode != "once":
                        await self._tell(event or "store_unavailable", order)
                if mode == "once":
                    raise NotStored(operation) from exc
                if mode == "budget" and self._monotonic() - started >= self._config.store_retry_s:
                    raise StoreUnavailable(order, operation) from exc
                await self._sleep(_STORE_BACKOFF.delay(min(attempt, 16), _RNG))
                attempt += 1
                continue
            if attempt:
                log.info(
                    "order_store_recovered",
                    order_id=order.id,
                    operation=operation,
                    attempts=attempt + 1,
                )
            return result

    async def _tell(self, event: str, order: Order) -> None:
        progress = PROGRESS.get()
        if progress is None:
            return
        try:
            await progress(event, order)
        except Exception as exc:  # telling the user must never stop the order
            log.info("order_progress_failed", order_id=order.id, event=event, error=brief(exc))

    async def hook(self, name: str, order: Order) -> None:
        if self._boundary is not None:
            await self._boundary(name, order)


_RNG = random.Random()


def brief(exc: BaseException) -> str:
    """The failure in one line for the logs: type and first line, no statement text."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
