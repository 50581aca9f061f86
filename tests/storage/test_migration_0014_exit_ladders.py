"""0014_exit_ladders: up gives existing UserSettings rows sellWithCreator = false and no ladder,
existing positions no exit plan (NULL = the owner's defaults), and the JSON columns round-trip;
down drops the three columns and keeps the rows. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, text

from sniper_bot.storage import Database


async def columns(db: Database, table: str) -> set[str]:
    def read(c: object) -> set[str]:
        return {x["name"] for x in inspect(c).get_columns(table)}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


async def test_0014_up_adds_ladder_creator_and_plan_down_removes_them(empty_db: Database) -> None:
    await empty_db.upgrade("0013_broadcast")
    assert not {"exitLadder", "sellWithCreator"} & await columns(empty_db, "UserSettings")
    assert "exitPlan" not in await columns(empty_db, "Position")
    async with empty_db.engine.begin() as conn:
        await conn.execute(
            text('INSERT INTO "User" (id, "telegramId", username) VALUES (1, 7, \'u\')')
        )
        await conn.execute(
            text(
                'INSERT INTO "Wallet" (id, "userId", "publicKey", label, "keyId", salt, nonce, '
                "ciphertext) VALUES (1, 1, 'P', 'w', 'k', :b, :b, :b)"
            ),
            {"b": b"x"},
        )
        await conn.execute(
            text(
                'INSERT INTO "UserSettings" ("userId", "buyPresetsLamports", "takeProfitPct") '
                "VALUES (1, '[1]', 50)"
            )
        )
        await conn.execute(
            text(
                'INSERT INTO "Position" ("userId", "walletId", "tokenMint", "tokenAmount") '
                "VALUES (1, 1, 'M', 1000)"
            )
        )

    await empty_db.upgrade("0014_exit_ladders")
    assert {"exitLadder", "sellWithCreator"} <= await columns(empty_db, "UserSettings")
    assert "exitPlan" in await columns(empty_db, "Position")
    async with empty_db.engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    'SELECT "exitLadder", "sellWithCreator", "takeProfitPct" FROM "UserSettings" '
                    'WHERE "userId" = 1'
                )
            )
        ).one()
        assert (row[0], bool(row[1]), row[2]) == (None, False, 50)
        plan = (await conn.execute(text('SELECT "exitPlan" FROM "Position"'))).scalar_one()
        assert plan is None
        with pytest.raises(Exception, match=r"(?i)null"):
            async with conn.begin_nested():
                await conn.execute(text('UPDATE "UserSettings" SET "sellWithCreator" = NULL'))
        ladder = [[100, 50], [300, 25]]
        await conn.execute(
            text('UPDATE "UserSettings" SET "exitLadder" = :l, "sellWithCreator" = true'),
            {"l": json.dumps(ladder)},
        )
        await conn.execute(
            text('UPDATE "Position" SET "exitPlan" = :p'), {"p": json.dumps({"ladder": ladder})}
        )
        row = (
            await conn.execute(text('SELECT "exitLadder", "sellWithCreator" FROM "UserSettings"'))
        ).one()
        assert (_json(row[0]), bool(row[1])) == (ladder, True)
        plan = (await conn.execute(text('SELECT "exitPlan" FROM "Position"'))).scalar_one()
        assert _json(plan) == {"ladder": ladder}

    await empty_db.downgrade("0013_broadcast")
    assert not {"exitLadder", "sellWithCreator"} & await columns(empty_db, "UserSettings")
    assert "exitPlan" not in await columns(empty_db, "Position")
    async with empty_db.engine.begin() as conn:
        kept = (await conn.execute(text('SELECT "takeProfitPct" FROM "UserSettings"'))).scalar_one()
        amount = (await conn.execute(text('SELECT "tokenAmount" FROM "Position"'))).scalar_one()
        assert (kept, amount) == (50, 1000)
    await empty_db.upgrade()
    assert await empty_db.schema_drift() == []
