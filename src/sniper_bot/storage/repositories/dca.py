"""``"DcaPlan"`` (``storage.models.DcaPlanRow``): a total bought (or sold) in parts over time.

``advance`` is the plan's one crash-safe step: after part k's order was submitted under the key
``dca:<id>:<k>`` it moves ``partsDone`` from k to k+1 in one conditional UPDATE (``WHERE
"partsDone" = k``). A process killed between the two resubmits part k under the same key (the
order store returns the existing order) and advances then, so a part never runs twice; of two
replicas, one advances and the other's update matches nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.limits import DcaPlan, DcaStatus
from sniper_bot.domain.orders import OrderSide
from sniper_bot.errors import PermanentError
from sniper_bot.storage.errors import NotFound
from sniper_bot.storage.models import DcaPlanRow, WalletRow
from sniper_bot.storage.repositories.base import Repository, entity_of, insert_owned

__all__ = ["NO_SUCH_DCA_SENTENCE", "DcaNotRunning", "DcaPlanRepository", "to_plan"]

NO_SUCH_DCA_SENTENCE = "No such DCA plan. Send /orders to see yours."
_RUNNING = (DcaStatus.ACTIVE, DcaStatus.PAUSED)
_MAX_ERROR_CHARS = 500


def to_plan(row: DcaPlanRow) -> DcaPlan:
    return entity_of(
        DcaPlan, row, side=OrderSide(row.side), priority_fee=FeeLevel(row.priority_fee),
        status=DcaStatus(row.status), last_order_id=row.last_order_id or row.paper_order_id,
        paper=bool(row.paper),
    )  # fmt: skip


def _last_order(order_id: str | None) -> dict[str, str | None]:
    """A part's order: a paper fill (``paper:<id>``) has no ``"SniperOrder"`` row to point at."""
    if order_id is not None and order_id.startswith("paper:"):
        return {"paper_order_id": order_id, "last_order_id": None}
    return {"last_order_id": order_id, "paper_order_id": None}


class DcaNotRunning(PermanentError):
    def __init__(self, plan: DcaPlan) -> None:
        super().__init__(
            f"dca {plan.id} is {plan.status.value}",
            user_message=f"DCA plan #{plan.id} is already {plan.status.value.lower()}; "
            "only a running one can be cancelled.",
        )
        self.plan = plan


class DcaPlanRepository(Repository):
    async def create(
        self,
        *,
        user_id: int,
        wallet_id: int,
        token_mint: str,
        side: OrderSide,
        total_amount: int,
        parts: int,
        interval_seconds: int,
        decimals: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        band_min_price: int | None = None,
        band_max_price: int | None = None,
        first_at: datetime | None = None,
        paper: bool = False,
    ) -> DcaPlan:
        """A new ACTIVE plan whose first part is due at ``first_at`` (default: now)."""
        if total_amount <= 0 or parts < 1 or interval_seconds <= 0:
            raise ValueError(f"bad plan: total {total_amount}, {parts} parts, {interval_seconds}s")
        if total_amount < parts:
            raise ValueError(f"{total_amount} cannot be split in {parts} non-empty parts")
        validate_slippage_bps(slippage_bps)
        now = self._now()
        row = DcaPlanRow(
            user_id=user_id,
            wallet_id=wallet_id,
            token_mint=token_mint,
            side=side,
            total_amount=total_amount,
            parts=parts,
            parts_done=0,
            interval_seconds=interval_seconds,
            band_min_price=band_min_price,
            band_max_price=band_max_price,
            decimals=decimals,
            slippage_bps=slippage_bps,
            priority_fee=priority_fee,
            status=DcaStatus.ACTIVE,
            next_at=first_at or now,
            created_at=now,
            updated_at=now,
            paper=paper,
        )
        return await insert_owned(self._db, row, WalletRow, to_plan)

    async def get(self, user_id: int, plan_id: int) -> DcaPlan | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(DcaPlanRow).where(DcaPlanRow.id == plan_id, DcaPlanRow.user_id == user_id)
            )
            return to_plan(row) if row else None

    async def list_for_user(
        self, user_id: int, statuses: tuple[DcaStatus, ...] | None = None, limit: int = 20
    ) -> list[DcaPlan]:
        stmt = select(DcaPlanRow).where(DcaPlanRow.user_id == user_id)
        if statuses is not None:
            stmt = stmt.where(DcaPlanRow.status.in_(list(statuses)))
        stmt = stmt.order_by(DcaPlanRow.id.desc()).limit(limit)
        async with self._db.session() as session:
            return [to_plan(r) for r in await session.scalars(stmt)]

    async def cancel(self, user_id: int, plan_id: int) -> DcaPlan:
        """ACTIVE / PAUSED -> CANCELLED; ``NotFound`` (missing or another user's), else
        ``DcaNotRunning``. A part already submitted still runs to its end."""
        row = await self._update(
            [DcaPlanRow.id == plan_id, DcaPlanRow.user_id == user_id,
             DcaPlanRow.status.in_(_RUNNING)],
            {"status": DcaStatus.CANCELLED},
        )  # fmt: skip
        if row is not None:
            return row
        current = await self.get(user_id, plan_id)
        if current is None:
            raise NotFound(
                f"dca {plan_id} not found for user {user_id}",
                user_message=NO_SUCH_DCA_SENTENCE,
                plan_id=plan_id,
                user_id=user_id,
            )
        raise DcaNotRunning(current)

    # -- monitor (internal) ----------------------------------------------------------------------

    async def get_by_id(self, plan_id: int) -> DcaPlan | None:
        async with self._db.session() as session:
            row = await session.get(DcaPlanRow, plan_id)
            return to_plan(row) if row else None

    async def list_due(self, now: datetime, limit: int = 1_000) -> list[DcaPlan]:
        """Running plans whose next part is due at ``now``, oldest due first."""
        stmt = (
            select(DcaPlanRow)
            .where(DcaPlanRow.status.in_(_RUNNING), DcaPlanRow.next_at <= now)
            .order_by(DcaPlanRow.next_at, DcaPlanRow.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            return [to_plan(r) for r in await session.scalars(stmt)]

    async def advance(
        self, plan_id: int, part: int, order_id: str | None, next_at: datetime
    ) -> DcaPlan | None:
        """Part ``part`` was submitted: ``partsDone`` k -> k+1 (DONE after the last), next part
        due at ``next_at``. ``None``: another run advanced it already, or it was cancelled."""
        plan = await self.get_by_id(plan_id)
        if plan is None:
            return None
        done = part + 1 >= plan.parts
        return await self._update(
            [DcaPlanRow.id == plan_id, DcaPlanRow.parts_done == part,
             DcaPlanRow.status.in_(_RUNNING)],
            {"parts_done": part + 1, **_last_order(order_id), "next_at": next_at,
             "status": DcaStatus.DONE if done else DcaStatus.ACTIVE},
        )  # fmt: skip

    async def set_paused(self, plan_id: int, paused: bool) -> DcaPlan | None:
        """ACTIVE <-> PAUSED (the band); ``None`` when it was in neither (done, cancelled)."""
        expected, new = (
            (DcaStatus.ACTIVE, DcaStatus.PAUSED) if paused else (DcaStatus.PAUSED, DcaStatus.ACTIVE)
        )
        return await self._update(
            [DcaPlanRow.id == plan_id, DcaPlanRow.status == expected], {"status": new}
        )

    async def mark_done(self, plan_id: int) -> DcaPlan | None:
        return await self._update(
            [DcaPlanRow.id == plan_id, DcaPlanRow.status.in_(_RUNNING)],
            {"status": DcaStatus.DONE},
        )

    async def mark_failed(self, plan_id: int, error: str) -> DcaPlan | None:
        return await self._update(
            [DcaPlanRow.id == plan_id, DcaPlanRow.status.in_(_RUNNING)],
            {"status": DcaStatus.FAILED, "error": error[:_MAX_ERROR_CHARS]},
        )

    async def _update(self, where: list[Any], values: dict[str, Any]) -> DcaPlan | None:
        async with self._db.session() as session:
            row = (
                await session.execute(
                    update(DcaPlanRow)
                    .where(*where)
                    .values(**values, updated_at=self._now())
                    .returning(DcaPlanRow)
                )
            ).scalar_one_or_none()
            return to_plan(row) if row is not None else None
