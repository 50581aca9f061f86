"""What the wallet package needs from storage: the repository methods it calls, as Protocols.

``sniper_bot.storage`` implements them on PostgreSQL/SQLite; the tests also run them against an
in-memory implementation. Every wallet method takes the owner's user id (``"User".id``) and only
ever returns that user's rows: authorization starts at the query. A wallet id that is not the
user's raises (``set_active``) or returns None/False, exactly as for an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sniper_bot.domain.entities import User, Wallet
from sniper_bot.domain.wallets import SealedSecret

__all__ = ["UserRepo", "WalletRepo"]


class UserRepo(Protocol):
    async def get_or_create(self, telegram_id: int, username: str | None) -> User: ...

    async def get_by_telegram_id(self, telegram_id: int) -> User | None: ...

    async def set_pin(self, user_id: int, pin_hash: str) -> None: ...

    async def record_pin_failure(self, user_id: int, lock_until: datetime | None) -> int: ...

    async def reset_pin_failures(self, user_id: int) -> None: ...


class WalletRepo(Protocol):
    async def create(
        self,
        user_id: int,
        public_key: str,
        sealed: SealedSecret,
        label: str,
        make_active: bool = True,
    ) -> Wallet: ...

    async def list_for_user(self, user_id: int) -> Sequence[Wallet]: ...

    async def get(self, user_id: int, wallet_id: int) -> Wallet | None: ...

    async def get_active(self, user_id: int) -> Wallet | None: ...

    async def set_active(self, user_id: int, wallet_id: int) -> Wallet: ...

    async def delete(self, user_id: int, wallet_id: int) -> bool: ...

    async def list_not_under_key(
        self, key_id: str, limit: int, after_id: int | None = None
    ) -> Sequence[Wallet]: ...

    async def rewrap(self, wallet_id: int, expected_key_id: str, new: SealedSecret) -> bool: ...

    async def count_by_key_id(self) -> dict[str, int]: ...
