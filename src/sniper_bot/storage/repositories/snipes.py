"""``"SnipeTarget"`` (``storage.models.SnipeTargetRow``): snipe orders waiting for their pool.

Every state change is a compare-and-set (``UPDATE ... WHERE id = :id AND status = :expected
RETURNING``), so two replicas that see the same pool never fire one target twice: exactly one
``mark_fired`` wins, the other gets ``sniper_bot.ports.stores.StaleSnipeState`` (a missing target
is ``NotFound``), as ``OrderRepository.transition`` does for orders. User-facing reads and
``cancel`` are scoped by the user id; a target of another user is reported exactly like a missing
one.

A target selects launches by exactly one of a mint, a creator or a ``LaunchFilter`` (stored as its
canonical JSON in ``launchFilter``; ``tokenMint`` is NULL for the other two until the target fires,
then the mint it fired on). It may own a durable nonce account: ``set_nonce`` stores the account's
current value by compare-and-set on the previous value, and one nonce account serves one ARMED
target at a time (a partial unique index).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.launch import (
    LaunchFilter,
    NonceStatus,
    SnipeStatus,
    SnipeTarget,
    selector_kind,
    validate_pubkey_text,
)
from sniper_bot.errors import PermanentError
from sniper_bot.ports.stores import StaleNonceValue, StaleSnipeState
from sniper_bot.storage.errors import NO_SUCH_SNIPE_SENTENCE, NO_SUCH_WALLET_SENTENCE, NotFound
from sniper_bot.storage.models import SnipeTargetRow, WalletRow
from sniper_bot.storage.repositories.base import Repository, compare_and_set

__all__ = ["SnipeNotArmed", "SnipeTargetRepository", "to_target"]

_MAX_ERROR_CHARS = 500


def to_target(row: SnipeTargetRow) -> SnipeTarget:
    return SnipeTarget(
        id=row.id,
        user_id=row.user_id,
        wallet_id=row.wallet_id,
        token_mint=row.token_mint or "",
        amount_lamports=row.amount_lamports,
        slippage_bps=row.slippage_bps,
        priority_fee=FeeLevel(row.priority_fee),
        status=SnipeStatus(row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        order_id=row.order_id or row.paper_order_id,
        fired_at=row.fired_at,
        error=row.error,
        creator=row.creator,
        launch_filter=LaunchFilter.from_json(row.launch_filter) if row.launch_filter else None,
        nonce_account=row.nonce_account,
        nonce_value=row.nonce_value,
        nonce_status=NonceStatus(row.nonce_status) if row.nonce_status else None,
        paper=bool(row.paper),
    )


def _order_column(order_id: str) -> str:
    """A paper fill (``paper:<id>``) has no ``"SniperOrder"`` row for ``orderId`` to point at."""
    return "paper_order_id" if order_id.startswith("paper:") else "order_id"


class SnipeNotArmed(PermanentError):
    """The snipe already fired, expired or was cancelled; only an armed snipe can be cancelled."""

    def __init__(self, target: SnipeTarget) -> None:
        super().__init__(
            f"snipe {target.id} is {target.status}, not ARMED",
            user_message=f"This snipe is already {target.status.lower()}; it cannot be cancelled.",
        )
        self.target = target


class SnipeTargetRepository(Repository):
    async def arm(
        self,
        *,
        user_id: int,
        wallet_id: int,
        token_mint: str | None = None,
        amount_lamports: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        expires_at: datetime,
        creator: str | None = None,
        launch_filter: LaunchFilter | None = None,
        nonce_account: str | None = None,
        nonce_value: str | None = None,
        paper: bool = False,
    ) -> SnipeTarget:
        """Store an ARMED target selecting launches by exactly one of ``token_mint``,
        ``creator`` or ``launch_filter`` (ValueError otherwise); ``NotFound`` when the wallet is
        not this user's. With ``nonce_account`` its status is READY when ``nonce_value`` is
        given, else PENDING; an account already serving another ARMED target is a ValueError."""
        if amount_lamports <= 0:
            raise ValueError(f"snipe amount must be positive lamports, got {amount_lamports}")
        validate_slippage_bps(slippage_bps)
        selector_kind(token_mint, creator, launch_filter)
        nonce_status = _nonce_fields(nonce_account, nonce_value)
        now = self._now()
        try:
            return await self._insert(
                SnipeTargetRow(
                    user_id=user_id,
                    wallet_id=wallet_id,
                    token_mint=token_mint,
                    creator=creator,
                    launch_filter=launch_filter.to_json() if launch_filter else None,
                    amount_lamports=amount_lamports,
                    slippage_bps=slippage_bps,
                    priority_fee=priority_fee,
                    nonce_account=nonce_account,
                    nonce_value=nonce_value,
                    nonce_status=nonce_status,
                    status=SnipeStatus.ARMED,
                    created_at=now,
                    expires_at=expires_at,
                    paper=paper,
                )
            )
        except IntegrityError as exc:
            if nonce_account is None:
                raise
            raise ValueError(_nonce_taken(nonce_account)) from exc

    async def _insert(self, row: SnipeTargetRow) -> SnipeTarget:
        user_id, wallet_id = row.user_id, row.wallet_id
        async with self._db.session() as session:
            owner = await session.scalar(select(WalletRow.user_id).where(WalletRow.id == wallet_id))
            if owner != user_id:
                raise NotFound(
                    f"wallet {wallet_id} not found for user {user_id}",
                    user_message=NO_SUCH_WALLET_SENTENCE,
                    wallet_id=wallet_id,
                    user_id=user_id,
                )
            session.add(row)
            await session.flush()
            return to_target(row)

    # -- user-scoped -----------------------------------------------------------------------------

    async def get(self, user_id: int, target_id: int) -> SnipeTarget | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(SnipeTargetRow).where(
                    SnipeTargetRow.id == target_id, SnipeTargetRow.user_id == user_id
                )
            )
            return to_target(row) if row else None

    async def list_for_user(
        self, user_id: int, statuses: tuple[SnipeStatus, ...] | None = None, limit: int = 20
    ) -> list[SnipeTarget]:
        """Newest first."""
        stmt = select(SnipeTargetRow).where(SnipeTargetRow.user_id == user_id)
        if statuses is not None:
            stmt = stmt.where(SnipeTargetRow.status.in_(list(statuses)))
        stmt = stmt.order_by(SnipeTargetRow.created_at.desc(), SnipeTargetRow.id.desc())
        async with self._db.session() as session:
            return [to_target(r) for r in await session.scalars(stmt.limit(limit))]

    async def cancel(self, user_id: int, target_id: int) -> SnipeTarget:
        """ARMED -> CANCELLED; ``NotFound`` (missing or another user's), ``SnipeNotArmed``."""
        try:
            return await self._cas(
                target_id, SnipeStatus.ARMED, {"status": SnipeStatus.CANCELLED}, user_id=user_id
            )
        except NotFound:
            raise NotFound(
                f"snipe {target_id} not found for user {user_id}",
                user_message=NO_SUCH_SNIPE_SENTENCE,
                snipe_id=target_id,
                user_id=user_id,
            ) from None
        except StaleSnipeState:
            current = await self.get(user_id, target_id)
            if current is None:  # pragma: no cover - deleted between the two reads
                raise
            raise SnipeNotArmed(current) from None

    # -- engine (internal: never call with user input) -------------------------------------------

    async def get_by_id(self, target_id: int) -> SnipeTarget | None:
        async with self._db.session() as session:
            row = await session.get(SnipeTargetRow, target_id)
            return to_target(row) if row else None

    async def list_armed_for_mint(
        self, mint: str, now: datetime | None = None
    ) -> list[SnipeTarget]:
        """ARMED targets on ``mint`` that have not expired, oldest first."""
        moment = now or self._now()
        stmt = (
            select(SnipeTargetRow)
            .where(
                SnipeTargetRow.token_mint == mint,
                SnipeTargetRow.status == SnipeStatus.ARMED,
                SnipeTargetRow.expires_at > moment,
            )
            .order_by(SnipeTargetRow.created_at, SnipeTargetRow.id)
        )
        async with self._db.session() as session:
            return [to_target(r) for r in await session.scalars(stmt)]

    async def armed_mints(self, now: datetime | None = None) -> set[str]:
        """Every mint some unexpired target waits for (the engine's in-memory filter)."""
        moment = now or self._now()
        stmt = select(SnipeTargetRow.token_mint).where(
            SnipeTargetRow.status == SnipeStatus.ARMED,
            SnipeTargetRow.expires_at > moment,
            SnipeTargetRow.token_mint.is_not(None),
        )
        async with self._db.session() as session:
            return {m for m in await session.scalars(stmt.distinct()) if m is not None}

    async def list_armed(
        self, now: datetime | None = None, limit: int | None = None
    ) -> list[SnipeTarget]:
        """Every ARMED, unexpired target of every selector, oldest first (the armed book's
        rebuild on start and after a missed Redis message)."""
        moment = now or self._now()
        stmt = (
            select(SnipeTargetRow)
            .where(SnipeTargetRow.status == SnipeStatus.ARMED, SnipeTargetRow.expires_at > moment)
            .order_by(SnipeTargetRow.created_at, SnipeTargetRow.id)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self._db.session() as session:
            return [to_target(r) for r in await session.scalars(stmt)]

    async def count_armed_for_user(self, user_id: int, now: datetime | None = None) -> int:
        """ARMED, unexpired targets of one user (the per-user bound is checked against it)."""
        moment = now or self._now()
        stmt = select(func.count()).where(
            SnipeTargetRow.user_id == user_id,
            SnipeTargetRow.status == SnipeStatus.ARMED,
            SnipeTargetRow.expires_at > moment,
        )
        async with self._db.session() as session:
            return int(await session.scalar(stmt) or 0)

    async def set_nonce(
        self,
        target_id: int,
        *,
        account: str,
        value: str | None,
        status: NonceStatus,
        expected_value: str | None,
    ) -> SnipeTarget:
        """Store the target's nonce account, its current value and status, by compare-and-set
        on the stored value (``expected_value``: the value the caller read, ``None`` when none
        was stored): two replicas refreshing or advancing one nonce never go back in time; the
        loser gets ``StaleNonceValue``, a missing target ``NotFound``. READY needs a value."""
        validate_pubkey_text(account, "nonce account")
        if value is not None:
            validate_pubkey_text(value, "nonce value")
        if status is NonceStatus.READY and value is None:
            raise ValueError("a READY nonce needs its value")
        scope = [
            SnipeTargetRow.id == target_id,
            SnipeTargetRow.nonce_value.is_not_distinct_from(expected_value),
        ]
        try:
            async with self._db.session() as session:
                row = (
                    await session.execute(
                        update(SnipeTargetRow)
                        .where(*scope)
                        .values(nonce_account=account, nonce_value=value, nonce_status=status)
                        .returning(SnipeTargetRow)
                    )
                ).scalar_one_or_none()
                if row is not None:
                    return to_target(row)
                current = await session.get(SnipeTargetRow, target_id)
        except IntegrityError as exc:
            raise ValueError(_nonce_taken(account)) from exc
        if current is None:
            raise NotFound(f"snipe {target_id} does not exist", snipe_id=target_id)
        raise StaleNonceValue(target_id, expected_value, current.nonce_value)

    async def mark_fired(
        self,
        target_id: int,
        order_id: str | None = None,
        now: datetime | None = None,
        *,
        mint: str | None = None,
    ) -> SnipeTarget:
        """ARMED -> FIRED (compare-and-set): the winner gets the target, everyone else
        ``StaleSnipeState``. ``mint``: the launch a creator or filter target fired on (stored
        as its ``tokenMint``; a mint target keeps its own)."""
        values: dict[str, Any] = {"status": SnipeStatus.FIRED, "fired_at": now or self._now()}
        if order_id is not None:
            values[_order_column(order_id)] = order_id
        if mint is not None:
            validate_pubkey_text(mint, "fired mint")
            values["token_mint"] = func.coalesce(SnipeTargetRow.token_mint, mint)
        return await self._cas(target_id, SnipeStatus.ARMED, values)

    async def attach_order(self, target_id: int, order_id: str) -> SnipeTarget:
        """Record the order a FIRED target produced (the latest one after a ``no_route`` retry);
        ``StaleSnipeState`` when the target is no longer FIRED."""
        return await self._cas(target_id, SnipeStatus.FIRED, {_order_column(order_id): order_id})

    async def mark_failed(
        self, target_id: int, error: str, order_id: str | None = None
    ) -> SnipeTarget:
        """FIRED -> FAILED with a short reason (the order row keeps the classified error);
        ``StaleSnipeState`` when the target is no longer FIRED."""
        values: dict[str, Any] = {"status": SnipeStatus.FAILED, "error": error[:_MAX_ERROR_CHARS]}
        if order_id is not None:
            values[_order_column(order_id)] = order_id
        return await self._cas(target_id, SnipeStatus.FIRED, values)

    async def expire_due(self, now: datetime | None = None) -> list[SnipeTarget]:
        """ARMED targets whose ``expiresAt`` passed become EXPIRED; returns them."""
        moment = now or self._now()
        async with self._db.session() as session:
            rows = await session.scalars(
                update(SnipeTargetRow)
                .where(
                    SnipeTargetRow.status == SnipeStatus.ARMED,
                    SnipeTargetRow.expires_at <= moment,
                )
                .values(status=SnipeStatus.EXPIRED)
                .returning(SnipeTargetRow)
            )
            return sorted((to_target(r) for r in rows), key=lambda t: t.id)

    async def list_fired_without_order(self) -> list[SnipeTarget]:
        """FIRED targets whose buy never recorded an order (a crash between the two): recovery
        re-runs them with the same idempotency key, which cannot buy twice."""
        stmt = (
            select(SnipeTargetRow)
            .where(
                SnipeTargetRow.status == SnipeStatus.FIRED,
                SnipeTargetRow.order_id.is_(None),
                SnipeTargetRow.paper_order_id.is_(None),
            )
            .order_by(SnipeTargetRow.id)
        )
        async with self._db.session() as session:
            return [to_target(r) for r in await session.scalars(stmt)]

    async def _cas(
        self,
        target_id: int,
        expected: SnipeStatus,
        values: dict[str, Any],
        *,
        user_id: int | None = None,
    ) -> SnipeTarget:
        """``expected -> values`` in one conditional UPDATE; ``NotFound`` when there is no such
        target (of ``user_id``, when given), ``StaleSnipeState`` when it is no longer
        ``expected``."""
        scope = [SnipeTargetRow.id == target_id]
        if user_id is not None:
            scope.append(SnipeTargetRow.user_id == user_id)
        row = await compare_and_set(
            self._db, SnipeTargetRow, scope, expected, values,
            missing=lambda: NotFound(f"snipe {target_id} does not exist", snipe_id=target_id),
            stale=lambda actual: StaleSnipeState(target_id, expected, SnipeStatus(actual)),
        )  # fmt: skip
        return to_target(row)


def _nonce_fields(account: str | None, value: str | None) -> NonceStatus | None:
    if account is None:
        if value is not None:
            raise ValueError("a nonce value needs its nonce account")
        return None
    validate_pubkey_text(account, "nonce account")
    if value is None:
        return NonceStatus.PENDING
    validate_pubkey_text(value, "nonce value")
    return NonceStatus.READY


def _nonce_taken(account: str) -> str:
    return f"nonce account {account} already serves another armed snipe; use a fresh one"
