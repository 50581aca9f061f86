"""Error hierarchy: every error says what the caller must do.

    SniperBotError
    ├── ConfigError      stop: the configuration is wrong; the message names the variable and fix
    ├── TemporaryError   retry or back off: the same call may succeed later (429, timeout, Redis)
    └── PermanentError   give up on this item: retrying the same input cannot succeed

Vendor exceptions are translated where they are caught (``raise X(...) from exc``); the user sees
``user_message``, never a traceback.
"""

from __future__ import annotations

__all__ = ["ConfigError", "PermanentError", "SniperBotError", "TemporaryError"]


class SniperBotError(Exception):
    """Root of every error this project raises on purpose."""

    def __init__(self, message: str, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.user_message = user_message or message


class ConfigError(SniperBotError):
    """The configuration cannot work; start-up stops with this message and exit code 2."""


class TemporaryError(SniperBotError):
    """The operation may succeed if retried later (after ``retry_after`` seconds when known)."""

    def __init__(
        self, message: str, *, user_message: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, user_message=user_message)
        self.retry_after = retry_after


class PermanentError(SniperBotError):
    """Retrying the same input cannot succeed; give up on this item."""
