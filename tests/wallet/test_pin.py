"""PIN policy, Argon2id hashing off the loop, and the pure lock-out policy."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.wallet.pin import (
    Argon2Params,
    LockoutPolicy,
    PinHasher,
    PinLockedError,
    PinPolicyError,
    validate_new_pin,
)

FAST = Argon2Params(memory_kib=8_192, iterations=1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("pin", ["120583", "000111", "9081726354", "482910573618"])
def test_good_pins_pass(pin: str) -> None:
    assert validate_new_pin(pin) == pin


@pytest.mark.parametrize(
    ("pin", "fragment"),
    [
        ("12a456", "digits only"),
        ("١٢٣٤٥٦", "digits only"),  # Arabic-Indic digits: isdigit() but not ASCII
        ("12345", "6 to 12"),
        ("1234567890123", "6 to 12"),
        ("111111", "too easy"),
        ("123456", "too easy"),
        ("987654", "too easy"),
    ],
)
def test_bad_pins_are_refused(pin: str, fragment: str) -> None:
    with pytest.raises(PinPolicyError, match=fragment) as info:
        validate_new_pin(pin)
    assert pin not in str(info.value)


async def test_hash_and_verify_with_the_default_parameters() -> None:
    hasher = PinHasher()
    encoded = await hasher.hash("120583")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "120583" not in encoded
    assert await hasher.verify("120583", encoded)
    assert not await hasher.verify("120584", encoded)
    assert not await hasher.verify("120583", "not a phc string")


async def test_old_parameters_still_verify_after_raising_them() -> None:
    encoded = await PinHasher(FAST).hash("120583")
    assert await PinHasher().verify("120583", encoded)


async def test_hashing_runs_off_the_event_loop() -> None:
    """While Argon2id runs, the loop keeps ticking: a 1 ms ticker keeps counting."""
    hasher = PinHasher(Argon2Params(memory_kib=65_536, iterations=3))
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    start = time.perf_counter()
    await hasher.hash("120583")
    elapsed = time.perf_counter() - start
    done.set()
    await task
    # A blocked loop would see ~1 tick; an unblocked one sees many while the hash ran.
    assert ticks >= 5 or elapsed < 0.01


def test_lockout_after_max_attempts_then_doubling_up_to_the_cap() -> None:
    policy = LockoutPolicy(
        max_attempts=5, base_lock=timedelta(minutes=15), max_lock=timedelta(hours=24)
    )
    assert [policy.lock_until(n, T0) for n in range(5)] == [None] * 5
    assert policy.lock_until(5, T0) == T0 + timedelta(minutes=15)
    assert policy.lock_until(6, T0) == T0 + timedelta(minutes=30)
    assert policy.lock_until(7, T0) == T0 + timedelta(minutes=60)
    assert policy.lock_until(100, T0) == T0 + timedelta(hours=24)
    assert policy.attempts_left(3) == 2
    assert policy.attempts_left(9) == 0


@given(failures=st.integers(0, 10_000), minutes=st.integers(0, 10_000))
def test_lock_is_never_longer_than_the_cap_and_grows_with_failures(
    failures: int, minutes: int
) -> None:
    policy = LockoutPolicy()
    now = T0 + timedelta(minutes=minutes)
    this = policy.lock_until(failures, now)
    more = policy.lock_until(failures + 1, now)
    if this is None:
        assert failures < policy.max_attempts
    else:
        assert now < this <= now + policy.max_lock
        assert more is not None
        assert more >= this


def test_check_raises_only_while_locked() -> None:
    policy = LockoutPolicy()
    until = T0 + timedelta(minutes=15)
    with pytest.raises(PinLockedError, match="15 more minute") as info:
        policy.check(until, T0)
    assert info.value.locked_until == until
    policy.check(until, until)
    policy.check(None, T0)
