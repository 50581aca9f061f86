"""Exit plans in storage (SQLite and PostgreSQL): the default ladder and "sell with creator" in
``"UserSettings"`` (validated, a sentence when bad), a position's own ``exitPlan`` (only its
owner's open position; cleared when a closed position re-opens), and the order lookup by key
prefix the exit monitor reads which ladder steps sold from."""

from __future__ import annotations

import pytest

from sniper_bot.domain.exits import ExitRule, LadderStep
from sniper_bot.domain.orders import OrderSide
from sniper_bot.storage import InvalidSetting, NotFound, Repositories

from .conftest import make_user
from .test_positions_trades import confirmed

LADDER = (LadderStep(100, 50), LadderStep(300, 25))


async def test_the_default_ladder_and_creator_switch_round_trip(repos: Repositories) -> None:
    user = await make_user(repos)
    assert (await repos.settings.get(user.id)).exit_ladder == ()
    saved = await repos.settings.update(user.id, exit_ladder=[[100, 50], [300, 25]],
                                        sell_with_creator=True)  # fmt: skip
    assert (saved.exit_ladder, saved.sell_with_creator) == (LADDER, True)
    again = await repos.settings.get(user.id)
    assert (again.exit_ladder, again.sell_with_creator) == (LADDER, True)
    assert (await repos.settings.get_many([user.id]))[user.id].exit_ladder == LADDER
    await repos.settings.update(user.id, exit_ladder=())
    assert (await repos.settings.get(user.id)).exit_ladder == ()


@pytest.mark.parametrize(
    ("ladder", "sentence"),
    [
        ([[300, 10], [100, 10]], "rise"),
        ([[100, 60], [300, 50]], "at most 100 %"),
        ([[100, 0]], "sell_pct"),
        ([[100]], "not saved"),
    ],
)
async def test_a_bad_ladder_is_refused_and_nothing_changes(
    repos: Repositories, ladder: list[list[int]], sentence: str
) -> None:
    user = await make_user(repos)
    await repos.settings.update(user.id, exit_ladder=LADDER)
    with pytest.raises(InvalidSetting) as caught:
        await repos.settings.update(user.id, exit_ladder=ladder)
    assert sentence.lower() in caught.value.user_message.lower()
    assert (await repos.settings.get(user.id)).exit_ladder == LADDER


async def test_a_positions_own_plan_is_its_owners_and_a_reopen_clears_it(
    repos: Repositories,
) -> None:
    buy = await confirmed(repos, "b1", OrderSide.BUY, 100)
    _, position = await repos.trades.record_trade(
        order_id=buy.id, in_amount=100, out_amount=10, fee_lamports=0, signature="a"
    )
    assert position.exit_plan is None
    plan = ExitRule(stop_loss_pct=20, ladder=LADDER, sell_with_creator=True)
    saved = await repos.positions.set_exit_plan(buy.user_id, position.id, plan)
    assert saved.exit_plan == plan
    (listed,) = await repos.positions.list_all_open()
    assert listed.exit_plan == plan
    other = await make_user(repos, 2002)
    with pytest.raises(NotFound):
        await repos.positions.set_exit_plan(other.id, position.id, None)
    assert await repos.positions.get_open_by_id(other.id, position.id) is None

    sell = await confirmed(repos, "s1", OrderSide.SELL, 10)
    await repos.trades.record_trade(
        order_id=sell.id, in_amount=10, out_amount=150, fee_lamports=0, signature="b"
    )
    with pytest.raises(NotFound):  # closed
        await repos.positions.set_exit_plan(buy.user_id, position.id, plan)
    rebuy = await confirmed(repos, "b2", OrderSide.BUY, 200)
    _, reopened = await repos.trades.record_trade(
        order_id=rebuy.id, in_amount=200, out_amount=5, fee_lamports=0, signature="c"
    )
    assert reopened.id == position.id
    assert reopened.exit_plan is None  # a new lifetime follows the defaults


async def test_orders_by_key_prefix_are_the_users_oldest_first(repos: Repositories) -> None:
    first = await confirmed(repos, "exit:7:2026-01-02T03:04:05+00:00:tp1", OrderSide.SELL, 5)
    second = await confirmed(repos, "exit:7:2026-01-02T03:04:05+00:00:tp2", OrderSide.SELL, 5)
    await confirmed(repos, "exit:70:2026-01-02T03:04:05+00:00", OrderSide.SELL, 5)
    await confirmed(repos, "exit:7:2026-01-02T03:04:05+00:00", OrderSide.SELL, 5, telegram_id=9)
    found = await repos.orders.list_by_key_prefix(first.user_id, "exit:7:2026-01-02T03:04:05")
    assert [o.id for o in found] == [first.id, second.id]
    assert await repos.orders.list_by_key_prefix(first.user_id, "exit:7:%") == []  # literal
