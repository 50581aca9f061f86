"""The per-user PIN: policy, Argon2id hashing off the event loop, and the lock-out policy.

PIN policy: 6 to 12 ASCII digits, not one repeated digit and not a straight run (123456, 987654).
Six digits is the floor because the PIN is the only factor between a hijacked Telegram account and
an export or a withdrawal; the lock-out below caps online guessing at a handful of tries a day.

Hashing: Argon2id (RFC 9106) through cryptography's native implementation, PHC-encoded
(``$argon2id$v=19$m=19456,t=2,p=1$salt$hash``), so parameters can be raised later and old hashes
still verify. Every derivation runs in ``asyncio.to_thread``: one inline run stalls the loop for
tens of milliseconds (STACK-NOTES 7).

Lock-out: after ``max_attempts`` consecutive wrong PINs the PIN is locked for ``base_lock``; each
further wrong PIN once the lock has expired locks again for twice as long, up to ``max_lock``.
A right PIN resets the count. The policy is pure (counts and datetimes in, datetime out).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from sniper_bot.errors import PermanentError

__all__ = [
    "PIN_MAX_DIGITS",
    "PIN_MIN_DIGITS",
    "Argon2Params",
    "LockoutPolicy",
    "PinHasher",
    "PinLockedError",
    "PinPolicyError",
    "WrongPinError",
    "validate_new_pin",
]

PIN_MIN_DIGITS = 6
PIN_MAX_DIGITS = 12


class PinPolicyError(PermanentError):
    """A new PIN breaks the policy; the message says which rule."""

    def __init__(self, message: str) -> None:
        super().__init__(message, user_message=message)


class WrongPinError(PermanentError):
    """The PIN did not match. ``attempts_left`` before the lock-out, when known."""

    def __init__(self, attempts_left: int) -> None:
        msg = (
            f"Wrong PIN. {attempts_left} attempt(s) left before the PIN is locked."
            if attempts_left > 0
            else "Wrong PIN. The PIN is now locked; try again later."
        )
        super().__init__(msg, user_message=msg)
        self.attempts_left = attempts_left


class PinLockedError(PermanentError):
    """Too many wrong PINs: locked until ``locked_until``."""

    def __init__(self, locked_until: datetime, now: datetime) -> None:
        minutes = max(1, int((locked_until - now).total_seconds() + 59) // 60)
        msg = f"Too many wrong PINs. The PIN is locked for {minutes} more minute(s)."
        super().__init__(msg, user_message=msg)
        self.locked_until = locked_until


def _is_straight_run(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {-1})


def validate_new_pin(pin: str) -> str:
    """Return the PIN if it meets the policy, else raise PinPolicyError (never echoing the PIN)."""
    if not (pin.isascii() and pin.isdigit()):
        raise PinPolicyError("A PIN is digits only (0-9).")
    if not PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS:
        raise PinPolicyError(f"A PIN has {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits.")
    if len(set(pin)) == 1 or _is_straight_run(pin):
        raise PinPolicyError("That PIN is too easy to guess (repeated or consecutive digits).")
    return pin


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Defaults: the OWASP minimum for Argon2id (19 MiB, 2 passes, 1 lane), ~25-80 ms here."""

    memory_kib: int = 19_456
    iterations: int = 2
    lanes: int = 1
    salt_bytes: int = 16
    hash_bytes: int = 32


class PinHasher:
    """Argon2id hash/verify of PINs, always off the event loop."""

    def __init__(self, params: Argon2Params | None = None) -> None:
        self._params = params or Argon2Params()

    def _hash_sync(self, pin: str) -> str:
        p = self._params
        kdf = Argon2id(
            salt=os.urandom(p.salt_bytes),
            length=p.hash_bytes,
            iterations=p.iterations,
            lanes=p.lanes,
            memory_cost=p.memory_kib,
        )
        return kdf.derive_phc_encoded(pin.encode())

    @staticmethod
    def _verify_sync(pin: str, encoded: str) -> bool:
        try:
            Argon2id.verify_phc_encoded(pin.encode(), encoded)
        except InvalidKey:
            return False
        return True

    async def hash(self, pin: str) -> str:
        """Validate against the policy, then hash. Returns the PHC string to store."""
        validate_new_pin(pin)
        return await asyncio.to_thread(self._hash_sync, pin)

    async def verify(self, pin: str, encoded: str) -> bool:
        return await asyncio.to_thread(self._verify_sync, pin, encoded)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_attempts: int = 5
    base_lock: timedelta = timedelta(minutes=15)
    max_lock: timedelta = timedelta(hours=24)

    def lock_until(self, failures: int, now: datetime) -> datetime | None:
        """After ``failures`` consecutive wrong PINs (this one included): the lock end, or None."""
        if failures < self.max_attempts:
            return None
        doublings = min(failures - self.max_attempts, 16)
        return now + min(self.base_lock * (1 << doublings), self.max_lock)

    def attempts_left(self, failures: int) -> int:
        return max(0, self.max_attempts - failures)

    def check(self, locked_until: datetime | None, now: datetime) -> None:
        """Raise PinLockedError while a lock is in force."""
        if locked_until is not None and now < locked_until:
            raise PinLockedError(locked_until, now)
