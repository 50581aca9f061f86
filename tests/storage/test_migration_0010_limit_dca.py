"""0010_limit_dca: up creates LimitOrder and DcaPlan (their checks hold) and gives existing
UserSettings rows paperTrading = false; down drops both tables and the column, keeping the rows.
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from sniper_bot.storage import Database

LIMIT_INSERT = (
    'INSERT INTO "LimitOrder" ("userId", "walletId", "tokenMint", side, "triggerKind", '
    '"triggerValue", "amountLamports", "sellPct", decimals, "slippageBps", "priorityFee", '
    "\"expiresAt\") VALUES (1, 1, 'M', :side, 'PRICE', 28000000, :amount, :pct, 6, 100, "
    "'MEDIUM', CURRENT_TIMESTAMP)"
)
DCA_INSERT = (
    'INSERT INTO "DcaPlan" ("userId", "walletId", "tokenMint", side, "totalAmount", parts, '
    '"intervalSeconds", decimals, "slippageBps", "priorityFee", "nextAt") '
    "VALUES (1, 1, 'M', 'BUY', :total, :parts, 60, 6, 100, 'MEDIUM', CURRENT_TIMESTAMP)"
)


async def schema(db: Database) -> tuple[set[str], set[str]]:
    def read(c: object) -> tuple[set[str], set[str]]:
        insp = inspect(c)
        return set(insp.get_table_names()), {x["name"] for x in insp.get_columns("UserSettings")}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def test_0010_up_creates_tables_and_defaults_paper_trading_down_removes_them(
    empty_db: Database,
) -> None:
    await empty_db.upgrade("0009_armed_snipes")
    tables, columns = await schema(empty_db)
    assert not {"LimitOrder", "DcaPlan"} & tables
    assert "paperTrading" not in columns
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
                'INSERT INTO "UserSettings" ("userId", "buyPresetsLamports", "slippageBps") '
                "VALUES (1, '[1]', 250)"
            )
        )

    await empty_db.upgrade("0010_limit_dca")
    tables, columns = await schema(empty_db)
    assert {"LimitOrder", "DcaPlan"} <= tables
    assert "paperTrading" in columns
    async with empty_db.engine.begin() as conn:
        row = (
            await conn.execute(
                text('SELECT "paperTrading", "slippageBps" FROM "UserSettings" WHERE "userId" = 1')
            )
        ).one()
        assert (bool(row[0]), row[1]) == (False, 250)
        with pytest.raises(Exception, match=r"(?i)null"):
            async with conn.begin_nested():
                await conn.execute(text('UPDATE "UserSettings" SET "paperTrading" = NULL'))
        # a buy with lamports and a sell with a percentage are accepted, with defaults
        await conn.execute(text(LIMIT_INSERT), {"side": "BUY", "amount": 5 * 10**9, "pct": None})
        await conn.execute(text(LIMIT_INSERT), {"side": "SELL", "amount": None, "pct": 50})
        stored = (
            await conn.execute(text('SELECT status, "orderId" FROM "LimitOrder" ORDER BY id'))
        ).all()
        assert [tuple(r) for r in stored] == [("OPEN", None), ("OPEN", None)]
        for bad in (
            {"side": "BUY", "amount": 0, "pct": None},
            {"side": "SELL", "amount": None, "pct": 101},
            {"side": "BUY", "amount": 1, "pct": 50},
        ):
            with pytest.raises(Exception, match=r"(?i)check|constraint"):
                async with conn.begin_nested():
                    await conn.execute(text(LIMIT_INSERT), bad)
        await conn.execute(text(DCA_INSERT), {"total": 10**9, "parts": 4})
        plan = (await conn.execute(text('SELECT status, "partsDone" FROM "DcaPlan"'))).one()
        assert tuple(plan) == ("ACTIVE", 0)
        for bad in ({"total": 0, "parts": 4}, {"total": 1, "parts": 0}):
            with pytest.raises(Exception, match=r"(?i)check|constraint"):
                async with conn.begin_nested():
                    await conn.execute(text(DCA_INSERT), bad)
        with pytest.raises(Exception, match=r"(?i)check|constraint"):
            async with conn.begin_nested():
                await conn.execute(text('UPDATE "DcaPlan" SET "partsDone" = 5'))

    await empty_db.downgrade("0009_armed_snipes")
    tables, columns = await schema(empty_db)
    assert not {"LimitOrder", "DcaPlan"} & tables
    assert "paperTrading" not in columns
    assert {"slippageBps", "forceJupiter"} <= columns
    async with empty_db.engine.connect() as conn:
        kept = (await conn.execute(text('SELECT "slippageBps" FROM "UserSettings"'))).all()
    assert [r[0] for r in kept] == [250]
