"""What the pump.fun program's errors mean for an order, and the venue's own exceptions.

Codes are pump-sdk 2.0.0's IDL (`errors`) and Anchor's framework codes. Three kinds:

* market conditions (slippage 6002/6003/6042, not enough tokens, not enough SOL): the order fails
  with the type's sentence, the user may try again;
* the curve completed (6005): the coin graduated; the order is built again on PumpSwap when that
  venue exists (nothing was sent: the executor re-quotes only before SIGNED), else it fails with
  a sentence saying where the coin went;
* our instruction is wrong (a seeds / address / owner constraint, a missing remaining account, an
  unknown fee recipient...): a bug on our side, never retried, logged at error level with the
  program's own error name so it can be reported.
"""

from __future__ import annotations

from typing import Any, Final

import structlog

from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.errors import PermanentError
from sniper_bot.trading.errors import NoRouteError, TradingError

__all__ = [
    "BONDING_CURVE_COMPLETE",
    "GRADUATED_ELSEWHERE_SENTENCE",
    "GRADUATED_RETRY_SENTENCE",
    "GRADUATED_SENTENCE",
    "CurveCompleteError",
    "NotOnCurveError",
    "PumpBugError",
    "UnsupportedCurveError",
    "pump_order_error",
    "quote_label",
]

log = structlog.get_logger(__name__)

BONDING_CURVE_COMPLETE: Final = 6005
GRADUATED_SENTENCE: Final = (
    "This coin graduated from its pump.fun bonding curve while your order was on its way, so "
    "nothing was bought. It now trades on PumpSwap: place the order again to buy it there."
)
GRADUATED_ELSEWHERE_SENTENCE: Final = (
    "This coin graduated from its pump.fun bonding curve while your order was on its way, so "
    "nothing was bought. Place the order again: it is routed to where the coin trades now."
)
GRADUATED_RETRY_SENTENCE: Final = "This coin graduated; retrying on PumpSwap."
BUG_SENTENCE: Final = (
    "pump.fun refused the transaction we built as malformed. This is a bug on our side and has "
    "been logged for the operators; nothing was bought or sold. Trading this coin through "
    "Jupiter may still work."
)

_MARKET: Final[dict[int, tuple[OrderErrorType, str]]] = {
    6002: (OrderErrorType.SLIPPAGE_EXCEEDED,
           "TooMuchSolRequired: the price rose past max_sol_cost"),
    6003: (OrderErrorType.SLIPPAGE_EXCEEDED,
           "TooLittleSolReceived: the price fell below min_sol_output"),
    6042: (OrderErrorType.SLIPPAGE_EXCEEDED, "BuySlippageBelowMinTokensOut"),
    6021: (OrderErrorType.INSUFFICIENT_LIQUIDITY, "NotEnoughTokensToBuy: the curve is sold out"),
    6023: (OrderErrorType.INSUFFICIENT_FUNDS, "NotEnoughTokensToSell"),
    6040: (OrderErrorType.INSUFFICIENT_FUNDS, "BuyNotEnoughSolToCoverRent"),
    6041: (OrderErrorType.INSUFFICIENT_FUNDS, "BuyNotEnoughSolToCoverFees"),
}  # fmt: skip
# Program codes that can only mean our accounts or arguments are wrong.
_BUGS: Final[dict[int, str]] = {
    6000: "NotAuthorized (fee recipient not in Global)",
    6004: "MintDoesNotMatchBondingCurve",
    6020: "BuyZeroAmount",
    6022: "SellZeroAmount",
    6024: "Overflow (a legacy trade without bonding-curve-v2, or a sell past the reserves)",
    6027: "NotEnoughRemainingAccounts",
    6057: "BuybackFeeRecipientNotAuthorized",
    6062: "BuybackFeeRecipientMissing",
    6063: "UnsupportedQuoteMint",
    6064: "InvalidQuoteTokenProgram",
    6065: "InvalidAssociatedQuoteBondingCurve",
    6072: "MissingCashbackAccounts",
    6073: "InvalidCashbackAccumulator",
    6074: "InvalidBondingCurveV2",
}
_ANCHOR: Final[dict[int, str]] = {
    100: "InstructionMissing", 101: "InstructionFallbackNotFound",
    102: "InstructionDidNotDeserialize", 2000: "ConstraintMut", 2001: "ConstraintHasOne",
    2002: "ConstraintSigner", 2003: "ConstraintRaw", 2006: "ConstraintSeeds",
    2012: "ConstraintAddress", 3001: "AccountDiscriminatorNotFound",
    3002: "AccountDiscriminatorMismatch", 3005: "AccountNotEnoughKeys",
    3007: "AccountOwnedByWrongProgram", 3012: "AccountNotInitialized",
}  # fmt: skip


def pump_order_error(code: int, details: dict[str, Any], *, pumpswap: bool) -> OrderError:
    """The order error for custom ``code`` raised by the pump program."""
    details = {**details, "venue": "pumpfun"}
    if code == BONDING_CURVE_COMPLETE:
        details.update(graduated=True, sentence=GRADUATED_ELSEWHERE_SENTENCE)
        if pumpswap:
            details.update(reroute="pumpswap", sentence=GRADUATED_SENTENCE)
        return OrderError(OrderErrorType.NO_ROUTE, "BondingCurveComplete: the coin graduated",
                          details)  # fmt: skip
    if code in _MARKET:
        kind, text = _MARKET[code]
        return OrderError(kind, f"pump.fun {text} ({code})", details)
    name = _BUGS.get(code) or _ANCHOR.get(code)
    if name is not None or 2000 <= code < 4000:
        label = name or f"Anchor error {code}"
        log.error("pumpfun_instruction_bug", code=code, error=label, **_loggable(details))
        details.update(bug=True, sentence=BUG_SENTENCE)
        return OrderError(OrderErrorType.REJECTED, f"BUG: pump.fun {label} ({code})", details)
    return OrderError(OrderErrorType.REJECTED, f"pump.fun custom program error {code}", details)


def _loggable(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k in ("instruction", "stage", "err")}


class NotOnCurveError(NoRouteError):
    """The mint has no pump.fun bonding curve: another venue must route it."""


class CurveCompleteError(NoRouteError):
    """The curve completed: the coin trades on PumpSwap now (``graduated`` in details)."""

    def __init__(self, mint: str) -> None:
        super().__init__(
            f"pump.fun curve of {mint} is complete (graduated)",
            details={"graduated": True, "venue": "pumpfun", "sentence": GRADUATED_SENTENCE},
        )
        self.user_message = GRADUATED_SENTENCE


# Names for the quote mints a user meets; any other is shown by its address.
QUOTE_NAMES: Final = {
    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v": "USDC",
    "So11111111111111111111111111111111111111112": "SOL",
}


def quote_label(quote_mint: str) -> str:
    """``USDC (EPjF...Dt1v)`` for a known quote mint, the address alone otherwise."""
    name = QUOTE_NAMES.get(quote_mint)
    return f"{name} ({quote_mint})" if name else quote_mint


class UnsupportedCurveError(NoRouteError):
    """The order pays (or receives) another mint than the one the coin's curve is quoted in:
    a SOL order for a USDC-quoted coin. Nothing is sent; the sentence names the curve's quote."""

    def __init__(
        self,
        mint: str,
        quote_mint: str,
        *,
        paid: str = "So11111111111111111111111111111111111111112",
    ) -> None:
        label, paid_label = quote_label(quote_mint), QUOTE_NAMES.get(paid, paid)
        sentence = (
            f"This coin's pump.fun curve is priced in {label}, not {paid_label}. Your order is "
            f"in {paid_label}, and the bot does not swap your {paid_label} into "
            f"{QUOTE_NAMES.get(quote_mint, 'that token')} behind your back (a second trade at its "
            "own price, and a position held against another currency), so nothing was bought "
            "or sold."
        )
        super().__init__(
            f"pump.fun curve of {mint} is quoted in {quote_mint}, the order pays {paid}",
            details={"venue": "pumpfun", "quote_mint": quote_mint, "sentence": sentence},
        )
        self.user_message = sentence
        self.quote_mint = quote_mint


class PumpBugError(TradingError, PermanentError):
    """Our own pump.fun handling is wrong (an account we cannot decode, a quote we did not make):
    never retried, logged at error level."""

    error_type = OrderErrorType.REJECTED

    def __init__(self, message: str, **details: Any) -> None:
        log.error("pumpfun_bug", error=message, **details)
        super().__init__(f"BUG: {message}", details={**details, "bug": True,
                                                      "sentence": BUG_SENTENCE})  # fmt: skip
        self.user_message = BUG_SENTENCE
