"""What a failed Solana transaction means: ``TransactionError`` -> the order error types the
runbook's recovery steps speak to (trades and withdrawals alike).

Input is serde's externally-tagged ``TransactionError`` JSON as the chain facade returns it
(``"BlockhashNotFound"``, ``{"InstructionError": [3, {"Custom": 6001}]}``), plus the program ids
per instruction index when known (a ``Custom(1)`` means different things per program) and logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.solana.programs import JUPITER_V6_PROGRAM, SYSTEM_PROGRAM, TOKEN_PROGRAMS

__all__ = [
    "JUPITER_ONCHAIN_ERRORS",
    "SLIPPAGE_TOLERANCE_EXCEEDED",
    "Stage",
    "classify_tx_error",
    "is_already_processed",
]

SLIPPAGE_TOLERANCE_EXCEEDED = 6001  # 0x1771
# On-chain Jupiter program errors (custom codes) -> order error type.
JUPITER_ONCHAIN_ERRORS: dict[int, OrderErrorType] = {
    6000: OrderErrorType.NO_ROUTE,  # EmptyRoute
    SLIPPAGE_TOLERANCE_EXCEEDED: OrderErrorType.SLIPPAGE_EXCEEDED,
    6017: OrderErrorType.SLIPPAGE_EXCEEDED,  # ExactOutAmountNotMatched
    6024: OrderErrorType.INSUFFICIENT_FUNDS,  # InsufficientFunds
}


# Token program custom errors (PROTOCOLS 7.6).
_TOKEN_ERRORS: dict[int, tuple[OrderErrorType, str]] = {
    1: (OrderErrorType.INSUFFICIENT_FUNDS, "token program: insufficient funds"),
    17: (OrderErrorType.REJECTED, "token account is frozen (freeze authority used)"),
    37: (OrderErrorType.REJECTED, "token is non-transferable"),
    67: (OrderErrorType.REJECTED, "token mint is paused"),
    30: (OrderErrorType.REJECTED, "transfer fee exceeds its maximum"),
}
_UNIT_ERRORS: dict[str, tuple[OrderErrorType, str]] = {
    "BlockhashNotFound": (OrderErrorType.BLOCKHASH_EXPIRED, "blockhash not found (expired)"),
    "InsufficientFundsForFee": (OrderErrorType.INSUFFICIENT_FUNDS, "not enough SOL for the fee"),
    "AccountNotFound": (OrderErrorType.INSUFFICIENT_FUNDS, "fee payer has no SOL (not found)"),
    "InsufficientFundsForRent": (OrderErrorType.INSUFFICIENT_FUNDS, "not enough SOL for rent"),
    "AccountInUse": (OrderErrorType.FEE_TOO_LOW, "account in use; not scheduled"),
    "WouldExceedMaxBlockCostLimit": (OrderErrorType.FEE_TOO_LOW, "block full"),
    "WouldExceedMaxAccountCostLimit": (OrderErrorType.FEE_TOO_LOW, "account write-locked"),
}

Stage = Literal["simulation", "onchain"]


def is_already_processed(err: Any) -> bool:
    """``AlreadyProcessed``: the same signature landed before; not a failure of a resend."""
    return isinstance(err, str) and err == "AlreadyProcessed"


def _program_at(program_ids: Sequence[str], index: int) -> str | None:
    return program_ids[index] if 0 <= index < len(program_ids) else None


def _custom_from_logs(logs: Sequence[str]) -> str | None:
    for line in reversed(logs):
        if " failed: " in line and line.startswith("Program "):
            return line.split()[1]
    return None


def classify_tx_error(
    err: Any,
    *,
    program_ids: Sequence[str] = (),
    logs: Sequence[str] = (),
    stage: Stage = "onchain",
) -> OrderError:
    """A ``TransactionError`` -> ``OrderError`` (type, message, details with the raw err)."""
    default = OrderErrorType.SIMULATION_FAILED if stage == "simulation" else OrderErrorType.REJECTED
    details: dict[str, Any] = {"err": err, "stage": stage}
    name = err if isinstance(err, str) else next(iter(err), None) if isinstance(err, dict) else None
    if name in _UNIT_ERRORS:
        kind, text = _UNIT_ERRORS[name]
        return OrderError(kind, text, details)
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        program = _program_at(program_ids, int(index)) or _custom_from_logs(logs)
        details.update(instruction=index, program=program)
        if isinstance(inner, dict) and "Custom" in inner:
            code = int(inner["Custom"])
            details["custom"] = code
            if program in TOKEN_PROGRAMS and code in _TOKEN_ERRORS:
                kind, text = _TOKEN_ERRORS[code]
                return OrderError(kind, text, details)
            if program == SYSTEM_PROGRAM and code == 1:
                return OrderError(
                    OrderErrorType.INSUFFICIENT_FUNDS,
                    "system program: insufficient lamports",
                    details,
                )
            if code in JUPITER_ONCHAIN_ERRORS and program not in TOKEN_PROGRAMS | {SYSTEM_PROGRAM}:
                if program not in (None, JUPITER_V6_PROGRAM):
                    details["note"] = "custom code read as Jupiter's"
                kind = JUPITER_ONCHAIN_ERRORS[code]
                return OrderError(kind, f"custom program error: {code:#x}", details)
            return OrderError(
                default, f"instruction {index}: custom program error {code:#x}", details
            )
        if inner == "InsufficientFunds":
            return OrderError(OrderErrorType.INSUFFICIENT_FUNDS, "insufficient funds", details)
        return OrderError(default, f"instruction {index}: {inner}", details)
    return OrderError(default, f"transaction error: {err}", details)
