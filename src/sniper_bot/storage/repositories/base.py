"""Shared plumbing for repositories: the injected clock, dialect-aware upserts, the
compare-and-set, row-to-entity mapping and inserts of user-owned rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sniper_bot.storage.database import Database

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "Clock",
    "Repository",
    "by_column",
    "compare_and_set",
    "entity_of",
    "insert_for",
    "insert_owned",
    "utcnow",
]

Clock = Callable[[], datetime]
_T = TypeVar("_T")
_D = TypeVar("_D", bound="DataclassInstance")


def utcnow() -> datetime:
    return datetime.now(UTC)


def by_column(model: Any, values: Mapping[str, Any]) -> dict[Any, Any]:
    """Attribute-name keys to Column keys (``ON CONFLICT DO UPDATE SET`` wants column names)."""
    mapper = inspect(model)
    return {mapper.attrs[name].columns[0]: value for name, value in values.items()}


async def compare_and_set(
    db: Database,
    table: Any,
    scope: list[ColumnElement[bool]],
    expected: Any,
    values: Mapping[str, Any],
    *,
    missing: Callable[[], Exception],
    stale: Callable[[Any], Exception],
    conflict: str | None = None,
) -> Any:
    """The one compare-and-set of every stateful table: ``UPDATE ... WHERE <scope> AND status =
    expected RETURNING *`` in one statement. No row in ``scope``: ``missing()``; a row in another
    status: ``stale(actual status)``; a constraint violated (``conflict`` given): ValueError."""
    try:
        async with db.session() as session:
            row = (
                await session.execute(
                    update(table)
                    .where(*scope, table.status == expected)
                    .values(**values)
                    .returning(table)
                )
            ).scalar_one_or_none()
            if row is not None:
                return row
            actual = await session.scalar(select(table.status).where(*scope))
    except IntegrityError as exc:
        if conflict is None:
            raise
        raise ValueError(conflict) from exc
    if actual is None:
        raise missing()
    raise stale(actual)


def entity_of(cls: type[_D], row: Any, **converted: Any) -> _D:
    """The dataclass ``cls`` built from ``row``: each field is the row's attribute of the same
    name, except those given in ``converted`` (enums wrapped, renamed columns)."""
    names = [f.name for f in fields(cls) if f.name not in converted]
    return cls(**{n: getattr(row, n) for n in names}, **converted)


async def _check_wallet_owner(
    session: AsyncSession, wallet_model: Any, user_id: int, wallet_id: int
) -> None:
    """``NotFound`` unless the wallet belongs to the user (no guessed id attaches a row to
    someone else's wallet)."""
    from sniper_bot.storage.errors import NO_SUCH_WALLET_SENTENCE, NotFound

    owner = await session.scalar(select(wallet_model.user_id).where(wallet_model.id == wallet_id))
    if owner != user_id:
        raise NotFound(
            f"wallet {wallet_id} not found for user {user_id}",
            user_message=NO_SUCH_WALLET_SENTENCE,
            wallet_id=wallet_id,
            user_id=user_id,
        )


async def insert_owned(
    db: Database, row: Any, wallet_model: Any, convert: Callable[[Any], _T]
) -> _T:
    """Insert ``row`` (with ``user_id`` and ``wallet_id``) in one transaction and return
    ``convert(row)``; ``NotFound`` when the wallet is not the user's."""
    async with db.session() as session:
        await _check_wallet_owner(session, wallet_model, row.user_id, row.wallet_id)
        session.add(row)
        await session.flush()
        return convert(row)


def insert_for(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` with ``on_conflict_do_*`` for the session's dialect (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class Repository:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the repository clock must return aware UTC datetimes")
        return now


async def insert_idempotent(
    session: AsyncSession, model: Any, wallet_model: Any, values: Mapping[str, Any]
) -> tuple[Any, bool]:
    """Insert a row keyed by ``(user_id, idempotency_key)`` once: ``(row, True)`` when new,
    ``(existing row, False)`` when the key was seen before, also when two calls race.

    The row's wallet must belong to its user (``NotFound`` otherwise), so no id a user could guess
    attaches their action to someone else's wallet.
    """
    user_id = values["user_id"]
    await _check_wallet_owner(session, wallet_model, user_id, values["wallet_id"])
    stmt = (
        insert_for(session, model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[model.user_id, model.idempotency_key])
        .returning(model.id)
    )
    inserted = (await session.execute(stmt)).scalar_one_or_none()
    row = await session.scalar(
        select(model).where(
            model.user_id == user_id, model.idempotency_key == values["idempotency_key"]
        )
    )
    if row is None:  # pragma: no cover - the conflicting row cannot vanish in-transaction
        raise RuntimeError("idempotent insert found neither a new nor an existing row")
    return row, inserted is not None
