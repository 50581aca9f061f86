"""Errors a store raises when its compare-and-set loses (``storage`` raises them; the services
that drive the state machines catch them without importing storage), and the snipe store's read
the armed book rebuilds from (``ArmedTargetSource``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sniper_bot.domain.launch import SnipeStatus, SnipeTarget
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.domain.withdrawal import WithdrawalStatus
from sniper_bot.errors import SniperBotError

__all__ = [
    "ArmedTargetSource",
    "StaleNonceValue",
    "StaleOrderState",
    "StaleSnipeState",
    "StaleWithdrawalState",
]


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


class StaleWithdrawalState(SniperBotError):
    """Another worker moved the withdrawal first: reload it and take its word."""

    def __init__(
        self, withdrawal_id: str, expected: WithdrawalStatus, actual: WithdrawalStatus
    ) -> None:
        super().__init__(
            f"withdrawal {withdrawal_id} is {actual}, not {expected}: another worker moved it",
            user_message="This withdrawal was updated meanwhile; refresh to see its state.",
        )
        self.withdrawal_id = withdrawal_id
        self.expected = expected
        self.actual = actual


class StaleSnipeState(SniperBotError):
    """Another worker moved the snipe target first (a replica fired it, or it expired or was
    cancelled meanwhile): reload it and take its word."""

    def __init__(self, target_id: int, expected: SnipeStatus, actual: SnipeStatus) -> None:
        super().__init__(
            f"snipe {target_id} is {actual}, not {expected}: another worker moved it",
            user_message="This snipe was updated meanwhile; send /snipe to see its state.",
        )
        self.target_id = target_id
        self.expected = expected
        self.actual = actual


class StaleNonceValue(SniperBotError):
    """The target's stored nonce value is not the one the caller read (another worker refreshed
    or advanced it meanwhile): reload the target and take its word."""

    def __init__(self, target_id: int, expected: str | None, actual: str | None) -> None:
        super().__init__(
            f"snipe {target_id} nonce value is {actual}, not {expected}: another worker moved it",
            user_message="This snipe was updated meanwhile; send /snipe to see its state.",
        )
        self.target_id = target_id
        self.expected = expected
        self.actual = actual


class ArmedTargetSource(Protocol):
    """What ``sniper_bot.hotpath.book.ArmedBook.rebuild`` reads (``SnipeTargetRepository``)."""

    async def list_armed(
        self, now: datetime | None = None, limit: int | None = None
    ) -> list[SnipeTarget]: ...
