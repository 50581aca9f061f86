"""0008_trade_settings: up keeps existing UserSettings rows and gives them the defaults; down
drops exactly the four columns and keeps the rows. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from sniper_bot.storage import Database

COLUMNS = {"mevProtection", "jitoTipLamports", "tipPercentile", "forceJupiter"}


async def settings_columns(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return {
            c["name"] for c in await conn.run_sync(lambda c: inspect(c).get_columns("UserSettings"))
        }


async def test_0008_up_defaults_existing_rows_and_down_drops_only_its_columns(
    empty_db: Database,
) -> None:
    await empty_db.upgrade("0007_session_version")
    assert not (COLUMNS & await settings_columns(empty_db))
    async with empty_db.engine.begin() as conn:
        await conn.execute(
            text('INSERT INTO "User" (id, "telegramId", username) VALUES (1, 7, \'u\')')
        )
        await conn.execute(
            text(
                'INSERT INTO "UserSettings" ("userId", "buyPresetsLamports", "slippageBps") '
                "VALUES (1, '[1]', 250)"
            )
        )

    await empty_db.upgrade("0008_trade_settings")
    assert await settings_columns(empty_db) >= COLUMNS
    async with empty_db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    'SELECT "mevProtection", "jitoTipLamports", "tipPercentile", "forceJupiter", '
                    '"slippageBps" FROM "UserSettings" WHERE "userId" = 1'
                )
            )
        ).one()
    assert (bool(row[0]), row[1], row[2], bool(row[3]), row[4]) == (False, None, None, False, 250)
    async with empty_db.engine.begin() as conn:  # the new columns take values, a bigint tip too
        await conn.execute(
            text(
                'UPDATE "UserSettings" SET "mevProtection" = true, "forceJupiter" = true, '
                '"jitoTipLamports" = 5000000000000, "tipPercentile" = 95'
            )
        )
        # NOT NULL holds for the booleans
        with pytest.raises(Exception, match=r"(?i)null"):
            async with conn.begin_nested():
                await conn.execute(text('UPDATE "UserSettings" SET "forceJupiter" = NULL'))

    await empty_db.downgrade("0007_session_version")
    columns = await settings_columns(empty_db)
    assert not (COLUMNS & columns)
    assert {"slippageBps", "takeProfitPct", "maxHoldMinutes"} <= columns
    async with empty_db.engine.connect() as conn:
        kept = (await conn.execute(text('SELECT "slippageBps" FROM "UserSettings"'))).all()
    assert [r[0] for r in kept] == [250]
