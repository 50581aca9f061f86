"""Storage errors, sorted by what the caller must do (see ``sniper_bot.errors``).

The compare-and-set losers (``StaleOrderState``, ``StaleSnipeState``,
``StaleWithdrawalState``) live in ``sniper_bot.ports.stores`` so the services catch them without
importing storage; storage raises them and re-exports them here."""

from __future__ import annotations

from sniper_bot.errors import PermanentError, TemporaryError
from sniper_bot.ports.stores import StaleOrderState, StaleSnipeState, StaleWithdrawalState

__all__ = [
    "DatabaseUnavailable",
    "DatabaseWriteFailed",
    "DuplicateWallet",
    "InvalidSetting",
    "NotFound",
    "StaleOrderState",
    "StaleSnipeState",
    "StaleWithdrawalState",
    "WalletBusy",
]


NOT_FOUND_SENTENCE = "That no longer exists, or it is not yours."
NO_SUCH_WALLET_SENTENCE = "No such wallet. Use /wallet to see yours."
NO_SUCH_SNIPE_SENTENCE = "No such snipe. Send /snipe to see yours."


class DatabaseUnavailable(TemporaryError):
    """The database server did not answer; retry later (the message names host:port)."""


class DatabaseWriteFailed(DatabaseUnavailable):
    """The connection dropped in a transaction that writes; it was not run again.

    ``saved`` is False when the transaction cannot have been committed (it failed before
    ``COMMIT``), None when the ``COMMIT`` itself was cut off and the outcome is unknown.
    """

    def __init__(
        self,
        message: str,
        *,
        saved: bool | None,
        user_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, user_message=user_message, retry_after=retry_after)
        self.saved = saved


class NotFound(PermanentError):
    """No such row for this user (a row of another user is reported the same way).

    ``message`` is for the logs and may name internal ids; ``user_message`` is a sentence that
    never does (default: a generic one); ``ids`` keeps the ids for log context.
    """

    def __init__(self, message: str, *, user_message: str | None = None, **ids: int | str) -> None:
        super().__init__(message, user_message=user_message or NOT_FOUND_SENTENCE)
        self.ids = ids


class DuplicateWallet(PermanentError):
    """The public key is already stored (for this or another user)."""


class WalletBusy(PermanentError):
    """The wallet still has orders in flight; wait for them to finish before deleting it."""


class InvalidSetting(PermanentError, ValueError):
    """A settings change was rejected; ``user_message`` says what is allowed."""
