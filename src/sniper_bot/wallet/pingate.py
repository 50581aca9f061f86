"""The PIN gate in front of export, withdrawal and PIN change: verify, count failures, lock out.

The lock-out state lives in the ``"User"`` row (pinFailedAttempts, pinLockedUntil), so it holds
across restarts and replicas. A lock is checked before Argon2id runs, so a locked account costs the
attacker (and us) nothing per guess.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from sniper_bot.domain.entities import User
from sniper_bot.errors import PermanentError
from sniper_bot.wallet.pin import LockoutPolicy, PinHasher, WrongPinError
from sniper_bot.wallet.ports import UserRepo

__all__ = ["PinGate", "PinNotSetError"]

log = structlog.get_logger(__name__)


class PinNotSetError(PermanentError):
    def __init__(self) -> None:
        msg = "Set a PIN first (/pin): it protects exports and withdrawals."
        super().__init__(msg, user_message=msg)


class PinGate:
    def __init__(
        self,
        users: UserRepo,
        hasher: PinHasher,
        lockout: LockoutPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._lockout = lockout
        self._clock = clock

    async def require(self, user: User, pin: str) -> None:
        """Return if ``pin`` is the user's PIN; else raise PinNotSet/PinLocked/WrongPin."""
        if user.pin_hash is None:
            raise PinNotSetError
        self._lockout.check(user.pin_locked_until, self._clock())
        if await self._hasher.verify(pin, user.pin_hash):
            if user.pin_failed_attempts:
                await self._users.reset_pin_failures(user.id)
            return
        now = self._clock()
        failures = user.pin_failed_attempts + 1
        lock_until = self._lockout.lock_until(failures, now)
        failures = await self._users.record_pin_failure(user.id, lock_until)
        log.warning(
            "pin_rejected", user_id=user.id, failures=failures, locked=lock_until is not None
        )
        raise WrongPinError(self._lockout.attempts_left(failures))

    async def set_pin(self, user: User, new_pin: str, current_pin: str | None) -> None:
        """Set the first PIN, or change it after checking the current one."""
        if user.pin_hash is not None:
            await self.require(user, current_pin or "")
        encoded = await self._hasher.hash(new_pin)
        await self._users.set_pin(user.id, encoded)
        await self._users.reset_pin_failures(user.id)
        log.info("pin_set", user_id=user.id, changed=user.pin_hash is not None)
