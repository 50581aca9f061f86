"""``"SniperOrder"``: the persisted order state machine.

* ``create`` is idempotent on ``("userId", "idempotencyKey")`` (``INSERT ... ON CONFLICT DO
  NOTHING`` then read back), so a double-tapped button or two replicas never make two orders.
* ``transition`` is a compare-and-set: ``UPDATE ... WHERE id = :id AND status = :expected
  RETURNING``; losing the race raises ``StaleOrderState``.
* ``claim`` is a worker lease (``lockedBy``/``lockedUntil``) taken with one conditional UPDATE;
  ``claim_batch`` uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so replicas split the work (the
  trading service's claimer loop). ``create`` can take the lease with the insert, so a claimer
  never grabs an order its creator is about to run.
* ``create_sent`` stores an order whose signed bytes are already on the wire (the hot path's
  fired snipe): born SENT with its signature and exact bytes, idempotent on the same key.
* ``mark_notified`` is the owner-notified marker (``notifiedAt``), a compare-and-set so one
  sender wins; ``list_unnotified`` is the outbox: final orders whose result no one delivered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import (
    FINAL_STATES,
    OrderError,
    OrderSide,
    OrderStatus,
    check_transition,
)
from sniper_bot.storage.errors import NotFound, StaleOrderState
from sniper_bot.storage.models import SniperOrderRow, WalletRow

from .base import Repository, compare_and_set, insert_idempotent

__all__ = ["MUTABLE_ORDER_FIELDS", "OrderRepository"]

# Fields ``transition``/``update_fields`` may set (entity attribute names).
MUTABLE_ORDER_FIELDS = frozenset(
    {
        "signature",
        "last_valid_block_height",
        "signed_tx",
        "quote",
        "error",
        "attempts",
        "in_amount",
        "out_amount",
        "fee_lamports",
        "priority_fee_lamports",
        "locked_by",
        "locked_until",
    }
)
_NON_FINAL = [s for s in OrderStatus if s not in FINAL_STATES]


def to_order(row: SniperOrderRow) -> Order:
    return Order(
        id=row.id,
        user_id=row.user_id,
        wallet_id=row.wallet_id,
        kind=OrderKind(row.kind),
        token_mint=row.token_mint,
        side=OrderSide(row.side),
        amount=row.amount,
        slippage_bps=row.slippage_bps,
        priority_fee=FeeLevel(row.priority_fee),
        priority_fee_lamports=row.priority_fee_lamports,
        status=OrderStatus(row.status),
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        signature=row.signature,
        last_valid_block_height=row.last_valid_block_height,
        signed_tx=row.signed_tx,
        quote=row.quote,
        error=OrderError.from_json(row.error) if row.error else None,
        attempts=row.attempts,
        in_amount=row.in_amount,
        out_amount=row.out_amount,
        fee_lamports=row.fee_lamports,
        locked_by=row.locked_by,
        locked_until=row.locked_until,
    )


def _column_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - MUTABLE_ORDER_FIELDS
    if unknown:
        raise TypeError(
            f"cannot set order field(s) {sorted(unknown)}; settable: {sorted(MUTABLE_ORDER_FIELDS)}"
        )
    values = dict(fields)
    if "error" in values and isinstance(values["error"], OrderError):
        values["error"] = values["error"].to_json()
    if "quote" in values and values["quote"] is not None:
        values["quote"] = dict(values["quote"])
    return values


class OrderRepository(Repository):
    async def create(
        self,
        *,
        user_id: int,
        wallet_id: int,
        kind: OrderKind,
        token_mint: str,
        side: OrderSide,
        amount: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        idempotency_key: str,
        priority_fee_lamports: int = 0,
        quote: Mapping[str, Any] | None = None,
        order_id: str | None = None,
        locked_by: str | None = None,
        lease_s: float | None = None,
    ) -> tuple[Order, bool]:
        """Insert a PENDING order; ``(order, True)`` if new, ``(existing, False)`` if the same
        ``(user_id, idempotency_key)`` was seen before (also when two calls race). With
        ``locked_by`` and ``lease_s`` the new row is born leased to that worker."""
        if amount <= 0:
            raise ValueError(f"order amount must be positive base units, got {amount}")
        now = self._now()
        new_id = order_id or str(uuid.uuid4())
        async with self._db.session() as session:
            row, created = await insert_idempotent(
                session,
                SniperOrderRow,
                WalletRow,
                dict(
                    id=new_id,
                    user_id=user_id,
                    wallet_id=wallet_id,
                    kind=kind,
                    token_mint=token_mint,
                    side=side,
                    amount=amount,
                    slippage_bps=slippage_bps,
                    priority_fee=priority_fee,
                    priority_fee_lamports=priority_fee_lamports,
                    status=OrderStatus.PENDING,
                    quote=dict(quote) if quote is not None else None,
                    idempotency_key=idempotency_key,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                    locked_by=locked_by if lease_s is not None else None,
                    locked_until=(
                        now + timedelta(seconds=lease_s)
                        if locked_by is not None and lease_s is not None
                        else None
                    ),
                ),
            )
            return to_order(row), created

    async def create_sent(
        self,
        *,
        user_id: int,
        wallet_id: int,
        kind: OrderKind,
        token_mint: str,
        side: OrderSide,
        amount: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        idempotency_key: str,
        signature: str,
        signed_tx: bytes,
        priority_fee_lamports: int = 0,
        quote: Mapping[str, Any] | None = None,
        last_valid_block_height: int | None = None,
        order_id: str | None = None,
        locked_by: str | None = None,
        lease_s: float | None = None,
    ) -> tuple[Order, bool]:
        """Insert an order that was sent before it was stored, directly as SENT (signature and
        exact signed bytes); idempotent on ``(user_id, idempotency_key)`` like ``create``: a
        second call (another replica, a retry after a dropped COMMIT) gets the existing order,
        whatever bytes it signed. The lease arguments are ``create``'s."""
        if amount <= 0:
            raise ValueError(f"order amount must be positive base units, got {amount}")
        if not signature or not signed_tx:
            raise ValueError("a sent order needs its signature and signed bytes")
        now = self._now()
        leased = locked_by is not None and lease_s is not None
        async with self._db.session() as session:
            row, created = await insert_idempotent(
                session,
                SniperOrderRow,
                WalletRow,
                dict(
                    id=order_id or str(uuid.uuid4()),
                    user_id=user_id,
                    wallet_id=wallet_id,
                    kind=kind,
                    token_mint=token_mint,
                    side=side,
                    amount=amount,
                    slippage_bps=slippage_bps,
                    priority_fee=priority_fee,
                    priority_fee_lamports=priority_fee_lamports,
                    status=OrderStatus.SENT,
                    quote=dict(quote) if quote is not None else None,
                    idempotency_key=idempotency_key,
                    signature=signature,
                    signed_tx=bytes(signed_tx),
                    last_valid_block_height=last_valid_block_height,
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                    locked_by=locked_by if leased else None,
                    locked_until=now + timedelta(seconds=lease_s or 0.0) if leased else None,
                ),
            )
            return to_order(row), created

    async def get(self, user_id: int, order_id: str) -> Order | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(SniperOrderRow).where(
                    SniperOrderRow.id == order_id, SniperOrderRow.user_id == user_id
                )
            )
            return to_order(row) if row else None

    async def get_by_id(self, order_id: str) -> Order | None:
        """Internal (workers, recovery): not scoped by user. Never call it with user input."""
        async with self._db.session() as session:
            row = await session.get(SniperOrderRow, order_id)
            return to_order(row) if row else None

    async def get_by_signature(self, signature: str) -> Order | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(SniperOrderRow).where(SniperOrderRow.signature == signature)
            )
            return to_order(row) if row else None

    async def transition(
        self, order_id: str, expected: OrderStatus, new: OrderStatus, **fields: Any
    ) -> Order:
        """Move ``expected -> new`` atomically, setting ``fields`` in the same UPDATE.

        Raises ``InvalidTransition`` for an edge the state machine lacks, ``StaleOrderState``
        when the order is no longer ``expected``, ``NotFound`` when it does not exist.
        """
        check_transition(expected, new)
        values = _column_values(fields)
        values["status"] = new
        return await self._cas(order_id, expected, values)

    async def update_fields(
        self, order_id: str, expected_status: OrderStatus, **fields: Any
    ) -> Order:
        """Set fields only while the order is still in ``expected_status`` (same CAS rules)."""
        return await self._cas(order_id, expected_status, _column_values(fields))

    async def _cas(self, order_id: str, expected: OrderStatus, values: dict[str, Any]) -> Order:
        values["updated_at"] = self._now()
        row = await compare_and_set(
            self._db, SniperOrderRow, [SniperOrderRow.id == order_id], expected, values,
            missing=lambda: NotFound(f"order {order_id} does not exist"),
            stale=lambda actual: StaleOrderState(order_id, expected, OrderStatus(actual)),
            conflict=f"order {order_id}: the update violates a constraint (a signature can "
            "belong to one order only)",
        )  # fmt: skip
        return to_order(row)

    # -- worker leases ---------------------------------------------------------------------------

    async def claim(self, order_id: str, worker_id: str, lease_s: float, now: datetime) -> bool:
        """Take (or extend) the lease on a non-final order; False if another worker holds it."""
        async with self._db.session() as session:
            result = await session.execute(
                update(SniperOrderRow)
                .where(
                    SniperOrderRow.id == order_id,
                    SniperOrderRow.status.in_(_NON_FINAL),
                    or_(
                        SniperOrderRow.locked_by.is_(None),
                        SniperOrderRow.locked_by == worker_id,
                        SniperOrderRow.locked_until < now,
                    ),
                )
                .values(locked_by=worker_id, locked_until=now + timedelta(seconds=lease_s))
                .returning(SniperOrderRow.id)
            )
            return result.scalar_one_or_none() is not None

    async def release(self, order_id: str, worker_id: str) -> bool:
        async with self._db.session() as session:
            result = await session.execute(
                update(SniperOrderRow)
                .where(SniperOrderRow.id == order_id, SniperOrderRow.locked_by == worker_id)
                .values(locked_by=None, locked_until=None)
                .returning(SniperOrderRow.id)
            )
            return result.scalar_one_or_none() is not None

    async def claim_batch(
        self, worker_id: str, lease_s: float, now: datetime, limit: int = 50
    ) -> list[Order]:
        """Lease up to ``limit`` unleased (or lease-expired) non-final orders, oldest first.

        On PostgreSQL the candidate rows are locked with ``FOR UPDATE SKIP LOCKED`` so
        concurrent replicas take disjoint batches without waiting on each other.
        """
        until = now + timedelta(seconds=lease_s)
        async with self._db.session() as session:
            candidates = (
                select(SniperOrderRow.id)
                .where(
                    SniperOrderRow.status.in_(_NON_FINAL),
                    or_(SniperOrderRow.locked_by.is_(None), SniperOrderRow.locked_until < now),
                )
                .order_by(SniperOrderRow.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = list(await session.scalars(candidates))
            if not ids:
                return []
            rows = await session.scalars(
                update(SniperOrderRow)
                .where(SniperOrderRow.id.in_(ids))
                .values(locked_by=worker_id, locked_until=until)
                .returning(SniperOrderRow)
            )
            return sorted((to_order(r) for r in rows), key=lambda o: (o.created_at, o.id))

    # -- owner notification (the outbox) ---------------------------------------------------------

    async def mark_notified(
        self, order_id: str, at: datetime, *, user_id: int | None = None
    ) -> bool:
        """Set ``notifiedAt`` on a final order that has none; True for the one caller that set it.

        ``user_id`` scopes it to the owner (the frontend path); None is internal (the outbox).
        """
        conditions = [
            SniperOrderRow.id == order_id,
            SniperOrderRow.notified_at.is_(None),
            SniperOrderRow.status.in_(list(FINAL_STATES)),
        ]
        if user_id is not None:
            conditions.append(SniperOrderRow.user_id == user_id)
        async with self._db.session() as session:
            result = await session.execute(
                update(SniperOrderRow)
                .where(*conditions)
                .values(notified_at=at)
                .returning(SniperOrderRow.id)
            )
            return result.scalar_one_or_none() is not None

    async def unmark_notified(self, order_id: str, at: datetime) -> bool:
        """Give back a marker set at ``at`` (the send failed): owed again to the outbox."""
        async with self._db.session() as session:
            result = await session.execute(
                update(SniperOrderRow)
                .where(SniperOrderRow.id == order_id, SniperOrderRow.notified_at == at)
                .values(notified_at=None)
                .returning(SniperOrderRow.id)
            )
            return result.scalar_one_or_none() is not None

    async def is_notified(self, order_id: str) -> bool:
        async with self._db.session() as session:
            at = await session.scalar(
                select(SniperOrderRow.notified_at).where(SniperOrderRow.id == order_id)
            )
            return at is not None

    async def list_unnotified(self, finished_before: datetime, limit: int = 50) -> list[Order]:
        """Final orders whose owner was not told, last changed before ``finished_before`` (the
        grace lets the path that finished an order deliver it first), oldest first."""
        return await self._list(
            SniperOrderRow.notified_at.is_(None),
            SniperOrderRow.status.in_(list(FINAL_STATES)),
            SniperOrderRow.updated_at < finished_before,
            limit=limit,
            oldest_first=True,
        )

    # -- listings --------------------------------------------------------------------------------

    async def list_non_final(self) -> list[Order]:
        """Every order recovery must look at on start, oldest first (all users)."""
        return await self._list(SniperOrderRow.status.in_(_NON_FINAL), oldest_first=True)

    async def list_for_user(
        self, user_id: int, statuses: Iterable[OrderStatus] | None = None, limit: int = 20
    ) -> list[Order]:
        conditions = [SniperOrderRow.user_id == user_id]
        if statuses is not None:
            conditions.append(SniperOrderRow.status.in_(list(statuses)))
        return await self._list(*conditions, limit=limit)

    async def list_by_key_prefix(self, user_id: int, prefix: str) -> list[Order]:
        """The user's orders whose idempotency key starts with ``prefix``, oldest first (the
        exit monitor reads which ladder steps of a position already sold: crash-safe state)."""
        return await self._list(
            SniperOrderRow.user_id == user_id,
            SniperOrderRow.idempotency_key.startswith(prefix, autoescape=True),
            oldest_first=True,
        )

    async def list_failed(self, limit: int = 10) -> list[Order]:
        """The runbook's "recent failed orders", newest first (all users, for operators)."""
        return await self._list(SniperOrderRow.status == OrderStatus.FAILED, limit=limit)

    async def count_by_status(self) -> dict[OrderStatus, int]:
        async with self._db.session() as session:
            rows = await session.execute(
                select(SniperOrderRow.status, func.count()).group_by(SniperOrderRow.status)
            )
            return {OrderStatus(status): int(count) for status, count in rows}

    async def _list(
        self, *conditions: Any, limit: int | None = None, oldest_first: bool = False
    ) -> list[Order]:
        order = (
            (SniperOrderRow.created_at, SniperOrderRow.id)
            if oldest_first
            else (SniperOrderRow.created_at.desc(), SniperOrderRow.id.desc())
        )
        stmt = select(SniperOrderRow).where(*conditions).order_by(*order)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self._db.session() as session:
            return [to_order(r) for r in await session.scalars(stmt)]
