"""The endpoint pool: pick the best allowed endpoint, fail over within a deadline, degrade reads.

One breaker per endpoint (``rpc:<name>``) plus the pool breaker ``rpc_pool``; one token bucket
per endpoint, emptied for ``Retry-After`` seconds on a 429. A call walks the endpoints in order
(not behind > priority > observed latency) and moves on after a retryable failure, but resends a
non-idempotent request only when the failure proves it was not processed. ``read`` answers from
the bounded stale cache when no endpoint could (marked ``stale``); writes fail fast with
``RpcUnavailableError``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

import aiohttp
import structlog

from sniper_bot.chain import wire
from sniper_bot.chain.client import JsonRpcClient
from sniper_bot.chain.endpoint_state import (
    Breaker,
    BreakerSource,
    EndpointState,
    EndpointStatus,
    Read,
    outcome,
    state_name,
)
from sniper_bot.chain.endpoints import EndpointConfig, redact_url
from sniper_bot.chain.errors import (
    RpcClientClosed,
    RpcError,
    RpcNodeBehind,
    RpcRateLimited,
    RpcTimeout,
    RpcUnavailableError,
)
from sniper_bot.chain.health import probe_health, unavailable_error
from sniper_bot.errors import ConfigError, TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.lru import LruCache
from sniper_bot.resilience.ratelimit import TokenBucket

__all__ = ["Breaker", "BreakerSource", "EndpointStatus", "Read", "RpcPool"]

T = TypeVar("T")
log = structlog.get_logger(__name__)

POOL_BREAKER = "rpc_pool"
DEFAULT_HEALTH_INTERVAL_S = 10.0
_DEFAULT_RETRY_AFTER_S = 1.0


class RpcPool:
    """Failover over ``endpoints``; built once by the composition root, ``close()`` at exit."""

    def __init__(
        self,
        endpoints: Sequence[EndpointConfig],
        breakers: BreakerSource,
        metrics: Metrics,
        session: aiohttp.ClientSession | None = None,
        default_timeout_s: float = 2.0,
        cache_items: int = 5000,
        clock: Callable[[], float] = time.monotonic,
        *,
        deadline_s: float | None = None,
        max_slot_lag: int = 50,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        health_interval_s: float = DEFAULT_HEALTH_INTERVAL_S,
    ) -> None:
        if not endpoints:
            raise ConfigError("RpcPool needs at least one endpoint (set SOLANA_RPC_URL)")
        names = [e.name for e in endpoints]
        if len(set(names)) != len(names):
            raise ConfigError(f"RPC endpoint names must be unique, got {names}")
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._timeout_s = default_timeout_s
        self._deadline_s = deadline_s if deadline_s is not None else 3 * default_timeout_s
        self._max_slot_lag = max_slot_lag
        self.health_interval_s = health_interval_s
        self._session = session
        self._owns_session = session is None
        self._pool_breaker = breakers.get(POOL_BREAKER)
        self._endpoints = [
            EndpointState(
                cfg,
                breakers.get(f"rpc:{cfg.name}"),
                TokenBucket(cfg.rate_per_s, cfg.burst, clock) if cfg.rate_per_s > 0 else None,
            )
            for cfg in sorted(endpoints, key=lambda e: e.priority)
        ]
        self._cache: LruCache[Hashable, Any] = LruCache(cache_items, clock)
        self._background: set[asyncio.Task[Any]] = set()
        self._closing = False

    # ----------------------------------------------------------------------------- lifecycle
    async def close(self) -> None:
        """Stop: from now on a failing call is this process's doing, never an endpoint's."""
        self._closing = True
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RpcPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _client(self, ep: EndpointState) -> JsonRpcClient:
        if ep.client is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            ep.client = JsonRpcClient(
                ep.name,
                ep.config.url,
                self._session,
                headers=ep.config.headers,
                default_timeout_s=self._timeout_s,
            )
        return ep.client

    # ----------------------------------------------------------------------------- inspection
    @property
    def endpoint_configs(self) -> list[EndpointConfig]:
        return [ep.config for ep in self._endpoints]

    @property
    def cache(self) -> LruCache[Hashable, Any]:
        return self._cache

    def status(self) -> list[EndpointStatus]:
        return [
            EndpointStatus(
                name=ep.name,
                url=redact_url(ep.config.url),
                priority=ep.config.priority,
                breaker_state=state_name(ep.breaker),
                latency_ms=None if ep.latency_s is None else ep.latency_s * 1000,
                slot=ep.slot,
                behind=ep.behind,
                rate_limited_for_s=ep.limiter.blocked_for if ep.limiter else 0.0,
            )
            for ep in self._endpoints
        ]

    def pool_state(self) -> str:
        return state_name(self._pool_breaker)

    def _ordered(self) -> list[EndpointState]:
        fastest = min((e.latency_s for e in self._endpoints if e.latency_s is not None), default=0)

        def key(ep: EndpointState) -> tuple[bool, bool, int, float]:
            lat = ep.latency_s if ep.latency_s is not None else fastest
            slow = lat > max(3 * fastest, fastest + 0.2)
            return (ep.behind, slow, ep.config.priority, lat)

        return sorted((e for e in self._endpoints if e.breaker.allows_locally()), key=key)

    # ----------------------------------------------------------------------------- calls
    async def request(
        self,
        method: str,
        params: Sequence[Any] | None = None,
        *,
        parse: Callable[[Any], T] | None = None,
        idempotent: bool = True,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
    ) -> T:
        """One call with failover; raises ``RpcUnavailableError`` when no endpoint answered."""
        value, _ = await self._guarded_call(
            method, params, parse, idempotent, timeout_s, deadline_s, fanout=1
        )
        return value

    async def read(
        self,
        method: str,
        params: Sequence[Any] | None,
        *,
        cache_key: Hashable,
        parse: Callable[[Any], T] | None = None,
        ttl_s: float = 30.0,
        max_stale_s: float | None = None,
    ) -> Read[T]:
        """A read that falls back to the last answer (``stale=True``) when no endpoint answers."""
        try:
            value, endpoint = await self._guarded_call(
                method, params, parse, True, None, None, fanout=1
            )
        except RpcError as exc:
            if not exc.retryable:
                raise
            hit = self._cache.get_stale(cache_key)
            if hit is None or (max_stale_s is not None and hit[1] > max_stale_s):
                raise
            self._metrics.rpc_degraded_reads.labels(method=method).inc()
            log.warning("rpc_degraded_read", method=method, age_s=round(hit[1], 3), cause=str(exc))
            return Read(hit[0], stale=True, age_s=hit[1])
        self._cache.set(cache_key, value, ttl_s)
        return Read(value, endpoint=endpoint)

    async def send(
        self,
        method: str,
        params: Sequence[Any],
        *,
        parse: Callable[[Any], T] | None = None,
        fanout: int = 1,
        timeout_s: float | None = None,
    ) -> T:
        """An idempotent write (same signed transaction) sent to ``fanout`` endpoints at once."""
        value, _ = await self._guarded_call(
            method, params, parse, True, timeout_s, None, fanout=max(1, fanout)
        )
        return value

    async def _guarded_call(
        self,
        method: str,
        params: Sequence[Any] | None,
        parse: Callable[[Any], T] | None,
        idempotent: bool,
        timeout_s: float | None,
        deadline_s: float | None,
        *,
        fanout: int,
    ) -> tuple[T, str]:
        deadline = self._clock() + (deadline_s if deadline_s is not None else self._deadline_s)
        if self._closing:
            raise RpcClientClosed(f"RPC pool is closed: {method} was not sent", sent=False)
        try:
            await self._pool_breaker.acquire()
        except TemporaryError as exc:
            raise RpcUnavailableError(
                f"RPC unavailable: circuit breaker {POOL_BREAKER} is OPEN after repeated "
                f"failures of every endpoint; {method} was not attempted",
                retry_after=exc.retry_after,
            ) from exc
        try:
            tried: set[str] = set()
            errors: list[RpcError] = []
            if fanout > 1:
                won = await self._fanout(method, params, parse, fanout, timeout_s, tried, errors)
                if won is not None:
                    await self._pool_breaker.record_success()
                    return won
            result = await self._failover(
                method, params, parse, idempotent, timeout_s, deadline, tried, errors
            )
        except RpcError as exc:
            if self._ours(exc):
                await self._pool_breaker.release()
            elif exc.retryable:
                await self._pool_breaker.record_failure()
            else:  # an endpoint answered: the pool works, the request was refused
                await self._pool_breaker.record_success()
            raise
        except BaseException:
            await self._pool_breaker.release()
            raise
        await self._pool_breaker.record_success()
        return result

    def _ours(self, exc: RpcError) -> bool:
        """A failure this process caused by stopping (closed session, closed pool)."""
        return isinstance(exc, RpcClientClosed) or self._closing

    async def _failover(
        self,
        method: str,
        params: Sequence[Any] | None,
        parse: Callable[[Any], T] | None,
        idempotent: bool,
        timeout_s: float | None,
        deadline: float,
        tried: set[str],
        errors: list[RpcError],
    ) -> tuple[T, str]:
        refused: list[str] = []
        while True:
            waits: list[float] = []
            for ep in self._ordered():
                if ep.name in tried:
                    continue
                remaining = deadline - self._clock()
                if remaining <= 0:
                    break
                if ep.limiter is not None and not ep.limiter.try_acquire():
                    waits.append(ep.limiter.wait_time())
                    continue
                tried.add(ep.name)
                try:
                    await ep.breaker.acquire()
                except TemporaryError:
                    refused.append(ep.name)
                    continue
                per_call = min(timeout_s or self._timeout_s, remaining)
                try:
                    return await self._attempt(ep, method, params, parse, per_call), ep.name
                except RpcError as exc:
                    if self._ours(exc) or not exc.retryable:
                        raise
                    if not idempotent and not exc.not_processed:
                        raise
                    errors.append(exc)
                    self._metrics.rpc_failovers.labels(
                        from_endpoint=ep.name, reason=outcome(exc)
                    ).inc()
                    log.info("rpc_failover", endpoint=ep.name, method=method, reason=str(exc))
            remaining = deadline - self._clock()
            if waits and 0 < min(waits) <= remaining:
                await self._sleep(min(waits))
                continue
            raise unavailable_error(method, errors, refused, [ep.name for ep in self._endpoints])

    async def _fanout(
        self,
        method: str,
        params: Sequence[Any] | None,
        parse: Callable[[Any], T] | None,
        fanout: int,
        timeout_s: float | None,
        tried: set[str],
        errors: list[RpcError],
    ) -> tuple[T, str] | None:
        targets: list[EndpointState] = []
        for ep in self._ordered():
            if len(targets) >= fanout:
                break
            if ep.limiter is not None and not ep.limiter.try_acquire():
                continue
            try:
                await ep.breaker.acquire()
            except TemporaryError:
                continue
            tried.add(ep.name)
            targets.append(ep)
        per_call = timeout_s or self._timeout_s
        tasks = {
            asyncio.create_task(self._attempt(ep, method, params, parse, per_call)): ep
            for ep in targets
        }
        pending: set[asyncio.Task[T]] = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                # retrieve every finished copy's outcome (no "exception never retrieved"), and
                # prefer a success over an error that finished in the same round
                outcomes = [(task, task.exception()) for task in done]
                for task, exc in outcomes:
                    if exc is None:
                        for other in pending:  # let the other copies land too; tracked
                            self._track(other)
                        pending = set()
                        return task.result(), tasks[task].name
                for task, exc in outcomes:
                    if exc is None:  # unreachable: a success returned above
                        continue
                    if not isinstance(exc, RpcError) or not exc.retryable or self._ours(exc):
                        raise exc
                    errors.append(exc)
                    self._metrics.rpc_failovers.labels(
                        from_endpoint=tasks[task].name, reason=outcome(exc)
                    ).inc()
        finally:
            for task in pending:  # cancelled copies still settle their breakers: tracked
                task.cancel()
                self._track(task)
        return None

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its outcome is already in metrics and breakers

    # ----------------------------------------------------------------------------- batches
    def send_targets(self, fanout: int | None = None) -> list[str]:
        """The endpoints a fan-out write goes to now, best first (breakers that allow locally)."""
        ordered = self._ordered()
        return [ep.name for ep in ordered[: fanout if fanout is not None else len(ordered)]]

    async def batch_on(
        self,
        endpoint: str,
        method: str,
        params: Sequence[Sequence[Any]],
        *,
        timeout_s: float | None = None,
    ) -> list[Any]:
        """``method`` once per entry of ``params`` in ONE JSON-RPC batch (one HTTP POST) to
        ``endpoint``, through its breaker and rate limit (one token per HTTP request). Entries
        are results or that call's ``RpcError``; a failure of the whole request is raised
        classified (the breaker learns it; metrics count it as ``<method>[batch]``). No failover
        and no pool breaker: the caller (``RelayFanout.send_many``) asks every endpoint itself."""
        ep = await self._admit(endpoint, f"{method}[batch]")
        calls = [(method, p) for p in params]
        value: list[Any] = await self._attempt(
            ep, f"{method}[batch]", None, None, timeout_s or self._timeout_s, batch=calls
        )
        return value

    async def call_on(
        self,
        endpoint: str,
        method: str,
        params: Sequence[Any] | None,
        *,
        parse: Callable[[Any], T] | None = None,
        timeout_s: float | None = None,
    ) -> T:
        """One request to the named endpoint only (no failover), through its breaker and limit."""
        ep = await self._admit(endpoint, method)
        return await self._attempt(ep, method, params, parse, timeout_s or self._timeout_s)

    async def _admit(self, endpoint: str, method: str) -> EndpointState:
        if self._closing:
            raise RpcClientClosed(f"RPC pool is closed: {method} was not sent", sent=False)
        ep = next((e for e in self._endpoints if e.name == endpoint), None)
        if ep is None:
            raise ValueError(f"no RPC endpoint named {endpoint!r} in the pool")
        if ep.limiter is not None and not ep.limiter.try_acquire():
            err = RpcRateLimited(
                f"{endpoint}: local rate limit reached; {method} was not sent",
                endpoint=endpoint,
                retry_after=ep.limiter.wait_time(),
            )
            err.not_processed = True
            raise err
        try:
            await ep.breaker.acquire()
        except TemporaryError as exc:
            refused = RpcUnavailableError(
                f"{endpoint}: circuit breaker rpc:{endpoint} is OPEN; {method} was not sent",
                retry_after=exc.retry_after,
            )
            refused.not_processed = True
            raise refused from exc
        return ep

    async def _attempt(
        self,
        ep: EndpointState,
        method: str,
        params: Sequence[Any] | None,
        parse: Callable[[Any], T] | None,
        timeout_s: float,
        *,
        batch: Sequence[tuple[str, Sequence[Any] | None]] | None = None,
    ) -> T:
        """One request to one endpoint whose breaker already admitted it (``batch``: those
        calls in one POST, ``method`` is then only the metrics label)."""
        client = self._client(ep)
        started = self._clock()
        try:
            if batch is not None:
                raw: Any = await client.batch(batch, timeout_s=timeout_s)
            else:
                raw = await client.call(method, params, timeout_s=timeout_s)
            value: T = raw if parse is None else wire.guarded(ep.name, method, lambda: parse(raw))
        except RpcError as exc:
            if self._ours(exc):  # our own stop: nothing learned about the endpoint
                self._observe(ep, method, "cancelled", self._clock() - started)
                await ep.breaker.release()
                raise
            self._observe(ep, method, outcome(exc), self._clock() - started)
            if isinstance(exc, RpcRateLimited) and ep.limiter is not None:
                ep.limiter.block_for(exc.retry_after or _DEFAULT_RETRY_AFTER_S)
            elif isinstance(exc, RpcNodeBehind):
                ep.behind = True
            elif isinstance(exc, RpcTimeout):
                ep.observe_latency(timeout_s)
            if exc.retryable:
                await ep.breaker.record_failure()
            else:
                await ep.breaker.record_success()
            raise
        except BaseException:
            await ep.breaker.release()
            raise
        elapsed = self._clock() - started
        self._observe(ep, method, "ok", elapsed)
        ep.observe_latency(elapsed)
        await ep.breaker.record_success()
        return value

    def _observe(self, ep: EndpointState, method: str, outcome: str, seconds: float) -> None:
        self._metrics.rpc_requests.labels(endpoint=ep.name, method=method, outcome=outcome).inc()
        self._metrics.rpc_request_duration_seconds.labels(endpoint=ep.name, method=method).observe(
            max(seconds, 0.0)
        )

    # ----------------------------------------------------------------------------- health
    async def check_health(self) -> list[EndpointStatus]:
        """Probe every endpoint (getHealth + getSlot in one batch); mark the lagging ones behind;
        probe refused endpoints through their breakers so they close again without traffic."""
        await probe_health(
            self._endpoints, self._client, self._metrics, self._max_slot_lag, self._timeout_s
        )
        return self.status()

    async def run_health_checks(self, interval_s: float | None = None) -> None:
        """Background loop for the app's TaskGroup, every ``health_interval_s``; cancel to stop."""
        while True:
            await self.check_health()
            await self._sleep(self.health_interval_s if interval_s is None else interval_s)
