"""The one storage ``is_transient``: which failures ``Database.session`` turns into
``TemporaryError`` for the layers above, and which pass through."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from sniper_bot.errors import PermanentError, TemporaryError
from sniper_bot.storage import Database
from sniper_bot.storage.errors import DatabaseWriteFailed
from sniper_bot.storage.transient import is_transient


class _State(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionRefusedError(), True),
        (TemporaryError("gone"), True),
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), True),
        (_State("40001"), True),  # serialization failure: asked to retry
        (_State("40P01"), True),  # deadlock
        (_State("08006"), True),  # connection failure
        (_State("57P03"), True),  # cannot connect now
        (_State("53300"), True),  # too many connections
        (_State("23505"), False),  # unique violation
        (IntegrityError("INSERT", {}, _State("08006")), False),  # a constraint is never retried
        (PermanentError("no"), False),
        (ValueError("bug"), False),
    ],
)
def test_is_transient_sorts_failures(exc: BaseException, expected: bool) -> None:
    assert is_transient(exc) is expected


def test_is_transient_follows_the_cause_chain() -> None:
    outer = RuntimeError("wrapped")
    outer.__cause__ = ConnectionResetError()
    assert is_transient(outer) is True


async def test_a_callers_temporary_error_in_a_session_passes_through_unchanged() -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    try:

        async def body() -> None:
            async with db.session():
                raise TemporaryError("the RPC is down", user_message="RPC down")

        with pytest.raises(TemporaryError) as raised:
            await body()
        assert type(raised.value) is TemporaryError
        assert raised.value.user_message == "RPC down"
    finally:
        await db.dispose()


async def test_a_driver_retry_request_in_a_session_becomes_a_temporary_storage_error() -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    try:

        async def body() -> None:
            async with db.session() as session:
                await session.execute(text("CREATE TABLE scratch (x INTEGER)"))
                locked = sqlite3.OperationalError("database is locked")
                raise OperationalError("UPDATE", {}, locked)

        with pytest.raises(DatabaseWriteFailed) as raised:
            await body()
        assert raised.value.saved is False
        assert isinstance(raised.value, TemporaryError)
    finally:
        await db.dispose()
