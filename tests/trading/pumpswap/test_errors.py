"""PumpSwap's program errors as our order errors (the table in venues/pumpswap/errors.py), read
through the venue's `explain` from what the generic classifier makes of the transaction error."""

from __future__ import annotations

import pytest

from sniper_bot.domain.orders import USER_SENTENCES, OrderError, OrderErrorType
from sniper_bot.solana.tx_errors import Stage, classify_tx_error
from sniper_bot.trading.venues.pumpswap import PumpSwapVenue
from sniper_bot.trading.venues.pumpswap.errors import PUMP_AMM_PROGRAM

BUDGET = "ComputeBudget111111111111111111111111111111"
VENUE = PumpSwapVenue(rpc=None)  # type: ignore[arg-type]  # explain reads nothing


def explained(
    code: int, *, program: str = PUMP_AMM_PROGRAM, stage: Stage = "simulation"
) -> OrderError:
    generic = classify_tx_error(
        {"InstructionError": [2, {"Custom": code}]}, program_ids=[BUDGET, BUDGET, program],
        stage=stage,
    )  # fmt: skip
    return VENUE.explain(generic, [BUDGET, BUDGET, program], [])


@pytest.mark.parametrize("code", [6004, 6040])
def test_slippage_codes_are_our_slippage_error(code: int) -> None:
    error = explained(code)
    assert error.type is OrderErrorType.SLIPPAGE_EXCEEDED
    assert error.user_message == USER_SENTENCES[OrderErrorType.SLIPPAGE_EXCEEDED]


@pytest.mark.parametrize("code", [6023, 6062, 6013, 6053, 6058, 2006, 2012, 3012, 3007, 101])
def test_wrong_or_missing_accounts_are_a_bug_report_never_a_retry(code: int) -> None:
    stages: tuple[Stage, ...] = ("simulation", "onchain")
    for stage in stages:
        error = explained(code, stage=stage)
        assert error.type is OrderErrorType.REJECTED
        assert error.details["bug"] is True
        assert "bug" in error.message
        assert "report" in error.message
    if code == 6023:  # the misleading Overflow of a trade without its pool-v2 account
        assert "pool-v2" in explained(code).message


def test_liquidity_and_other_codes() -> None:
    assert explained(6063).type is OrderErrorType.INSUFFICIENT_LIQUIDITY
    assert explained(6016).type is OrderErrorType.INSUFFICIENT_LIQUIDITY
    # 6001 is Jupiter's slippage code: from the AMM it is a zero base amount, not slippage
    assert explained(6001).type is OrderErrorType.REJECTED


def test_other_programs_errors_pass_through_unchanged() -> None:
    generic = classify_tx_error(
        {"InstructionError": [2, {"Custom": 6004}]}, program_ids=[BUDGET, BUDGET, BUDGET]
    )
    assert VENUE.explain(generic, [], []) is generic
