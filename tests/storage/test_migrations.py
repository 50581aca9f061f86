"""Migrations: upgrade/downgrade/upgrade on both backends, and migrations == models."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from sniper_bot.storage import Database
from sniper_bot.storage.migrate import alembic_config, head_revision
from sniper_bot.storage.models import Base

TABLES = {
    "LimitOrder",
    "DcaPlan",
    "User",
    "Wallet",
    "UserSettings",
    "SniperOrder",
    "Position",
    "Trade",
    "HoneypotCheck",
    "Session",
    "SnipeTarget",  # 0002_snipe_targets (sniper_bot.storage.models.SnipeTargetRow)
    "Withdrawal",  # 0003_withdrawals (sniper_bot.storage.models.WithdrawalRow)
    "PaperAccount",  # 0011_paper (paper trading's simulated book)
    "PaperPosition",
    "PaperTrade",
    "CopyFollow",  # 0012_copy_trading (copy trading)
    "CopyTrade",
    "Broadcast",  # 0013_broadcast (/broadcast progress)
}


async def table_names(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade_leaves_a_schema_equal_to_the_models(
    empty_db: Database,
) -> None:
    head = head_revision()
    assert await empty_db.migration_status() == (None, head)
    assert not await empty_db.is_up_to_date()

    await empty_db.upgrade("0001_initial")
    assert await empty_db.migration_status() == ("0001_initial", head)
    assert not await empty_db.is_up_to_date()

    await empty_db.upgrade()
    assert await empty_db.migration_status() == (head, head)
    assert await empty_db.is_up_to_date()
    assert await table_names(empty_db) >= TABLES
    assert await empty_db.schema_drift() == []

    await empty_db.downgrade("base")
    assert await empty_db.migration_status() == (None, head)
    assert not (TABLES & await table_names(empty_db))

    await empty_db.upgrade()
    assert await empty_db.schema_drift() == []
    await empty_db.upgrade()  # idempotent at head
    assert await empty_db.is_up_to_date()
    async with empty_db.engine.connect() as conn:  # `alembic check`: nothing to generate
        await conn.run_sync(lambda c: command.check(alembic_config(c)))


async def test_drift_is_detected_when_the_schema_differs(empty_db: Database) -> None:
    await empty_db.upgrade()
    async with empty_db.engine.begin() as conn:
        await conn.execute(text('DROP INDEX "ix_Position_userId_status"'))
    drift = await empty_db.schema_drift()
    assert [d[0] for d in drift] == ["add_index"]


async def test_server_defaults_work_for_raw_sql_inserts(empty_db: Database) -> None:
    """Defaults are ``sa.func.now()``: a literal ``now()`` would break SQLite inserts."""
    await empty_db.upgrade()
    async with empty_db.engine.begin() as conn:
        await conn.execute(text('INSERT INTO "User" ("telegramId", username) VALUES (5, \'x\')'))
        row = (
            await conn.execute(
                text('SELECT "isAdmin", "pinFailedAttempts", "createdAt" FROM "User"')
            )
        ).one()
    assert row[0] in (False, 0)
    assert row[1] == 0
    assert row[2] is not None


def test_every_model_table_is_covered_by_the_test() -> None:
    assert set(Base.metadata.tables) == TABLES


def test_revisions_form_one_ordered_chain() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    chain = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    assert chain[0] == "0001_initial"
    assert chain[-1] == head_revision()
    numbers = [int(rev.split("_", 1)[0]) for rev in chain]
    assert numbers == list(range(1, len(chain) + 1))
