"""Exponential backoff as a pure policy: the caller owns the sleep (and the random source).

``Backoff(base_s=0.5, factor=2.0, max_s=30.0, jitter=0.5).delay(attempt, rng)`` is the delay before
retry number ``attempt`` (0-based): ``min(max_s, base_s * factor**attempt)`` scaled down by up to
``jitter`` (0 = none, 1 = "full jitter") so that many clients retrying together spread out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.max_s < 0:
            raise ValueError("Backoff base_s and max_s must be >= 0 seconds")
        if self.factor < 1:
            raise ValueError("Backoff factor must be >= 1 (delays never shrink)")
        if not 0 <= self.jitter <= 1:
            raise ValueError("Backoff jitter is a fraction: pick a value between 0 and 1")

    def ceiling(self, attempt: int) -> float:
        """The delay before jitter: grows by ``factor`` per attempt, capped at ``max_s``."""
        if attempt < 0:
            raise ValueError("attempt counts from 0")
        try:
            raw = self.base_s * self.factor**attempt
        except OverflowError:
            return self.max_s
        return min(self.max_s, raw)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry ``attempt``: in ``[ceiling*(1-jitter), ceiling]``."""
        ceiling = self.ceiling(attempt)
        if self.jitter == 0:
            return ceiling
        return ceiling * (1.0 - self.jitter * rng.random())
