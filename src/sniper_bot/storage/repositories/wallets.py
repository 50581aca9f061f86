"""``"Wallet"``: sealed secrets (never plaintext), at most one active wallet per user."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sniper_bot.domain.entities import Wallet
from sniper_bot.domain.orders import FINAL_STATES
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.storage.errors import (
    NO_SUCH_WALLET_SENTENCE,
    DuplicateWallet,
    NotFound,
    WalletBusy,
)
from sniper_bot.storage.models import SniperOrderRow, UserRow, WalletRow

from .base import Repository

__all__ = ["WalletRepository"]


def to_wallet(row: WalletRow) -> Wallet:
    return Wallet(
        id=row.id,
        user_id=row.user_id,
        public_key=row.public_key,
        label=row.label,
        is_active=row.is_active,
        sealed=SealedSecret(
            key_id=row.key_id, salt=row.salt, nonce=row.nonce, ciphertext=row.ciphertext
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class WalletRepository(Repository):
    async def create(
        self,
        user_id: int,
        public_key: str,
        sealed: SealedSecret,
        label: str,
        make_active: bool = True,
    ) -> Wallet:
        """Store a sealed wallet; with ``make_active`` it replaces the user's active wallet."""
        now = self._now()
        try:
            async with self._db.session() as session:
                await _lock_user(session, user_id)
                if make_active:
                    await _deactivate_all(session, user_id, now)
                row = WalletRow(
                    user_id=user_id,
                    public_key=public_key,
                    label=label,
                    is_active=make_active,
                    key_id=sealed.key_id,
                    salt=sealed.salt,
                    nonce=sealed.nonce,
                    ciphertext=sealed.ciphertext,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                await session.flush()
                return to_wallet(row)
        except IntegrityError as exc:
            raise DuplicateWallet(
                f"wallet {public_key} is already stored",
                user_message="This wallet is already added.",
            ) from exc

    async def list_for_user(self, user_id: int) -> list[Wallet]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(WalletRow).where(WalletRow.user_id == user_id).order_by(WalletRow.id)
            )
            return [to_wallet(r) for r in rows]

    async def get(self, user_id: int, wallet_id: int) -> Wallet | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(WalletRow).where(WalletRow.id == wallet_id, WalletRow.user_id == user_id)
            )
            return to_wallet(row) if row else None

    async def get_active(self, user_id: int) -> Wallet | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(WalletRow).where(WalletRow.user_id == user_id, WalletRow.is_active)
            )
            return to_wallet(row) if row else None

    async def set_active(self, user_id: int, wallet_id: int) -> Wallet:
        now = self._now()
        async with self._db.session() as session:
            await _lock_user(session, user_id)
            exists = await session.scalar(
                select(WalletRow.id).where(WalletRow.id == wallet_id, WalletRow.user_id == user_id)
            )
            if exists is None:
                raise NotFound(
                    f"wallet {wallet_id} not found for user {user_id}",
                    user_message=NO_SUCH_WALLET_SENTENCE,
                    wallet_id=wallet_id,
                    user_id=user_id,
                )
            await _deactivate_all(session, user_id, now)
            row = (
                await session.execute(
                    update(WalletRow)
                    .where(WalletRow.id == wallet_id, WalletRow.user_id == user_id)
                    .values(is_active=True, updated_at=now)
                    .returning(WalletRow)
                )
            ).scalar_one()
            return to_wallet(row)

    async def delete(self, user_id: int, wallet_id: int) -> bool:
        """Delete a wallet (its positions go with it; orders and trades keep a NULL walletId).

        Refuses with ``WalletBusy`` while an order on it is still in flight. No other wallet is
        made active automatically.
        """
        async with self._db.session() as session:
            in_flight = await session.scalar(
                select(func.count())
                .select_from(SniperOrderRow)
                .where(
                    SniperOrderRow.wallet_id == wallet_id,
                    SniperOrderRow.user_id == user_id,
                    SniperOrderRow.status.not_in(FINAL_STATES),
                )
            )
            if in_flight:
                raise WalletBusy(
                    f"wallet {wallet_id} has {in_flight} order(s) in flight",
                    user_message="This wallet has orders in progress; try again once they finish.",
                )
            result = await session.execute(
                delete(WalletRow)
                .where(WalletRow.id == wallet_id, WalletRow.user_id == user_id)
                .returning(WalletRow.id)
            )
            return result.scalar_one_or_none() is not None

    # -- key rotation (across users) -------------------------------------------------------------

    async def list_not_under_key(
        self, key_id: str, limit: int, after_id: int | None = None
    ) -> list[Wallet]:
        """Wallets sealed under any key other than ``key_id``, by id, for batched re-wrapping."""
        stmt = select(WalletRow).where(WalletRow.key_id != key_id)
        if after_id is not None:
            stmt = stmt.where(WalletRow.id > after_id)
        async with self._db.session() as session:
            rows = await session.scalars(stmt.order_by(WalletRow.id).limit(limit))
            return [to_wallet(r) for r in rows]

    async def rewrap(self, wallet_id: int, expected_key_id: str, new: SealedSecret) -> bool:
        """Replace the sealed secret only if it is still under ``expected_key_id`` (CAS)."""
        async with self._db.session() as session:
            result = await session.execute(
                update(WalletRow)
                .where(WalletRow.id == wallet_id, WalletRow.key_id == expected_key_id)
                .values(
                    key_id=new.key_id,
                    salt=new.salt,
                    nonce=new.nonce,
                    ciphertext=new.ciphertext,
                    updated_at=self._now(),
                )
                .returning(WalletRow.id)
            )
            return result.scalar_one_or_none() is not None

    async def count_by_key_id(self) -> dict[str, int]:
        async with self._db.session() as session:
            rows = await session.execute(
                select(WalletRow.key_id, func.count()).group_by(WalletRow.key_id)
            )
            return {key_id: int(count) for key_id, count in rows}


async def _lock_user(session: AsyncSession, user_id: int) -> None:
    """Serialise wallet changes per user (row lock on PG; SQLite transactions are exclusive)."""
    found = await session.scalar(select(UserRow.id).where(UserRow.id == user_id).with_for_update())
    if found is None:
        raise NotFound(f"user {user_id} does not exist")


async def _deactivate_all(session: AsyncSession, user_id: int, now: object) -> None:
    await session.execute(
        update(WalletRow)
        .where(WalletRow.user_id == user_id, WalletRow.is_active)
        .values(is_active=False, updated_at=now)
    )
