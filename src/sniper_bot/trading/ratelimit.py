"""A client-side limiter driven by the server's ``x-ratelimit-*`` headers (Jupiter 2026).

Jupiter sends ``x-ratelimit-remaining`` (signed, may be <= 0) and ``x-ratelimit-reset`` (absolute
Unix seconds when one slot frees) on 200 and 429 responses. The policy is pure: it takes the clock
as a function and returns how long to wait; the client does the sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["HeaderRateLimiter", "RateLimitDecision"]


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    wait_s: float

    @property
    def must_wait(self) -> bool:
        return self.wait_s > 0


def _float(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw.strip())
    except ValueError:
        return None


class HeaderRateLimiter:
    """Spaces requests at ``rps`` (if set) and blocks until ``x-ratelimit-reset`` when exhausted."""

    def __init__(self, clock: Callable[[], float], *, rps: float | None = None) -> None:
        self._clock = clock
        self._interval = 1.0 / rps if rps else 0.0
        self._next_slot = 0.0
        self._blocked_until = 0.0

    def reserve(self) -> RateLimitDecision:
        """Claim the next request slot; the caller waits ``wait_s`` before sending."""
        now = self._clock()
        start = max(now, self._next_slot, self._blocked_until)
        self._next_slot = start + self._interval
        return RateLimitDecision(wait_s=start - now)

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Learn from a response; returns the retry-after seconds for a 429 (None otherwise)."""
        now = self._clock()
        remaining = _float(headers, "x-ratelimit-remaining")
        reset = _float(headers, "x-ratelimit-reset")
        retry_after = _float(headers, "retry-after")
        if status == 429:
            until = now + (retry_after if retry_after is not None else 1.0)
            if reset is not None and reset > now:
                until = reset if retry_after is None else max(until, reset)
            self._blocked_until = max(self._blocked_until, until)
            return max(0.0, self._blocked_until - now)
        if remaining is not None and remaining <= 0 and reset is not None and reset > now:
            self._blocked_until = max(self._blocked_until, reset)
        return None

    @property
    def blocked_until(self) -> float:
        return self._blocked_until
