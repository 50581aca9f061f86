"""Storage errors, sorted by what the caller must do (see ``sniper_bot.errors``)."""

from __future__ import annotations

from sniper_bot.domain.orders import OrderStatus
from sniper_bot.errors import PermanentError, SniperBotError, TemporaryError

__all__ = [
    "DatabaseUnavailable",
    "DatabaseWriteFailed",
    "DuplicateWallet",
    "InvalidSetting",
    "NotFound",
    "StaleOrderState",
    "WalletBusy",
]


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
    """No such row for this user (a row of another user is reported the same way)."""


class DuplicateWallet(PermanentError):
    """The public key is already stored (for this or another user)."""


class WalletBusy(PermanentError):
    """The wallet still has orders in flight; wait for them to finish before deleting it."""


class InvalidSetting(PermanentError, ValueError):
    """A settings change was rejected; ``user_message`` says what is allowed."""


class StaleOrderState(SniperBotError):
    """Another worker moved the order first: reload it and decide again (do not retry blindly)."""

    def __init__(self, order_id: str, expected: OrderStatus, actual: OrderStatus) -> None:
        super().__init__(
            f"order {order_id} is {actual}, not {expected}: another worker moved it; "
            "reload the order and decide again",
            user_message="This order was updated meanwhile; refresh to see its state.",
        )
        self.order_id = order_id
        self.expected = expected
        self.actual = actual
