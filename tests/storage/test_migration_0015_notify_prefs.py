"""0015_notify_prefs: up gives existing UserSettings rows every notification on and
confirmTrades off (it was never honoured; a buy asks first only when the user turns it on),
existing snipes, limit orders and DCA plans paper = false; a paper fill id goes in paperOrderId
where orderId's foreign key would refuse it; down cancels paper rows that still wait (they would
become real money) and drops the columns, keeping the rows. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from sniper_bot.domain.entities import UserSettings
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.repositories.dca import DcaPlanRepository
from sniper_bot.storage.repositories.limits import LimitOrderRepository

NOTIFY = {"notifyFills", "notifyExits", "notifySnipeMisses", "notifyCopies"}
MINT = "So11111111111111111111111111111111111111112"


async def columns(db: Database, table: str) -> set[str]:
    def read(c: object) -> set[str]:
        return {x["name"] for x in inspect(c).get_columns(table)}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def seed(db: Database) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    async with db.engine.begin() as conn:
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
                'INSERT INTO "UserSettings" ("userId", "buyPresetsLamports", "confirmTrades") '
                "VALUES (1, '[1]', true)"
            )
        )
        await conn.execute(
            text(
                'INSERT INTO "SnipeTarget" ("userId", "walletId", "tokenMint", "amountLamports", '
                '"slippageBps", "priorityFee", status, "expiresAt") '
                "VALUES (1, 1, :m, 1000, 100, 'MEDIUM', 'ARMED', :t)"
            ),
            {"m": MINT, "t": later},
        )


async def test_0015_up_adds_prefs_and_paper_columns_down_removes_them(empty_db: Database) -> None:
    await empty_db.upgrade("0014_exit_ladders")
    assert not NOTIFY & await columns(empty_db, "UserSettings")
    await seed(empty_db)

    await empty_db.upgrade("0015_notify_prefs")
    assert await columns(empty_db, "UserSettings") >= NOTIFY
    for table in ("SnipeTarget", "LimitOrder", "DcaPlan"):
        assert {"paper", "paperOrderId"} <= await columns(empty_db, table)
    async with empty_db.engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    'SELECT "notifyFills", "notifyExits", "notifySnipeMisses", "notifyCopies", '
                    '"confirmTrades" FROM "UserSettings"'
                )
            )
        ).one()
        assert [bool(v) for v in row] == [True, True, True, True, False]
        paper = (await conn.execute(text('SELECT paper FROM "SnipeTarget"'))).scalar_one()
        assert bool(paper) is False
        with pytest.raises(Exception, match=r"(?i)null"):
            async with conn.begin_nested():
                await conn.execute(text('UPDATE "UserSettings" SET "notifyExits" = NULL'))
        # a raw insert gets the new defaults
        await conn.execute(
            text('INSERT INTO "User" (id, "telegramId", username) VALUES (2, 8, \'v\')')
        )
        await conn.execute(
            text('INSERT INTO "UserSettings" ("userId", "buyPresetsLamports") VALUES (2, \'[1]\')')
        )
        fresh = (
            await conn.execute(
                text('SELECT "confirmTrades", "notifyFills" FROM "UserSettings" WHERE "userId" = 2')
            )
        ).one()
        assert (bool(fresh[0]), bool(fresh[1])) == (False, True)

    # the repositories: prefs round-trip, a paper row keeps its paper fill id
    repos = Repositories.build(empty_db)
    saved = await repos.settings.update(1, notify_exits=False, notify_copies=False)
    assert (saved.notify_exits, saved.notify_copies, saved.notify_fills) == (False, False, True)
    got = await repos.settings.get(1)
    assert isinstance(got, UserSettings)
    assert (got.notify_exits, got.notify_copies, got.notify_snipe_misses) == (False, False, True)
    limits = LimitOrderRepository(empty_db)
    order = await limits.create(
        user_id=1, wallet_id=1, token_mint=MINT, side=OrderSide.BUY, trigger_kind="PRICE",
        trigger_value=5, decimals=6, slippage_bps=100, priority_fee=FeeLevel.MEDIUM,
        expires_at=datetime.now(UTC) + timedelta(hours=1), amount_lamports=1000, paper=True,
    )  # fmt: skip
    assert order.paper is True
    await limits.claim(order.id)
    attached = await limits.attach_order(order.id, "paper:17")
    assert attached.order_id == "paper:17"
    assert await limits.list_fired_without_order(timedelta(0)) == []
    plans = DcaPlanRepository(empty_db)
    plan = await plans.create(
        user_id=1, wallet_id=1, token_mint=MINT, side=OrderSide.SELL, total_amount=900, parts=3,
        interval_seconds=60, decimals=6, slippage_bps=100, priority_fee=FeeLevel.MEDIUM,
        paper=True,
    )  # fmt: skip
    advanced = await plans.advance(plan.id, 0, "paper:18", datetime.now(UTC))
    assert advanced is not None
    assert (advanced.paper, advanced.last_order_id, advanced.parts_done) == (True, "paper:18", 1)
    snipe = await repos.snipes.arm(
        user_id=1, wallet_id=1, token_mint=MINT, amount_lamports=5, slippage_bps=100,
        priority_fee=FeeLevel.MEDIUM, expires_at=datetime.now(UTC) + timedelta(hours=1),
        paper=True,
    )  # fmt: skip
    await repos.snipes.mark_fired(snipe.id)
    fired = await repos.snipes.attach_order(snipe.id, "paper:19")
    assert (fired.paper, fired.order_id) == (True, "paper:19")
    assert [t.id for t in await repos.snipes.list_fired_without_order()] == []
    waiting = await repos.snipes.arm(
        user_id=1, wallet_id=1, token_mint=MINT, amount_lamports=5, slippage_bps=100,
        priority_fee=FeeLevel.MEDIUM, expires_at=datetime.now(UTC) + timedelta(hours=1),
        paper=True,
    )  # fmt: skip

    await empty_db.downgrade("0014_exit_ladders")
    assert not NOTIFY & await columns(empty_db, "UserSettings")
    for table in ("SnipeTarget", "LimitOrder", "DcaPlan"):
        assert not {"paper", "paperOrderId"} & await columns(empty_db, table)
    async with empty_db.engine.begin() as conn:
        statuses = dict((await conn.execute(text('SELECT id, status FROM "SnipeTarget"'))).all())
        assert statuses[waiting.id] == "CANCELLED"  # a paper snipe never turns into real money
        assert statuses[1] == "ARMED"  # the real one from before is kept as it was
        limit_status = (await conn.execute(text('SELECT status FROM "LimitOrder"'))).scalar_one()
        assert limit_status == "FIRED"
        plan_status = (await conn.execute(text('SELECT status FROM "DcaPlan"'))).scalar_one()
        assert plan_status == "CANCELLED"
    await empty_db.upgrade()
    assert await empty_db.schema_drift() == []
