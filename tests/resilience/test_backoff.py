from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.resilience.backoff import Backoff


def test_delays_double_until_the_cap_without_jitter() -> None:
    backoff = Backoff(base_s=0.5, factor=2.0, max_s=4.0, jitter=0.0)
    rng = random.Random(1)
    assert [backoff.delay(n, rng) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    assert Backoff(max_s=30.0).ceiling(10_000) == 30.0


@pytest.mark.parametrize(
    "kwargs",
    [{"base_s": -1.0}, {"factor": 0.5}, {"jitter": 1.5}, {"jitter": -0.1}],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Backoff"):
        Backoff(**kwargs)


@given(
    base=st.floats(0.001, 10.0),
    factor=st.floats(1.0, 5.0),
    cap=st.floats(0.001, 120.0),
    jitter=st.floats(0.0, 1.0),
    attempt=st.integers(0, 5000),
    seed=st.integers(0, 2**32),
)
def test_delay_is_within_jitter_band_and_never_above_cap(
    base: float, factor: float, cap: float, jitter: float, attempt: int, seed: int
) -> None:
    backoff = Backoff(base_s=base, factor=factor, max_s=cap, jitter=jitter)
    ceiling = backoff.ceiling(attempt)
    delay = backoff.delay(attempt, random.Random(seed))
    assert ceiling <= cap
    assert ceiling * (1 - jitter) - 1e-12 <= delay <= ceiling


@given(base=st.floats(0.001, 10.0), factor=st.floats(1.0, 5.0), attempt=st.integers(0, 3000))
def test_ceiling_never_decreases(base: float, factor: float, attempt: int) -> None:
    backoff = Backoff(base_s=base, factor=factor, max_s=60.0, jitter=0.0)
    assert backoff.ceiling(attempt + 1) >= backoff.ceiling(attempt)
