"""``Leadership``: one leader per feed through a Redis lease with a fencing token.

    lead = Leadership(store, "ws", instance="host-123", lease_ms=3_000)
    await lead.run(stop)          # campaigns and renews every lease/3 until ``stop``
    lead.is_leader, lead.token    # the token every fenced write carries

Acquire is ``SET NX PX`` plus ``INCR`` of the feed's fencing counter in one script (so each new
holder gets a larger token than every holder before); renew is compare-and-``PEXPIRE`` on
``instance|token``. The local view is pessimistic: leadership ends ``lease * (1 - margin)``
after the *send* of the last successful renew, so this process stops calling itself leader
before Redis lets another one take the lease (clock drift margin). Whatever it still writes
after that is refused by the fenced publish script anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from sniper_bot.cache.redis import REDIS_ERRORS
from sniper_bot.cluster.store import ClusterStore

__all__ = ["Leadership"]

log = structlog.get_logger(__name__)


class Leadership:
    def __init__(
        self,
        store: ClusterStore,
        feed: str,
        instance: str,
        *,
        lease_ms: int = 3_000,
        margin: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[bool, int], None] | None = None,
    ) -> None:
        if lease_ms < 100:
            raise ValueError(f"lease_ms must be at least 100, got {lease_ms}")
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1), got {margin}")
        self.store = store
        self.feed = feed
        self.instance = instance
        self.lease_ms = lease_ms
        self.margin = margin
        self.clock = clock
        self.on_change = on_change
        self.token = 0
        self.valid_until = 0.0
        self.elections = 0
        self.last_error: str | None = None
        self.redis_ok = False
        self._was_leader = False

    @property
    def is_leader(self) -> bool:
        return self.token > 0 and self.clock() < self.valid_until

    @property
    def interval_s(self) -> float:
        return self.lease_ms / 3000.0

    def _changed(self) -> None:
        now = self.is_leader
        if now != self._was_leader:
            self._was_leader = now
            log.info("feed_leadership", feed=self.feed, leader=now, token=self.token,
                     instance=self.instance)  # fmt: skip
            if self.on_change is not None:
                self.on_change(now, self.token)

    async def step(self) -> bool:
        """One campaign or renewal; whether this instance leads afterwards."""
        sent = self.clock()
        valid = sent + self.lease_ms / 1000.0 * (1.0 - self.margin)
        try:
            if self.token and self.is_leader:
                if await self.store.renew(self.feed, self.instance, self.token, self.lease_ms):
                    self.valid_until = valid
                else:
                    log.warning("feed_leadership_lost", feed=self.feed, token=self.token)
                    self.token, self.valid_until = 0, 0.0
            else:
                token = await self.store.acquire(self.feed, self.instance, self.lease_ms)
                if token:
                    if token != self.token:
                        self.elections += 1
                    self.token, self.valid_until = token, valid
                else:
                    self.token, self.valid_until = 0, 0.0
            self.redis_ok, self.last_error = True, None
        except REDIS_ERRORS as exc:
            self.redis_ok = False
            self.last_error = type(exc).__name__
            # no renewal: the lease runs out by itself (valid_until), nothing to do here
        self._changed()
        return self.is_leader

    def lost(self) -> None:
        """A fenced write was refused: this instance is no longer leader."""
        self.token, self.valid_until = 0, 0.0
        self._changed()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                await self.step()
                # renew early; retry sooner while out of Redis reach
                wait = self.interval_s if self.redis_ok else min(self.interval_s, 0.2)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            await self.resign()

    async def resign(self) -> None:
        """Give the lease back (a stop): the next leader needs not wait for it to expire."""
        token, self.token, self.valid_until = self.token, 0, 0.0
        if token:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.store.release(self.feed, self.instance, token)
        self._changed()
