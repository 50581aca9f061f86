from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.resilience.ratelimit import TokenBucket

from .fakes import FakeClock


class SleepingClock(FakeClock):
    """``sleep`` advances the fake clock instead of waiting."""

    def __init__(self) -> None:
        super().__init__(1000.0)
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


def test_burst_then_refill_at_rate() -> None:
    clock = FakeClock(1000.0)
    bucket = TokenBucket(rate_per_s=10, burst=3, clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.1)
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    clock.advance(60)
    assert bucket.available == 3  # never above burst


def test_retry_after_blocks_every_token_until_it_passes() -> None:
    clock = FakeClock(1000.0)
    bucket = TokenBucket(rate_per_s=100, burst=5, clock=clock)
    bucket.block_for(2.0)
    clock.advance(1.99)
    assert bucket.try_acquire() is False
    assert bucket.available == 0
    bucket.block_for(0.005)  # a shorter Retry-After never shortens the block
    clock.advance(0.01)
    assert bucket.blocked_for == 0
    clock.advance(0.01)
    assert bucket.try_acquire() is True  # refill counts only from the end of the block
    assert bucket.try_acquire() is False


async def test_acquire_waits_for_the_next_token() -> None:
    clock = SleepingClock()
    bucket = TokenBucket(rate_per_s=4, burst=1, clock=clock, sleep=clock.sleep)
    assert await bucket.acquire(timeout_s=1.0) is True
    assert await bucket.acquire(timeout_s=1.0) is True
    assert clock.slept == [pytest.approx(0.25)]


async def test_acquire_gives_up_when_the_wait_exceeds_the_timeout() -> None:
    clock = SleepingClock()
    bucket = TokenBucket(rate_per_s=1, burst=1, clock=clock, sleep=clock.sleep)
    bucket.block_for(5.0)
    assert await bucket.acquire(timeout_s=2.0) is False
    assert clock.slept == []
    assert await bucket.acquire(timeout_s=None) is True
    assert sum(clock.slept) == pytest.approx(6.0)


@given(
    rate=st.floats(0.5, 50),
    burst=st.integers(1, 20),
    steps=st.lists(st.floats(0, 2), min_size=1, max_size=100),
)
def test_never_grants_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, steps: list[float]
) -> None:
    clock = FakeClock(1000.0)
    bucket = TokenBucket(rate_per_s=rate, burst=burst, clock=clock)
    start = clock.now
    granted = 0
    for dt in steps:
        clock.advance(dt)
        while bucket.try_acquire():
            granted += 1
        assert 0 <= bucket.available <= burst
    assert granted <= burst + rate * (clock.now - start) + 1e-6
