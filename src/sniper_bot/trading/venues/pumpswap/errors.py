"""PumpSwap's program errors as order errors: what each code means for an order and the user.

* Slippage (``ExceededSlippage`` 6004 both ways, ``BuySlippageBelowMinBaseAmountOut`` 6040) is a
  slippage error: the user's sentence says to raise slippage.
* The pool cannot fill the size (6016, 6063, 6003) is insufficient liquidity.
* Codes that mean the accounts or data *we* sent are wrong (a missing or wrong ``pool-v2``
  account, which the program reports as a misleading ``Overflow`` 6023 when absent; fee or
  buyback recipients; cashback accounts; Anchor's account and constraint errors such as 2006
  ``ConstraintSeeds`` for a wrong creator vault) are a bug of this venue: ``REJECTED`` with
  ``details["bug"] = True`` and a message that says to report it. Never ``NO_ROUTE``: the snipe
  engine retries that one, and the same accounts would fail the same way again.
"""

from __future__ import annotations

from typing import Any, Final

from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.solana.pumpswap import ERROR_NAMES, PUMP_AMM_PROGRAM_ID

__all__ = ["BUG_CODES", "PUMP_AMM_PROGRAM", "pumpswap_error"]

PUMP_AMM_PROGRAM: Final = str(PUMP_AMM_PROGRAM_ID)

_SLIPPAGE: Final = frozenset({6004, 6040})
_LIQUIDITY: Final = frozenset({6003, 6016, 6063})
_AMOUNT: Final = frozenset({6001, 6002, 6039})  # the size buys or sells nothing after fees
_DISABLED: Final = frozenset({6020, 6021})
BUG_CODES: Final = frozenset(
    {6008, 6009, 6013, 6014, 6015, 6023, 6024, 6044, 6053, 6057, 6058, 6059, 6060, 6061, 6062}
)
# Anchor's framework errors: instruction (100-103), constraint (2000-2038), account (3000-3017).
_ANCHOR: Final = {
    101: "InstructionFallbackNotFound", 102: "InstructionDidNotDeserialize",
    2000: "ConstraintMut", 2001: "ConstraintHasOne", 2003: "ConstraintRaw",
    2006: "ConstraintSeeds", 2012: "ConstraintAddress", 2014: "ConstraintTokenMint",
    2015: "ConstraintTokenOwner", 3005: "AccountNotEnoughKeys", 3007: "AccountOwnedByWrongProgram",
    3010: "AccountNotSigner", 3012: "AccountNotInitialized",
}  # fmt: skip


def _name(code: int) -> str:
    return ERROR_NAMES.get(code) or _ANCHOR.get(code) or f"custom error {code}"


def pumpswap_error(code: int, details: dict[str, Any], *, simulation: bool) -> OrderError:
    """A custom error code the PumpSwap program raised -> the order's error."""
    name = _name(code)
    details = {**details, "venue": "pumpswap", "program_error": name}
    if code in _SLIPPAGE:
        return OrderError(
            OrderErrorType.SLIPPAGE_EXCEEDED, f"PumpSwap: {name} ({code}): price moved", details
        )
    if code in _LIQUIDITY:
        return OrderError(
            OrderErrorType.INSUFFICIENT_LIQUIDITY, f"PumpSwap: {name} ({code})", details
        )
    if code in _AMOUNT:
        return OrderError(
            OrderErrorType.REJECTED,
            f"PumpSwap: {name} ({code}): the amount is too small to trade after fees",
            details,
        )
    if code in _DISABLED:
        return OrderError(
            OrderErrorType.REJECTED, f"PumpSwap: {name} ({code}): trading is disabled", details
        )
    if code in BUG_CODES or 100 <= code < 4000:
        hint = " (the pool-v2 account is missing)" if code == 6023 else ""
        return OrderError(
            OrderErrorType.REJECTED,
            f"PumpSwap refused the accounts the bot sent: {name} ({code}){hint}. This is a bug "
            "in the bot's PumpSwap venue, not the market: report it; it is not retried",
            {**details, "bug": True},
        )
    kind = OrderErrorType.SIMULATION_FAILED if simulation else OrderErrorType.REJECTED
    return OrderError(kind, f"PumpSwap: {name} ({code})", details)
