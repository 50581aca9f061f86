"""A recent blockhash kept fresh in the background, so the hot path never waits for one.

``run()`` (a task of the app's TaskGroup) refreshes every ``refresh_s``; ``get()`` answers from
memory while the cached hash is younger than ``max_age_s`` and fetches (once, shared by every
waiter) only when it is missing or too old. A failed refresh keeps the previous hash: it stays
usable for ~60 s (150 blocks) after it was fetched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog
from solders.hash import Hash

from sniper_bot.chain.errors import RpcError

__all__ = ["BlockhashCache"]

log = structlog.get_logger(__name__)

Fetch = Callable[[], Awaitable[tuple[Hash, int]]]


class BlockhashCache:
    def __init__(
        self,
        fetch: Fetch,
        *,
        refresh_s: float = 2.0,
        max_age_s: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._fetch = fetch
        self._refresh_s = refresh_s
        self._max_age_s = max_age_s
        self._clock = clock
        self._sleep = sleep
        self._value: tuple[Hash, int] | None = None
        self._fetched_at = float("-inf")
        self._inflight: asyncio.Future[tuple[Hash, int]] | None = None

    @property
    def age_s(self) -> float:
        return self._clock() - self._fetched_at

    def peek(self) -> tuple[Hash, int] | None:
        """The cached value if fresh enough, without any I/O."""
        if self._value is not None and self.age_s < self._max_age_s:
            return self._value
        return None

    async def get(self) -> tuple[Hash, int]:
        """(blockhash, lastValidBlockHeight): from memory when fresh, else one shared fetch."""
        cached = self.peek()
        if cached is not None:
            return cached
        return await self.refresh()

    async def refresh(self) -> tuple[Hash, int]:
        if self._inflight is not None:
            return await asyncio.shield(self._inflight)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Hash, int]] = loop.create_future()
        self._inflight = future
        try:
            value = await self._fetch()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here; waiters re-raise it
            raise
        finally:
            self._inflight = None
        self._value = value
        self._fetched_at = self._clock()
        future.set_result(value)
        return value

    async def run(self) -> None:
        """Refresh forever (cancel to stop); failures are logged and the old hash kept."""
        while True:
            try:
                await self.refresh()
            except RpcError as exc:
                log.warning("blockhash_refresh_failed", reason=str(exc), age_s=round(self.age_s, 1))
            await self._sleep(self._refresh_s)
