"""One small base for every launch listener: subscribe, then turn notifications into events.

A listener is pure decoding: ``decode(note, seen_at)`` returns a ``LaunchEvent``, ``None`` for a
notification that is not a launch (a swap, a failed transaction), or raises ``DecodeError`` for
malformed data. The ``LaunchDetector`` owns the connection, de-duplication, metrics and isolation
(one bad notification never kills a listener).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

from solders.pubkey import Pubkey

from sniper_bot.chain.types import Commitment
from sniper_bot.chain.ws import Notification
from sniper_bot.domain.launch import LaunchEvent, LaunchSource

__all__ = ["DecodeError", "LaunchListener", "Subscriptions", "require_dict"]


class DecodeError(ValueError):
    """A notification that claims to be a launch but whose data cannot be decoded."""


class Subscriptions(Protocol):
    """The part of ``sniper_bot.chain.ws.SubscriptionManager`` listeners use."""

    async def logs_subscribe(
        self, key: str, mentions: Pubkey | None = None, commitment: Commitment = "confirmed"
    ) -> None: ...

    async def program_subscribe(
        self,
        key: str,
        program: Pubkey,
        filters: Sequence[dict[str, Any]] = (),
        commitment: Commitment = "confirmed",
    ) -> None: ...


class LaunchListener(ABC):
    """``key`` names the subscription; notifications carrying it are routed to ``decode``."""

    source: LaunchSource

    def __init__(self, key: str, commitment: Commitment = "processed") -> None:
        self.key = key
        self.commitment: Commitment = commitment

    @abstractmethod
    async def subscribe(self, subscriptions: Subscriptions) -> None:
        """Register this listener's subscription (re-sent by the manager after reconnects)."""

    @abstractmethod
    def decode(self, note: Notification, seen_at: float) -> LaunchEvent | None:
        """The launch in ``note``; ``None`` if it is not one; ``DecodeError`` if malformed."""


def require_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError(f"{what} is {type(value).__name__}, expected an object")
    return value
