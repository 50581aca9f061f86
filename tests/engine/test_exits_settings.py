"""Exit rules in ``"UserSettings"`` (migration 0004): off by default, validated, persisted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from sniper_bot.storage import Database, InvalidSetting, Repositories


@pytest.fixture
async def repos(clean_pg_url: str) -> AsyncIterator[Repositories]:
    db = Database(clean_pg_url)
    await db.connect(attempts=1)
    try:
        yield Repositories.build(db)
    finally:
        await db.dispose()


async def test_exit_rules_are_off_until_set_then_persist_and_can_be_turned_off(
    repos: Repositories,
) -> None:
    user = await repos.users.get_or_create(42, "trader")
    fresh = await repos.settings.get(user.id)
    assert (fresh.take_profit_pct, fresh.stop_loss_pct) == (None, None)
    assert (fresh.trailing_stop_pct, fresh.max_hold_minutes) == (None, None)

    await repos.settings.update(
        user.id, take_profit_pct=50, stop_loss_pct=20, trailing_stop_pct=15, max_hold_minutes=90
    )
    saved = await repos.settings.get(user.id)
    assert (saved.take_profit_pct, saved.stop_loss_pct) == (50, 20)
    assert (saved.trailing_stop_pct, saved.max_hold_minutes) == (15, 90)
    assert saved.slippage_bps == fresh.slippage_bps  # other settings untouched

    await repos.settings.update(user.id, stop_loss_pct=None)
    off = await repos.settings.get(user.id)
    assert off.stop_loss_pct is None
    assert off.take_profit_pct == 50


async def test_the_columns_are_camel_case_as_the_runbook_sql_expects(
    repos: Repositories, clean_pg_url: str
) -> None:
    user = await repos.users.get_or_create(43, None)
    await repos.settings.update(user.id, take_profit_pct=25, max_hold_minutes=10)
    db = Database(clean_pg_url)
    try:
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        'SELECT "takeProfitPct", "stopLossPct", "trailingStopPct", '
                        '"maxHoldMinutes" FROM "UserSettings" WHERE "userId" = :id'
                    ),
                    {"id": user.id},
                )
            ).one()
    finally:
        await db.dispose()
    assert tuple(row) == (25, None, None, 10)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("take_profit_pct", 0, "Take-profit must be a whole number from 1 to 10000%"),
        ("take_profit_pct", 10_001, "Take-profit"),
        ("stop_loss_pct", 100, "Stop-loss must be a whole number from 1 to 99%"),
        ("stop_loss_pct", 12.5, "Stop-loss"),
        ("trailing_stop_pct", True, "Trailing stop"),
        ("max_hold_minutes", 0, "Max hold time must be a whole number from 1 to 10080 minutes"),
        ("max_hold_minutes", "60", "Max hold time"),
    ],
)
async def test_an_out_of_range_exit_rule_is_refused_with_a_sentence_and_saves_nothing(
    repos: Repositories, name: str, value: Any, says: str
) -> None:
    user = await repos.users.get_or_create(44, None)
    await repos.settings.update(user.id, take_profit_pct=30)
    with pytest.raises(InvalidSetting) as info:
        await repos.settings.update(user.id, **{name: value})
    assert info.value.user_message is not None
    assert info.value.user_message.startswith(says)
    assert (await repos.settings.get(user.id)).take_profit_pct == 30
