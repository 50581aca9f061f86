"""Migration 0009_armed_snipes with rows in the table, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from sniper_bot.storage import Database

WHEN = datetime(2026, 5, 1, tzinfo=UTC)
MINT = "Mint" + "1" * 40
DEV = "Dev" + "1" * 41


async def execute(db: Database, sql: str, **params: object) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def snipe_rows(db: Database) -> list[tuple[object, ...]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text('SELECT id, "tokenMint" FROM "SnipeTarget" ORDER BY id'))
        return [tuple(r) for r in rows]


async def columns(db: Database) -> dict[str, bool]:
    from sqlalchemy import inspect

    async with db.engine.connect() as conn:
        cols = await conn.run_sync(lambda c: inspect(c).get_columns("SnipeTarget"))
    return {c["name"]: bool(c["nullable"]) for c in cols}


INSERT = (
    'INSERT INTO "SnipeTarget" (id, "userId", "walletId", "tokenMint", {extra_cols}'
    '"amountLamports", "slippageBps", "priorityFee", "expiresAt") '
    "VALUES (:id, 1, 1, :mint, {extra_vals}5, 100, 'LOW', :e)"
)


async def test_0009_up_keeps_rows_adds_selectors_and_down_drops_what_0008_cannot_hold(
    empty_db: Database,
) -> None:
    await empty_db.upgrade("0008_trade_settings")
    await execute(empty_db, 'INSERT INTO "User" (id, "telegramId") VALUES (1, 11)')
    await execute(
        empty_db,
        'INSERT INTO "Wallet" (id, "userId", "publicKey", label, "keyId", salt, nonce, '
        "ciphertext) VALUES (1, 1, :pk, 'w', 'k', :b, :b, :b)",
        pk="Pk" + "1" * 42,
        b=b"\x01" * 16,
    )
    legacy = INSERT.format(extra_cols="", extra_vals="")
    await execute(empty_db, legacy, id=1, mint=MINT, e=WHEN)
    cols = await columns(empty_db)
    assert cols["tokenMint"] is False
    assert "creator" not in cols

    await empty_db.upgrade("0009_armed_snipes")
    cols = await columns(empty_db)
    assert cols["tokenMint"] is True
    for name in ("creator", "launchFilter", "nonceAccount", "nonceValue", "nonceStatus"):
        assert cols[name] is True
    assert await snipe_rows(empty_db) == [(1, MINT)]  # the old row survived the table copy
    by_dev = INSERT.format(extra_cols='creator, "nonceAccount", ', extra_vals=":c, :n, ")
    await execute(empty_db, by_dev, id=2, mint=None, c=DEV, n="Nonce" + "1" * 39, e=WHEN)
    with pytest.raises(IntegrityError):  # no selector at all
        await execute(empty_db, legacy, id=3, mint=None, e=WHEN)
    with pytest.raises(IntegrityError):  # the same nonce account on a second ARMED target
        await execute(empty_db, by_dev, id=4, mint=MINT, c=None, n="Nonce" + "1" * 39, e=WHEN)
    assert await snipe_rows(empty_db) == [(1, MINT), (2, None)]

    await empty_db.downgrade("0008_trade_settings")
    assert await snipe_rows(empty_db) == [(1, MINT)]
    cols = await columns(empty_db)
    assert cols["tokenMint"] is False
    assert not {"creator", "launchFilter", "nonceAccount"} & set(cols)
    with pytest.raises(IntegrityError):  # NOT NULL is back
        await execute(empty_db, legacy, id=5, mint=None, e=WHEN)

    await empty_db.upgrade()
    assert await snipe_rows(empty_db) == [(1, MINT)]
    assert await empty_db.schema_drift() == []
