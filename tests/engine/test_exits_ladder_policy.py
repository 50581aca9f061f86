"""The ladder in the pure exit policy (``sniper_bot.domain.exits``): which step fires, how many
tokens it sells (integers, of the position before its first step), parsing and storing plans."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.domain.exits import (
    ExitReason,
    ExitRule,
    LadderStep,
    decide,
    format_ladder,
    parse_ladder,
    rule_from_json,
    rule_to_json,
    step_sell_amount,
)

OPENED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LADDER = (LadderStep(100, 50), LadderStep(300, 25))
RULE = ExitRule(stop_loss_pct=30, ladder=LADDER)


def test_steps_fire_in_order_one_at_a_time() -> None:
    cost = 1_000_000
    assert decide(1_999_999, cost, 0, OPENED, OPENED, RULE) is None  # just under 2x
    first = decide(2_000_000, cost, 0, OPENED, OPENED, RULE)
    assert first is not None
    assert (first.reason, first.step) == (ExitReason.TAKE_PROFIT_STEP, 0)
    # at 5x with nothing sold yet only step 0 fires; step 1 once step 0 is done
    jump = decide(5_000_000, cost, 0, OPENED, OPENED, RULE)
    assert jump is not None
    assert jump.step == 0
    assert decide(3_999_999, cost, 0, OPENED, OPENED, RULE, steps_done=1) is None
    second = decide(4_000_000, cost, 0, OPENED, OPENED, RULE, steps_done=1)
    assert second is not None
    assert second.step == 1
    assert decide(9_000_000, cost, 0, OPENED, OPENED, RULE, steps_done=2) is None  # all done
    stop = decide(700_000, cost, 0, OPENED, OPENED, RULE, steps_done=2)
    assert stop is not None
    assert (stop.reason, stop.step) == (ExitReason.STOP_LOSS, None)


def test_a_full_exit_beats_a_step() -> None:
    rule = ExitRule(take_profit_pct=100, ladder=LADDER)
    decision = decide(2_000_000, 1_000_000, 0, OPENED, OPENED, rule)
    assert decision is not None
    assert (decision.reason, decision.step) == (
        ExitReason.TAKE_PROFIT,
        None,
    )


def test_amounts_are_shares_of_the_position_before_the_first_step() -> None:
    held = 1_000_001
    first = step_sell_amount(LADDER, 0, held)
    assert first == 500_000
    second = step_sell_amount(LADDER, 1, held - first)
    assert second == 250_000  # 25 % of the original, from the 50 % left
    full = (LadderStep(100, 50), LadderStep(300, 50))
    assert step_sell_amount(full, 1, 500_001) == 500_001  # the step reaching 100 % sells all
    assert step_sell_amount(LADDER, 0, 1) == 1  # a share that rounds to 0 sells the dust


@given(
    st.integers(min_value=1, max_value=10**18),
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=5),
)
def test_steps_never_sell_more_than_held(held: int, shares: list[int]) -> None:
    ladder = tuple(LadderStep(100 * (i + 1), s) for i, s in enumerate(shares) if sum(shares) <= 100)
    left = held
    for index in range(len(ladder)):
        sold = step_sell_amount(ladder, index, left)
        assert 0 < sold <= left
        left -= sold
        if left == 0:  # a share that rounded to nothing sold the dust: the position is closed
            break
    if ladder and sum(s.sell_pct for s in ladder) == 100:
        assert left == 0


def test_parse_and_format() -> None:
    assert parse_ladder("2x:50 4x:25") == LADDER
    assert parse_ladder("+300%:25%, +100%:50%") == LADDER  # sorted by target
    assert parse_ladder("1.5x:20")[0] == LadderStep(50, 20)
    assert parse_ladder("off") == ()
    assert format_ladder(LADDER) == "50% at 2x, 25% at 4x"


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("2x", "is not a step"),
        ("1x:50", "above 1x"),
        ("2x:0", "from 1 to 100"),
        ("2x:60 3x:50", "at most 100 %"),
        ("2x:10 2x:20", "same target"),
        ("2x:1 3x:1 4x:1 5x:1 6x:1 7x:1", "at most 5 steps"),
        ("+0%:10", "the gain must be"),
    ],
)
def test_bad_ladders_are_refused_with_a_sentence(text: str, sentence: str) -> None:
    with pytest.raises(ValueError, match=sentence):
        parse_ladder(text)


def test_rules_validate_their_ladder() -> None:
    with pytest.raises(ValueError, match="rise"):
        ExitRule(ladder=(LadderStep(300, 10), LadderStep(100, 10)))
    assert ExitRule(sell_with_creator=True).is_active
    assert ExitRule(ladder=LADDER).is_active
    assert not ExitRule().is_active


def test_plans_round_trip_through_json() -> None:
    rule = ExitRule(stop_loss_pct=20, trailing_stop_pct=15, ladder=LADDER, sell_with_creator=True)
    assert rule_from_json(rule_to_json(rule)) == rule
    assert rule_from_json({}) == ExitRule()
