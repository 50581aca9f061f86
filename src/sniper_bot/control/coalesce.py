"""``SharedReads``: chain reads every user asks for at once, made once.

When a coin is hot, hundreds of users paste the same mint within a second: each token card reads
the mint account, its metadata, its bonding curve and a 1 SOL quote, identical for all of them,
and every read counts against the RPC provider's rate limit (a few dozen a second), so the
cards would be answered seconds apart. Here concurrent callers of the same key share one call in
flight, and an answer is reused for ``ttl_s`` (a second: a card is a glance, the buy re-reads and
re-quotes everything). Failures are never kept: the next caller tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

__all__ = ["SharedReads"]

T = TypeVar("T")


class SharedReads:
    def __init__(
        self,
        ttl_s: float = 1.0,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._answers: dict[Hashable, tuple[float, Any]] = {}
        self._pending: dict[Hashable, asyncio.Future[Any]] = {}

    async def get(
        self,
        key: Hashable,
        fetch: Callable[[], Awaitable[T]],
        *,
        keep: Callable[[T], bool] = lambda _value: True,
    ) -> T:
        """``fetch()``'s answer for ``key``: a fresh kept one, the one in flight, or a new call.
        ``keep`` says whether an answer may be reused (e.g. not "no such account" yet)."""
        hit = self._answers.get(key)
        if hit is not None and self._clock() - hit[0] < self._ttl_s:
            return cast(T, hit[1])
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(fetch())
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done, keep))
        # one caller cancelled (its user left) does not cancel the others' read
        return cast(T, await asyncio.shield(pending))

    def _settle(
        self, key: Hashable, done: asyncio.Future[Any], keep: Callable[[Any], bool]
    ) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if done.cancelled() or done.exception() is not None or not keep(done.result()):
            return
        if len(self._answers) >= self._max_entries:
            now = self._clock()
            self._answers = {k: v for k, v in self._answers.items() if now - v[0] < self._ttl_s}
            if len(self._answers) >= self._max_entries:
                self._answers.clear()
        self._answers[key] = (self._clock(), done.result())
