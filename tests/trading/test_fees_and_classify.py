"""Priority fee policy and failure classification (pure; hypothesis where it pays)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.chain.errors import PreflightFailure, RpcUnavailableError
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderErrorType
from sniper_bot.solana.programs import (
    JUPITER_V6_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
)
from sniper_bot.solana.tx_errors import classify_tx_error, is_already_processed
from sniper_bot.trading.classify import classify_exception
from sniper_bot.trading.errors import NoRouteError
from sniper_bot.trading.fees import auto_priority_fee, percentile, priority_fee_lamports

BUDGET = "ComputeBudget111111111111111111111111111111"


@pytest.mark.parametrize(
    ("level", "lamports"),
    [
        (FeeLevel.NONE, 0),
        (FeeLevel.LOW, 1_000),
        (FeeLevel.MEDIUM, 10_000),
        (FeeLevel.HIGH, 100_000),
        (FeeLevel.TURBO, 1_000_000),
        (FeeLevel.ULTRA, 10_000_000),
    ],
)
def test_fixed_levels_are_the_runbooks_lamports(level: FeeLevel, lamports: int) -> None:
    assert priority_fee_lamports(level, max_lamports=1) == lamports


def test_auto_uses_a_percentile_of_nonzero_fees_times_the_cu_limit() -> None:
    fees = [0, 0, 0, 100, 200, 300, 400]
    # 75th percentile of [100, 200, 300, 400] = 300 micro-lamports/CU x 300k CU = 90 lamports
    assert priority_fee_lamports(
        FeeLevel.AUTO, max_lamports=10**9, recent_micro_lamports_per_cu=fees
    ) == max(90, 1_000)
    busy = [1_000_000] * 10
    assert auto_priority_fee(busy, max_lamports=50_000) == 50_000
    assert auto_priority_fee(busy, max_lamports=10**9) == 300_000


@given(
    st.lists(st.integers(min_value=0, max_value=10**12), max_size=150),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=1, max_value=1_400_000),
)
def test_auto_fee_never_exceeds_the_users_maximum(fees: list[int], cap: int, cu: int) -> None:
    fee = auto_priority_fee(fees, max_lamports=cap, compute_unit_limit=cu)
    assert 0 <= fee <= cap


@given(st.lists(st.integers(), min_size=1), st.floats(min_value=0.01, max_value=100))
def test_percentile_is_a_member_between_min_and_max(values: list[int], pct: float) -> None:
    p = percentile(values, pct)
    assert p in values
    assert min(values) <= p <= max(values)


def test_percentile_monotonic() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 100) == 100


PROGRAMS = [BUDGET, BUDGET, SYSTEM_PROGRAM, TOKEN_PROGRAM, JUPITER_V6_PROGRAM, TOKEN_2022_PROGRAM]


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        ({"InstructionError": [4, {"Custom": 6001}]}, OrderErrorType.SLIPPAGE_EXCEEDED),
        ({"InstructionError": [3, {"Custom": 1}]}, OrderErrorType.INSUFFICIENT_FUNDS),
        ({"InstructionError": [2, {"Custom": 1}]}, OrderErrorType.INSUFFICIENT_FUNDS),
        ("InsufficientFundsForFee", OrderErrorType.INSUFFICIENT_FUNDS),
        ("AccountNotFound", OrderErrorType.INSUFFICIENT_FUNDS),
        ({"InsufficientFundsForRent": {"account_index": 2}}, OrderErrorType.INSUFFICIENT_FUNDS),
        ("BlockhashNotFound", OrderErrorType.BLOCKHASH_EXPIRED),
        ({"InstructionError": [3, {"Custom": 17}]}, OrderErrorType.REJECTED),
        ({"InstructionError": [5, {"Custom": 37}]}, OrderErrorType.REJECTED),
        ({"InstructionError": [5, {"Custom": 67}]}, OrderErrorType.REJECTED),
        ({"InstructionError": [4, {"Custom": 6024}]}, OrderErrorType.INSUFFICIENT_FUNDS),
        ({"InstructionError": [0, "ComputationalBudgetExceeded"]}, OrderErrorType.REJECTED),
        ("WouldExceedMaxBlockCostLimit", OrderErrorType.FEE_TOO_LOW),
    ],
)
def test_transaction_errors_classify_to_runbook_types(err: Any, expected: OrderErrorType) -> None:
    error = classify_tx_error(err, program_ids=PROGRAMS)
    assert error.type is expected
    assert error.details["err"] == err
    assert error.user_message  # every type has the runbook sentence


def test_frozen_account_reads_as_rejected_with_the_reason() -> None:
    error = classify_tx_error({"InstructionError": [3, {"Custom": 17}]}, program_ids=PROGRAMS)
    assert "frozen" in error.message
    assert error.user_message == "The swap was rejected by the token's program."


def test_slippage_without_program_ids_uses_the_logs_then_the_code() -> None:
    logs = [f"Program {JUPITER_V6_PROGRAM} failed: custom program error: 0x1771"]
    error = classify_tx_error({"InstructionError": [3, {"Custom": 6001}]}, logs=logs)
    assert error.type is OrderErrorType.SLIPPAGE_EXCEEDED
    assert error.details["program"] == JUPITER_V6_PROGRAM


def test_unknown_failure_in_simulation_is_simulation_failed() -> None:
    error = classify_tx_error(
        {"InstructionError": [4, {"Custom": 4242}]}, program_ids=PROGRAMS, stage="simulation"
    )
    assert error.type is OrderErrorType.SIMULATION_FAILED
    assert "0x1092" in error.message


@given(
    st.one_of(
        st.text(max_size=30),
        st.fixed_dictionaries(
            {
                "InstructionError": st.tuples(
                    st.integers(0, 10),
                    st.one_of(
                        st.text(max_size=10),
                        st.fixed_dictionaries({"Custom": st.integers(0, 2**32 - 1)}),
                    ),
                )
            }
        ),
    )
)
def test_classification_is_total(err: Any) -> None:
    error = classify_tx_error(err, program_ids=PROGRAMS)
    assert isinstance(error.type, OrderErrorType)


def test_exceptions_classify() -> None:
    pf = PreflightFailure(
        "Transaction simulation failed: Blockhash not found", err="BlockhashNotFound"
    )
    assert classify_exception(pf).type is OrderErrorType.BLOCKHASH_EXPIRED
    assert classify_exception(RpcUnavailableError("RPC unavailable: all failed")).type is (
        OrderErrorType.RPC_UNAVAILABLE
    )
    assert classify_exception(NoRouteError("no route")).type is OrderErrorType.NO_ROUTE
    assert is_already_processed("AlreadyProcessed")
    assert not is_already_processed({"InstructionError": [0, "x"]})
