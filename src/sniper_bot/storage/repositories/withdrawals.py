"""``"Withdrawal"`` (``storage.models.WithdrawalRow``): SOL and token withdrawals as a persisted
state machine.

* ``create`` is idempotent on ``("userId", "idempotencyKey")`` (``INSERT ... ON CONFLICT DO
  NOTHING`` then read back): a double-tapped confirm button never makes two withdrawals.
* ``transition`` is a compare-and-set (``UPDATE ... WHERE id = :id AND status = :expected
  RETURNING``); the loser gets ``sniper_bot.ports.stores.StaleWithdrawalState`` and must reload
  (a missing row is ``NotFound``), as ``OrderRepository.transition`` does for orders.
* User-facing reads are scoped by the user id; another user's withdrawal reads as missing.
* ``claim_notification`` is the "tell the owner once" marker: a compare-and-set on
  ``"notifiedAt" IS NULL`` of a final row; ``release_notification`` undoes a claim whose message
  could not be sent, so a later sweep sends it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from sniper_bot.domain.withdrawal import (
    FINAL_WITHDRAWAL_STATES,
    WithdrawalFailure,
    WithdrawalRecord,
    WithdrawalStatus,
    check_withdrawal_transition,
)
from sniper_bot.ports.stores import StaleWithdrawalState
from sniper_bot.storage.errors import NotFound
from sniper_bot.storage.models import UserRow, WalletRow, WithdrawalRow
from sniper_bot.storage.repositories.base import Repository, compare_and_set, insert_idempotent

__all__ = ["WithdrawalRepository", "to_withdrawal"]

_SETTABLE = frozenset(
    {"signature", "last_valid_block_height", "signed_tx", "error", "fee_lamports"}
)
_NON_FINAL = [s for s in WithdrawalStatus if s not in FINAL_WITHDRAWAL_STATES]


def to_withdrawal(row: WithdrawalRow) -> WithdrawalRecord:
    return WithdrawalRecord(
        id=row.id,
        user_id=row.user_id,
        wallet_id=row.wallet_id,
        asset=row.asset,
        token_program=row.token_program,
        destination=row.destination,
        amount=row.amount,
        decimals=row.decimals,
        fee_lamports=row.fee_lamports,
        rent_lamports=row.rent_lamports,
        status=WithdrawalStatus(row.status),
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        signature=row.signature,
        last_valid_block_height=row.last_valid_block_height,
        signed_tx=row.signed_tx,
        error=WithdrawalFailure.from_json(row.error) if row.error else None,
    )


class WithdrawalRepository(Repository):
    async def create(
        self,
        *,
        user_id: int,
        wallet_id: int,
        asset: str,
        token_program: str | None,
        destination: str,
        amount: int,
        decimals: int,
        fee_lamports: int,
        rent_lamports: int,
        idempotency_key: str,
        withdrawal_id: str | None = None,
    ) -> tuple[WithdrawalRecord, bool]:
        """Insert a PENDING withdrawal; ``(record, True)`` if new, ``(existing, False)`` when the
        same ``(user_id, idempotency_key)`` was seen before (also when two calls race).
        ``NotFound`` when the wallet is not this user's."""
        if amount <= 0:
            raise ValueError(f"withdrawal amount must be positive base units, got {amount}")
        if not idempotency_key:
            raise ValueError("a withdrawal needs an idempotency key (one per confirmation)")
        now = self._now()
        async with self._db.session() as session:
            row, created = await insert_idempotent(
                session,
                WithdrawalRow,
                WalletRow,
                dict(
                    id=withdrawal_id or str(uuid.uuid4()),
                    user_id=user_id,
                    wallet_id=wallet_id,
                    asset=asset,
                    token_program=token_program,
                    destination=destination,
                    amount=amount,
                    decimals=decimals,
                    fee_lamports=fee_lamports,
                    rent_lamports=rent_lamports,
                    status=WithdrawalStatus.PENDING,
                    idempotency_key=idempotency_key,
                    created_at=now,
                    updated_at=now,
                ),
            )
            return to_withdrawal(row), created

    # -- user-scoped -----------------------------------------------------------------------------

    async def get(self, user_id: int, withdrawal_id: str) -> WithdrawalRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(WithdrawalRow).where(
                    WithdrawalRow.id == withdrawal_id, WithdrawalRow.user_id == user_id
                )
            )
            return to_withdrawal(row) if row else None

    async def get_by_idempotency_key(self, user_id: int, key: str) -> WithdrawalRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(WithdrawalRow).where(
                    WithdrawalRow.user_id == user_id, WithdrawalRow.idempotency_key == key
                )
            )
            return to_withdrawal(row) if row else None

    async def list_for_user(
        self,
        user_id: int,
        statuses: tuple[WithdrawalStatus, ...] | None = None,
        limit: int = 20,
    ) -> list[WithdrawalRecord]:
        """Newest first."""
        stmt = select(WithdrawalRow).where(WithdrawalRow.user_id == user_id)
        if statuses is not None:
            stmt = stmt.where(WithdrawalRow.status.in_(list(statuses)))
        stmt = stmt.order_by(WithdrawalRow.created_at.desc(), WithdrawalRow.id.desc())
        async with self._db.session() as session:
            return [to_withdrawal(r) for r in await session.scalars(stmt.limit(limit))]

    async def user_id_for_telegram(self, telegram_id: int) -> int | None:
        """The ``"User".id`` a Telegram identity maps to (None: never used the bot)."""
        async with self._db.session() as session:
            found: int | None = await session.scalar(
                select(UserRow.id).where(UserRow.telegram_id == telegram_id)
            )
            return found

    # -- workers and recovery (internal: never call with user input) ------------------------------

    async def get_by_id(self, withdrawal_id: str) -> WithdrawalRecord | None:
        async with self._db.session() as session:
            row = await session.get(WithdrawalRow, withdrawal_id)
            return to_withdrawal(row) if row else None

    async def list_non_final(self) -> list[WithdrawalRecord]:
        """Every withdrawal recovery must resolve on start, oldest first (all users)."""
        stmt = (
            select(WithdrawalRow)
            .where(WithdrawalRow.status.in_(_NON_FINAL))
            .order_by(WithdrawalRow.created_at, WithdrawalRow.id)
        )
        async with self._db.session() as session:
            return [to_withdrawal(r) for r in await session.scalars(stmt)]

    async def list_unnotified(self, limit: int = 100) -> list[WithdrawalRecord]:
        """Final withdrawals whose owner was not told yet, oldest first (all users)."""
        stmt = (
            select(WithdrawalRow)
            .where(
                WithdrawalRow.status.in_(list(FINAL_WITHDRAWAL_STATES)),
                WithdrawalRow.notified_at.is_(None),
            )
            .order_by(WithdrawalRow.updated_at, WithdrawalRow.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            return [to_withdrawal(r) for r in await session.scalars(stmt)]

    async def claim_notification(self, withdrawal_id: str) -> bool:
        """Mark a final withdrawal as told to its owner; True only for the one caller that
        marked it (False: not final, already claimed, or missing)."""
        async with self._db.session() as session:
            claimed = await session.scalar(
                update(WithdrawalRow)
                .where(
                    WithdrawalRow.id == withdrawal_id,
                    WithdrawalRow.status.in_(list(FINAL_WITHDRAWAL_STATES)),
                    WithdrawalRow.notified_at.is_(None),
                )
                .values(notified_at=self._now())
                .returning(WithdrawalRow.id)
            )
            return claimed is not None

    async def release_notification(self, withdrawal_id: str) -> None:
        """Undo a claim whose message did not go out (the next sweep tries again)."""
        async with self._db.session() as session:
            await session.execute(
                update(WithdrawalRow)
                .where(WithdrawalRow.id == withdrawal_id)
                .values(notified_at=None)
            )

    async def notified_at(self, withdrawal_id: str) -> datetime | None:
        async with self._db.session() as session:
            found: datetime | None = await session.scalar(
                select(WithdrawalRow.notified_at).where(WithdrawalRow.id == withdrawal_id)
            )
            return found

    async def transition(
        self,
        withdrawal_id: str,
        expected: WithdrawalStatus,
        new: WithdrawalStatus,
        **fields: Any,
    ) -> WithdrawalRecord:
        """``expected -> new`` in one conditional UPDATE, setting ``fields`` (signature,
        last_valid_block_height, signed_tx, error, fee_lamports). ``StaleWithdrawalState``: the
        row is no longer ``expected`` (someone else moved it): reload and take its word;
        ``NotFound``: there is no such withdrawal."""
        check_withdrawal_transition(expected, new)
        unknown = set(fields) - _SETTABLE
        if unknown:
            raise TypeError(f"cannot set withdrawal field(s) {sorted(unknown)}")
        values = dict(fields)
        if isinstance(values.get("error"), WithdrawalFailure):
            values["error"] = values["error"].to_json()
        values["status"] = new
        values["updated_at"] = self._now()
        row = await compare_and_set(
            self._db, WithdrawalRow, [WithdrawalRow.id == withdrawal_id], expected, values,
            missing=lambda: NotFound(f"withdrawal {withdrawal_id} does not exist"),
            stale=lambda actual: StaleWithdrawalState(
                withdrawal_id, expected, WithdrawalStatus(actual)
            ),
            conflict=f"withdrawal {withdrawal_id}: the update violates a constraint (a "
            "signature belongs to one withdrawal only)",
        )  # fmt: skip
        return to_withdrawal(row)
