"""Alembic environment (async).

Programmatic use (``sniper_bot.storage``) passes a live sync connection in
``config.attributes["connection"]``. Running the ``alembic`` CLI by hand also works: the URL comes
from ``-x url=...`` or ``DATABASE_URL``. ``render_as_batch=True`` always, so a revision generated
against PostgreSQL also runs on SQLite.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from sniper_bot.storage.models import Base
from sniper_bot.storage.urls import parse_database_url

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )


def _run_on(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    raw = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "DATABASE_URL", ""
    )
    return parse_database_url(raw).url.render_as_string(hide_password=False)


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


shared = config.attributes.get("connection")
if context.is_offline_mode():
    _run_offline()
elif shared is not None:
    _run_on(shared)
else:
    asyncio.run(_run_async())
