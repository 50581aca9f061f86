"""The one Redis connection of the process, and its health.

Redis is optional at every moment: ``REDIS_URL=""`` disables it (``status() == "disabled"``);
when it stops answering, callers that hit an error call ``mark_failed(exc)``, the manager flips
to ``available = False`` (logging ``redis_unavailable`` once, ``redis_up`` 0, status "degraded")
and a background task pings with backoff until it answers again (``redis_available`` once,
``redis_up`` 1). While unavailable, callers use their in-process fallback and do no Redis I/O.

Health is also active: the first ``status()`` (the app logs it at start, ``/health`` asks it)
starts a background probe that, while Redis is thought up, sends a ``PING`` every
``probe_interval_s`` with ``probe_timeout_s`` to answer; one that fails or times out calls
``mark_failed``. So a Redis that stopped answering before any caller's command failed
(``CLIENT PAUSE``, a hung server) is "degraded" within interval + timeout (1 s by default) and
new callers stop waiting on it; ``status()`` itself never waits. A manager nobody asks for its
status sends nothing (the hot path's no-I/O guarantee). ``await probe()`` is one such PING for a
caller that wants the answer now.

The client sits on a ``BlockingConnectionPool`` (redis-py 8's plain pool raises at once when
exhausted) with short socket timeouts and a few fast retries, so a dead Redis costs milliseconds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff

__all__ = ["REDIS_ERRORS", "RedisManager", "RedisStatus"]

log = structlog.get_logger(__name__)

RedisStatus = Literal["ok", "degraded", "disabled"]

# What a Redis call may raise when the server is gone or sick (catch these, then mark_failed).
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)
PROBE_TIMEOUT_S = 0.5  # a PING slower than this is an outage for a sniper's hot path
PROBE_INTERVAL_S = 0.5  # between two PINGs of the background probe


class RedisManager:
    def __init__(
        self,
        url: str | None,
        *,
        metrics: Metrics,
        max_connections: int = 50,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        socket_timeout_s: float = 1.0,
        pool_timeout_s: float = 5.0,
        reconnect_backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
        probe_interval_s: float = PROBE_INTERVAL_S,
    ) -> None:
        if probe_timeout_s <= 0 or probe_interval_s <= 0:
            raise ValueError(
                f"probe_timeout_s and probe_interval_s must be > 0, got "
                f"{probe_timeout_s} and {probe_interval_s}"
            )
        self.url = url or None
        self.client: Redis | None = None
        self.available = False
        self._metrics = metrics
        self._max_connections = max_connections
        self._max_retries = max_retries
        self._clock = clock
        self._socket_timeout_s = socket_timeout_s
        self._pool_timeout_s = pool_timeout_s
        self._backoff = reconnect_backoff or Backoff(base_s=0.05, factor=2.0, max_s=5.0, jitter=0.5)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._pool: BlockingConnectionPool | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._down_since: float | None = None
        self._closed = False
        self._listeners: list[Callable[[bool], None]] = []
        self._probe_timeout_s = probe_timeout_s
        self._probe_interval_s = probe_interval_s
        self._probe_task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (never raises for an unreachable Redis: it starts degraded and keeps trying)."""
        if self.url is None:
            self._metrics.redis_up.set(0)
            log.info("redis_disabled", reason="REDIS_URL is empty; using in-process fallbacks")
            return
        self._pool = BlockingConnectionPool.from_url(
            self.url,
            max_connections=self._max_connections,
            timeout=self._pool_timeout_s,
            socket_timeout=self._socket_timeout_s,
            socket_connect_timeout=self._socket_timeout_s,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.005), self._max_retries),
        )
        self.client = Redis(connection_pool=self._pool)
        try:
            await self.client.ping()
        except REDIS_ERRORS as exc:
            self.available = True  # so mark_failed logs the loss exactly once
            self.mark_failed(exc)
            return
        self._set_up()

    async def close(self) -> None:
        self._closed = True
        task, self._reconnect_task = self._reconnect_task, None
        probing, self._probe_task = self._probe_task, None
        for pending in (task, probing):
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()
        if self._pool is not None:
            await self._pool.disconnect()
        self.available = False

    # --- health ----------------------------------------------------------------------------
    def status(self) -> RedisStatus:
        """What is known now; the first call starts the background probe (module docstring)."""
        self._start_probe()
        return self._known()

    async def probe(self, timeout_s: float | None = None) -> RedisStatus:
        """PING Redis now, waiting at most ``timeout_s`` (default ``probe_timeout_s``); a failure
        or a timeout marks it failed (degraded, reconnecting). Returns the status after it.
        While Redis is already degraded nothing is sent: the reconnect task is pinging."""
        client = self.client
        if self._closed or client is None or not self.available:
            return self._known()
        try:
            async with asyncio.timeout(timeout_s or self._probe_timeout_s):
                await client.ping()
        except REDIS_ERRORS as exc:
            if isinstance(exc, TimeoutError):
                exc = TimeoutError(f"PING unanswered after {timeout_s or self._probe_timeout_s} s")
            self.mark_failed(exc)
        return self._known()

    def _known(self) -> RedisStatus:
        if self.url is None:
            return "disabled"
        return "ok" if self.available else "degraded"

    def _start_probe(self) -> None:
        if self._closed or self.client is None:
            return
        if self._probe_task is not None and not self._probe_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # asked outside a loop (a CLI line): report what is known
            return
        self._probe_task = loop.create_task(self._probe_forever(), name="redis-probe")

    async def _probe_forever(self) -> None:
        while not self._closed:
            await self.probe()  # nothing is sent while degraded: the reconnect task pings
            await asyncio.sleep(self._probe_interval_s)

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(available)`` on every loss and every recovery (e.g. to resync state)."""
        self._listeners.append(listener)

    def mark_failed(self, exc: BaseException) -> None:
        """A Redis command failed: switch to degraded mode and reconnect in the background."""
        if self._closed or self.client is None:
            return
        if self.available:
            self.available = False
            self._down_since = self._clock()
            self._metrics.redis_up.set(0)
            log.warning(
                "redis_unavailable",
                error=f"{type(exc).__name__}: {exc}"[:300],
                action="using in-process fallback; reconnecting in the background",
            )
            self._notify(False)
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(
                self._reconnect(), name="redis-reconnect"
            )

    # --- internals -------------------------------------------------------------------------
    def _set_up(self) -> None:
        self.available = True
        self._metrics.redis_up.set(1)
        if self._down_since is None:
            log.info("redis_connected")
        else:
            log.info("redis_available", down_for_s=round(self._clock() - self._down_since, 3))
            self._down_since = None
            self._notify(True)

    def _notify(self, available: bool) -> None:
        for listener in self._listeners:
            try:
                listener(available)
            except Exception:  # a faulty listener must not stop the reconnect logic
                log.exception("redis_listener_failed")

    async def _reconnect(self) -> None:
        client, pool = self.client, self._pool
        if client is None or pool is None:
            return
        await pool.disconnect(inuse_connections=False)
        attempt = 0
        while not self._closed:
            await self._sleep(self._backoff.delay(attempt, self._rng))
            attempt += 1
            try:
                await client.ping()
            except REDIS_ERRORS:
                continue
            self._set_up()
            return
