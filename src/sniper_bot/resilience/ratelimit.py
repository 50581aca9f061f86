"""Token bucket rate limiter over an injected clock (and sleep, for tests).

``try_acquire()`` never waits; ``await acquire(timeout_s)`` waits up to ``timeout_s`` for a token
and returns whether it got one; ``block_for(seconds)`` honours a provider's ``Retry-After`` by
emptying the bucket and refusing every token until then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]

# Refill is float arithmetic (0.1 s * 10/s can be 0.999...); tolerate that much rounding.
_EPSILON = 1e-6


class TokenBucket:
    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(
                "TokenBucket rate_per_s must be > 0 (to disable limiting, do not use one)"
            )
        if burst < 1:
            raise ValueError("TokenBucket burst must be >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._blocked_until = float("-inf")

    def _refill(self) -> float:
        now = self._clock()
        if now < self._blocked_until:
            self._tokens = 0.0
            self._updated = now
            return now
        start = max(self._updated, self._blocked_until)
        if now > start:
            self._tokens = min(float(self.burst), self._tokens + (now - start) * self.rate_per_s)
        self._updated = now
        return now

    @property
    def available(self) -> float:
        """Tokens that could be taken right now (0 while blocked)."""
        self._refill()
        return self._tokens

    @property
    def blocked_for(self) -> float:
        """Seconds left of a ``block_for`` (0 when not blocked)."""
        return max(0.0, self._blocked_until - self._clock())

    def try_acquire(self, tokens: float = 1.0) -> bool:
        self._refill()
        if self._tokens + _EPSILON >= tokens:
            self._tokens = max(0.0, self._tokens - tokens)
            return True
        return False

    def wait_time(self, tokens: float = 1.0) -> float:
        """Seconds until ``tokens`` could be taken, if nobody else takes any."""
        now = self._refill()
        if now < self._blocked_until:
            return self._blocked_until - now + tokens / self.rate_per_s
        missing = tokens - self._tokens
        return 0.0 if missing <= _EPSILON else missing / self.rate_per_s

    async def acquire(self, timeout_s: float | None = None, tokens: float = 1.0) -> bool:
        """Take ``tokens``, waiting at most ``timeout_s`` (None = as long as needed)."""
        if tokens > self.burst:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of burst {self.burst}")
        deadline = None if timeout_s is None else self._clock() + timeout_s
        while True:
            if self.try_acquire(tokens):
                return True
            wait = self.wait_time(tokens)
            if deadline is not None:
                left = deadline - self._clock()
                if wait > left:
                    return False
            await self._sleep(wait)

    def block_for(self, seconds: float) -> None:
        """Refuse all tokens for ``seconds`` (e.g. an HTTP 429 ``Retry-After``); never shortens."""
        self._refill()
        self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))
        self._tokens = 0.0
