"""The pure exit policy (``sniper_bot.domain.exits.decide``): properties over integer inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.domain.exits import LIMITS, ExitDecision, ExitReason, ExitRule, decide

OPENED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LAMPORTS = st.integers(min_value=0, max_value=10**15)
COST = st.integers(min_value=1, max_value=10**15)


def pct(name: str) -> st.SearchStrategy[int | None]:
    low, high = LIMITS[name]
    return st.none() | st.integers(min_value=low, max_value=high)


RULES = st.builds(
    ExitRule,
    take_profit_pct=pct("take_profit_pct"),
    stop_loss_pct=pct("stop_loss_pct"),
    trailing_stop_pct=pct("trailing_stop_pct"),
    max_hold_minutes=pct("max_hold_minutes"),
)
AGES = st.integers(min_value=0, max_value=20_000 * 60)


def at(age_s: int) -> datetime:
    return OPENED + timedelta(seconds=age_s)


@given(LAMPORTS, COST, LAMPORTS, AGES)
def test_no_rule_never_exits(value: int, cost: int, high: int, age_s: int) -> None:
    assert decide(value, cost, high, OPENED, at(age_s), ExitRule()) is None


@given(LAMPORTS, COST, LAMPORTS, AGES, RULES)
def test_stop_loss_fires_iff_value_fell_by_at_least_its_percent(
    value: int, cost: int, high: int, age_s: int, rule: ExitRule
) -> None:
    decision = decide(value, cost, high, OPENED, at(age_s), rule)
    hit = rule.stop_loss_pct is not None and value * 100 <= cost * (100 - rule.stop_loss_pct)
    assert (decision is not None and decision.reason is ExitReason.STOP_LOSS) == hit


@given(LAMPORTS, COST, st.integers(1, 99), st.integers(1, 10_000))
def test_take_profit_and_stop_loss_never_both_hold(value: int, cost: int, sl: int, tp: int) -> None:
    by_sl = decide(value, cost, 0, OPENED, OPENED, ExitRule(stop_loss_pct=sl))
    by_tp = decide(value, cost, 0, OPENED, OPENED, ExitRule(take_profit_pct=tp))
    assert by_sl is None or by_tp is None


@given(COST, st.integers(1, 10_000))
def test_take_profit_fires_exactly_at_its_threshold(cost: int, tp: int) -> None:
    rule = ExitRule(take_profit_pct=tp)
    threshold = -(-cost * (100 + tp) // 100)  # smallest value with value*100 >= cost*(100+tp)
    below = decide(threshold - 1, cost, 0, OPENED, OPENED, rule)
    at_threshold = decide(threshold, cost, 0, OPENED, OPENED, rule)
    assert below is None
    assert at_threshold == ExitDecision(ExitReason.TAKE_PROFIT, threshold, cost, threshold)


@given(LAMPORTS, COST, LAMPORTS, st.integers(1, 99))
def test_trailing_stop_measures_from_the_high_water_mark(
    value: int, cost: int, high: int, trail: int
) -> None:
    decision = decide(value, cost, high, OPENED, OPENED, ExitRule(trailing_stop_pct=trail))
    peak = max(high, value)
    hit = peak > 0 and value * 100 <= peak * (100 - trail)
    assert (decision is not None) == hit
    if decision is not None:
        assert decision.reason is ExitReason.TRAILING_STOP
        assert decision.high_water_lamports == peak


def test_trailing_stop_ignores_a_drop_below_cost_when_the_peak_was_close() -> None:
    rule = ExitRule(trailing_stop_pct=20)
    assert decide(850, 1_000, 1_000, OPENED, OPENED, rule) is None  # 15 % off the peak
    fired = decide(2_000, 1_000, 2_600, OPENED, OPENED, rule)  # 23 % off, still in profit
    assert fired is not None
    assert fired.reason is ExitReason.TRAILING_STOP


@given(LAMPORTS, COST, st.integers(1, 10_080), AGES)
def test_max_hold_fires_iff_the_position_is_old_enough(
    value: int, cost: int, minutes: int, age_s: int
) -> None:
    decision = decide(value, cost, 0, OPENED, at(age_s), ExitRule(max_hold_minutes=minutes))
    assert (decision is not None) == (age_s >= minutes * 60)


@given(LAMPORTS, LAMPORTS, RULES)
def test_without_a_cost_basis_only_trailing_and_max_hold_can_fire(
    value: int, high: int, rule: ExitRule
) -> None:
    decision = decide(value, 0, high, OPENED, OPENED, rule)
    assert decision is None or decision.reason is ExitReason.TRAILING_STOP
    if decision is not None:
        assert decision.pnl_bps is None


def test_pnl_is_reported_in_integer_basis_points() -> None:
    decision = decide(1_500, 1_000, 0, OPENED, OPENED, ExitRule(take_profit_pct=50))
    assert decision is not None
    assert (decision.pnl_lamports, decision.pnl_bps) == (500, 5_000)


@pytest.mark.parametrize(
    ("name", "bad"),
    [("take_profit_pct", 0), ("stop_loss_pct", 100), ("trailing_stop_pct", 0),
     ("max_hold_minutes", 10_081)],
)  # fmt: skip
def test_rule_out_of_range_is_refused(name: str, bad: int) -> None:
    with pytest.raises(ValueError, match=name):
        ExitRule(**{name: bad})


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        decide(-1, 1, 0, OPENED, OPENED, ExitRule(stop_loss_pct=10))
