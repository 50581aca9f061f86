"""Property tests for average-cost position accounting (pure, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniper_bot.domain.entities import PositionTotals, apply_fill
from sniper_bot.domain.orders import OrderSide

amounts = st.integers(min_value=0, max_value=10**15)
fills = st.lists(
    st.tuples(st.sampled_from(list(OrderSide)), amounts, amounts, st.integers(0, 10**7)),
    max_size=30,
)


@settings(deadline=None)
@given(fills)
def test_realised_pnl_reconciles_exactly_with_cash_flows(
    steps: list[tuple[OrderSide, int, int, int]],
) -> None:
    pos = PositionTotals(0, 0, 0)
    spent = received = 0
    for side, a, b, fee in steps:
        pos = apply_fill(pos, side, a, b, fee)
        if side is OrderSide.BUY:
            spent += a + fee
        else:
            received += b - fee
        assert pos.token_amount >= 0
        assert pos.cost_basis_lamports >= 0
        if side is OrderSide.SELL and pos.token_amount == 0:
            assert pos.cost_basis_lamports == 0  # the last token sold releases all the cost
        assert pos.realized_pnl_lamports == received - spent + pos.cost_basis_lamports


@settings(deadline=None)
@given(st.integers(1, 10**12), st.integers(1, 10**12), st.integers(1, 10**12))
def test_selling_everything_releases_the_whole_cost(cost: int, tokens: int, proceeds: int) -> None:
    pos = apply_fill(PositionTotals(0, 0, 0), OrderSide.BUY, cost, tokens, 0)
    closed = apply_fill(pos, OrderSide.SELL, tokens, proceeds, 0)
    assert closed == PositionTotals(0, 0, proceeds - cost)
    assert not closed.is_open


def test_partial_sell_uses_floor_division_on_the_cost_share() -> None:
    pos = PositionTotals(token_amount=3, cost_basis_lamports=10, realized_pnl_lamports=0)
    after = apply_fill(pos, OrderSide.SELL, 1, 4, 0)
    assert after == PositionTotals(2, 7, 1)  # share = 10 * 1 // 3 = 3


def test_negative_amounts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        apply_fill(PositionTotals(0, 0, 0), OrderSide.BUY, -1, 1, 0)
