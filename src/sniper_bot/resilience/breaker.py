"""Circuit breakers: the effectful shell around ``breaker_policy``.

A ``CircuitBreaker`` keeps a local copy of its state so the CLOSED path (``acquire`` and
``record_success``) does no I/O. Everything that can change the state (failures, HALF_OPEN probes,
an elapsed OPEN timeout, operator resets) goes through the ``BreakerStore`` atomically, and the
local copy is re-read from the store every ``refresh_s`` so another process's transition or an
operator's ``redis-cli HSET circuit_breaker:<name> state CLOSED`` is seen within that delay.

    async with registry.get("rpc_pool").guard():   # raises CircuitOpenError when refused
        await call()

Or by hand: ``acquire()`` then exactly one of ``record_success()`` / ``record_failure()`` /
``release()`` (the call ended neither way, e.g. the caller's own bad request).

Once its registry is closed (the process is stopping) a breaker counts no more failures: a call
cut short by our own shutdown says nothing about the dependency, and the state is shared with
every replica and outlives this process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import structlog

from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.breaker_policy import (
    CLOSED_SNAPSHOT,
    BreakerConfig,
    BreakerState,
    Snapshot,
)
from sniper_bot.resilience.breaker_store import BreakerStore, MemoryBreakerStore

__all__ = [
    "BreakerConfig",
    "BreakerRegistry",
    "BreakerState",
    "BreakerStore",
    "CircuitBreaker",
    "CircuitOpenError",
    "MemoryBreakerStore",
]

log = structlog.get_logger(__name__)

DEFAULT_REFRESH_S = 0.5


class CircuitOpenError(TemporaryError):
    """The breaker refused the call without attempting it; retry after ``retry_after`` seconds."""

    def __init__(self, name: str, retry_after: float | None = None) -> None:
        super().__init__(
            f"Circuit breaker is OPEN: {name}",
            user_message="The network is not answering reliably. Please try again shortly.",
            retry_after=retry_after,
        )
        self.name = name


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        config: BreakerConfig,
        store: BreakerStore,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        refresh_s: float = DEFAULT_REFRESH_S,
    ) -> None:
        self.name = name
        self.config = config
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._refresh_ms = round(refresh_s * 1000)
        self._snap = CLOSED_SNAPSHOT
        self._loaded_at: int | None = None
        self._loading: asyncio.Future[None] | None = None
        self._seq = 0
        self._probes_held = 0
        self.stopped = False  # set when the process stops: failures are no longer counted
        metrics.set_breaker_state(name, BreakerState.CLOSED.value)

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, {self._snap.state.value})"

    # --- local view (no I/O) -----------------------------------------------------------------
    def state(self) -> BreakerState:
        return self._snap.state

    @property
    def snapshot(self) -> Snapshot:
        return self._snap

    def allows_locally(self) -> bool:
        """Would ``acquire`` likely pass? For choosing among endpoints without I/O."""
        s = self._snap
        if s.state is BreakerState.CLOSED:
            return True
        if s.state is BreakerState.OPEN:
            return self._now() - s.opened_at >= self.config.timeout_ms
        return s.probes < self.config.half_open_max_calls

    # --- calls ---------------------------------------------------------------------------------
    async def acquire(self) -> None:
        now = self._now()
        await self._maybe_refresh(now)
        s = self._snap
        if s.state is BreakerState.CLOSED:
            return
        if s.state is BreakerState.OPEN and now - s.opened_at < self.config.timeout_ms:
            self._reject(s.opened_at + self.config.timeout_ms - now)
        snap, admission = await self._store.acquire(self.name, self.config, now)
        self._apply(snap, now)
        if not admission.allowed:
            self._reject(admission.retry_after_ms)
        if admission.probe:
            self._probes_held += 1

    async def record_success(self) -> None:
        self._metrics.circuit_breaker_successes.labels(name=self.name).inc()
        if not self._take_probe():
            return  # only probe successes can change the state: the CLOSED path stays local
        now = self._now()
        self._apply(await self._store.success(self.name, self.config, now, True), now)

    async def record_failure(self) -> None:
        if self.stopped:  # our own shutdown cut the call short: not the dependency's fault
            await self.release()
            return
        self._metrics.circuit_breaker_failures.labels(name=self.name).inc()
        probe = self._take_probe()
        if not probe and self._snap.state is not BreakerState.CLOSED:
            return  # a late failure of a call admitted before the trip changes nothing
        now = self._now()
        self._apply(await self._store.failure(self.name, self.config, now, probe), now)

    async def release(self) -> None:
        if not self._take_probe():
            return
        now = self._now()
        self._apply(await self._store.release(self.name, self.config, now, True), now)

    def guard(self) -> AbstractAsyncContextManager[None]:
        """``acquire``; an ``Exception`` records a failure and propagates; otherwise a success.

        Cancellation (or any other ``BaseException``) only releases the slot.
        """
        return self._guard()

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        except Exception:
            await self.record_failure()
            raise
        except BaseException:
            await self.release()
            raise
        await self.record_success()

    async def reset(self) -> None:
        """Operator action: CLOSED with counters at 0, for every process sharing the store."""
        now = self._now()
        self._probes_held = 0
        self._apply(await self._store.force(self.name, BreakerState.CLOSED, now), now)
        log.info("circuit_breaker_reset", name=self.name)

    async def refresh(self) -> None:
        """Re-read the shared state now (normally done lazily every ``refresh_s``)."""
        self._loaded_at = None
        await self._maybe_refresh(self._now())

    # --- internals -----------------------------------------------------------------------------
    def _now(self) -> int:
        return int(self._clock() * 1000)

    def _take_probe(self) -> bool:
        if self._probes_held > 0:
            self._probes_held -= 1
            return True
        return False

    def _reject(self, retry_after_ms: int | None) -> None:
        self._metrics.circuit_breaker_rejections.labels(name=self.name).inc()
        retry = None if retry_after_ms is None else max(0.0, retry_after_ms / 1000)
        raise CircuitOpenError(self.name, retry_after=retry)

    async def _maybe_refresh(self, now: int) -> None:
        loaded = self._loaded_at
        if loaded is not None and 0 <= now - loaded < self._refresh_ms:
            return
        if self._loading is not None:
            if loaded is None:  # never loaded: the local CLOSED default is no view at all
                await asyncio.shield(self._loading)
            return  # otherwise a stale view for the length of one round trip is fine
        loading = self._loading = asyncio.get_running_loop().create_future()
        seq = self._seq
        try:
            snap = await self._store.load(self.name, self.config, now)
        finally:
            self._loading = None
            loading.set_result(None)
        if seq == self._seq:  # a step applied meanwhile is newer than this read
            self._apply(snap, now)

    def _apply(self, snap: Snapshot, now: int) -> None:
        old = self._snap.state
        self._snap = snap
        self._loaded_at = now
        self._seq += 1
        if snap.state is not old:
            self._transition(old, snap)

    def _transition(self, old: BreakerState, snap: Snapshot) -> None:
        new = snap.state
        self._metrics.set_breaker_state(self.name, new.value)
        self._metrics.circuit_breaker_transitions.labels(
            name=self.name, from_state=old.value, to_state=new.value
        ).inc()
        if new is BreakerState.OPEN:
            log.warning(
                "Circuit breaker is OPEN",
                name=self.name,
                failures=snap.failure_count,
                from_state=old.value,
                retry_in_s=self.config.timeout_s,
            )
        elif new is BreakerState.HALF_OPEN:
            log.info("Circuit breaker is HALF_OPEN", name=self.name, from_state=old.value)
        else:
            log.info("Circuit breaker is CLOSED", name=self.name, from_state=old.value)


class BreakerRegistry:
    """One breaker per name (``rpc_pool``, one per endpoint, ...), all on one store."""

    def __init__(
        self,
        store: BreakerStore,
        config: BreakerConfig,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        refresh_s: float = DEFAULT_REFRESH_S,
    ) -> None:
        self.store = store
        self.config = config
        self._metrics = metrics
        self._clock = clock
        self._refresh_s = refresh_s
        self._breakers: dict[str, CircuitBreaker] = {}
        self._stopped = False

    def get(self, name: str, config: BreakerConfig | None = None) -> CircuitBreaker:
        """The breaker called ``name``, created on first use (``config`` applies only then)."""
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = CircuitBreaker(
                name,
                config or self.config,
                self.store,
                self._metrics,
                self._clock,
                self._refresh_s,
            )
            breaker.stopped = self._stopped
            self._breakers[name] = breaker
        return breaker

    def all(self) -> list[CircuitBreaker]:
        return list(self._breakers.values())

    def stop(self) -> None:
        """The process is stopping: no breaker counts a failure from now on."""
        self._stopped = True
        for breaker in self._breakers.values():
            breaker.stopped = True

    async def close(self) -> None:
        self.stop()
        await self.store.close()
