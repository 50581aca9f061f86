"""``"User"``: identity is the Telegram user id; PIN state for export/withdraw."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from sniper_bot.domain.entities import User
from sniper_bot.storage.errors import NotFound
from sniper_bot.storage.models import UserRow

from .base import Repository, insert_for

__all__ = ["UserRepository"]


def to_user(row: UserRow) -> User:
    return User(
        id=row.id,
        telegram_id=row.telegram_id,
        username=row.username,
        is_admin=row.is_admin,
        pin_hash=row.pin_hash,
        pin_failed_attempts=row.pin_failed_attempts,
        pin_locked_until=row.pin_locked_until,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class UserRepository(Repository):
    async def get_or_create(self, telegram_id: int, username: str | None) -> User:
        """The user for a Telegram id, created on first sight; a changed username is updated.

        Every update of every user calls this, so a known user with the same username is only
        read (no row rewritten, no row lock, nothing for SQLite's single writer); otherwise one
        ``INSERT ... ON CONFLICT``, safe under concurrency.
        """
        known = await self.get_by_telegram_id(telegram_id)
        if known is not None and known.username == username:
            return known
        now = self._now()
        async with self._db.session() as session:
            stmt = insert_for(session, UserRow).values(
                telegram_id=telegram_id,
                username=username,
                is_admin=False,
                pin_failed_attempts=0,
                created_at=now,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[UserRow.telegram_id],
                set_={"username": stmt.excluded.username},
            ).returning(UserRow)
            row = (await session.execute(stmt)).scalar_one()
            return to_user(row)

    async def get(self, user_id: int) -> User | None:
        async with self._db.session() as session:
            row = await session.get(UserRow, user_id)
            return to_user(row) if row else None

    async def get_by_telegram_id(self, telegram_id: int) -> User | None:
        async with self._db.session() as session:
            row = (
                await session.execute(select(UserRow).where(UserRow.telegram_id == telegram_id))
            ).scalar_one_or_none()
            return to_user(row) if row else None

    async def set_admin(self, user_id: int, is_admin: bool) -> None:
        await self._update(user_id, is_admin=is_admin)

    async def set_pin(self, user_id: int, pin_hash: str) -> None:
        """Store a new encoded Argon2id hash and clear failures and any lock."""
        await self._update(user_id, pin_hash=pin_hash, pin_failed_attempts=0, pin_locked_until=None)

    async def clear_pin(self, user_id: int) -> None:
        await self._update(user_id, pin_hash=None, pin_failed_attempts=0, pin_locked_until=None)

    async def record_pin_failure(self, user_id: int, lock_until: datetime | None) -> int:
        """Count one wrong PIN atomically; set the lock when ``lock_until`` is given.

        Returns the failure count after this one.
        """
        values: dict[str, object] = {
            "pin_failed_attempts": UserRow.pin_failed_attempts + 1,
            "updated_at": self._now(),
        }
        if lock_until is not None:
            values["pin_locked_until"] = lock_until
        async with self._db.session() as session:
            stmt = (
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(**values)
                .returning(UserRow.pin_failed_attempts)
            )
            count = (await session.execute(stmt)).scalar_one_or_none()
        if count is None:
            raise NotFound(f"user {user_id} does not exist")
        return int(count)

    async def reset_pin_failures(self, user_id: int) -> None:
        await self._update(user_id, pin_failed_attempts=0, pin_locked_until=None)

    async def delete(self, user_id: int) -> bool:
        """Delete the user and, by cascade, wallets, settings, orders, positions, trades."""
        async with self._db.session() as session:
            stmt = delete(UserRow).where(UserRow.id == user_id).returning(UserRow.id)
            return (await session.execute(stmt)).scalar_one_or_none() is not None

    async def _update(self, user_id: int, **values: object) -> None:
        async with self._db.session() as session:
            stmt = (
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(**values, updated_at=self._now())
                .returning(UserRow.id)
            )
            if (await session.execute(stmt)).scalar_one_or_none() is None:
                raise NotFound(f"user {user_id} does not exist")
