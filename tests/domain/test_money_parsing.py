"""User-typed SOL amounts: every string parses to lamports in range or raises ``InvalidAmount``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sniper_bot.domain.money import (
    LAMPORTS_PER_SOL,
    MAX_INT64,
    MAX_SOL_LAMPORTS,
    InvalidAmount,
    echo,
    format_sol,
    parse_sol,
)

NUMBERISH = st.text(alphabet="0123456789.,-+eE _SOLsolNaInfinity²١", max_size=40)


def test_bounds_fit_the_database_and_the_sol_supply() -> None:
    assert MAX_INT64 == 2**63 - 1
    # about 600 million SOL exist; 1 billion SOL bounds every real amount and fits a BigInteger
    assert MAX_SOL_LAMPORTS == 1_000_000_000 * LAMPORTS_PER_SOL
    assert MAX_SOL_LAMPORTS < MAX_INT64


@given(st.one_of(st.text(max_size=60), NUMBERISH))
@example("1e999999999999")
@example("-1e999999999999")
@example("1e-999999999")
@example("1e-999999999999")
@example("9" * 5000)
@example("sNaN")
@example("-0")
@example("0.0000000001")
@example("1_000")
@example("²")
def test_any_text_is_lamports_in_range_or_our_error(text: str) -> None:
    lamports: int | None = None
    message = ""
    try:
        lamports = parse_sol(text)
    except InvalidAmount as exc:
        message = str(exc)
    if lamports is None:
        assert 0 < len(message) <= 160  # never echoes unbounded input
        return
    assert type(lamports) is int
    assert 1 <= lamports <= MAX_SOL_LAMPORTS


@given(st.integers(min_value=1, max_value=MAX_SOL_LAMPORTS))
def test_valid_decimals_round_trip_to_the_exact_lamports(lamports: int) -> None:
    as_decimal = format(Decimal(lamports).scaleb(-9).normalize(), "f")
    assert parse_sol(as_decimal) == lamports
    assert parse_sol(format_sol(lamports)) == lamports
    assert parse_sol(as_decimal.replace(".", ",")) == lamports


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("1e999999999999", "the amount is too large: at most 1000000000 SOL"),
        ("99999999999999999999999", "the amount is too large: at most 1000000000 SOL"),
        ("1000000000.000000001", "the amount is too large: at most 1000000000 SOL"),
        ("-1e999999999999", "the amount must be greater than 0"),
        ("0", "the amount must be greater than 0"),
        ("1e-999999999", "SOL has at most 9 decimal places"),
        ("0.0000000001", "SOL has at most 9 decimal places"),
        ("abc", "'abc' is not a number; send an amount like 0.5"),
        ("NaN", "'NaN' is not a number; send an amount like 0.5"),
        ("²", "'²' is not a number; send an amount like 0.5"),
    ],
)
def test_bad_amounts_get_a_specific_sentence(typed: str, sentence: str) -> None:
    with pytest.raises(InvalidAmount) as raised:
        parse_sol(typed)
    assert str(raised.value) == sentence
    assert isinstance(raised.value, ValueError)  # callers that catch ValueError keep working


def test_the_largest_amount_parses() -> None:
    assert parse_sol("1000000000") == MAX_SOL_LAMPORTS
    assert parse_sol("0.000000001") == 1


def test_a_long_input_is_echoed_truncated() -> None:
    with pytest.raises(InvalidAmount) as raised:
        parse_sol("x" * 4096)
    assert str(raised.value) == f"'{'x' * 63}…' is not a number; send an amount like 0.5"


@given(st.text(max_size=300))
def test_echo_is_bounded(text: str) -> None:
    shown = echo(text)
    assert len(shown) <= 64
    if len(text) <= 64:
        assert shown == text
    else:
        assert shown == text[:63] + "…"
