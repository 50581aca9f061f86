"""Money is integers end to end; floats exist only for display."""

from __future__ import annotations

from decimal import Decimal

__all__ = [
    "LAMPORTS_PER_SOL",
    "MAX_INT64",
    "MAX_SOL_LAMPORTS",
    "WSOL_MINT",
    "InvalidAmount",
    "echo",
    "format_sol",
    "format_tokens",
    "parse_sol",
]

LAMPORTS_PER_SOL = 1_000_000_000
WSOL_MINT = "So11111111111111111111111111111111111111112"
MAX_INT64 = 2**63 - 1  # the largest value a BigInteger column (and a u64 amount we send) holds
# About 600 million SOL exist: no real amount is above 1 billion SOL (and it fits a BigInteger).
MAX_SOL = 1_000_000_000
MAX_SOL_LAMPORTS = MAX_SOL * LAMPORTS_PER_SOL
ECHO_MAX_CHARS = 64


class InvalidAmount(ValueError):
    """A typed amount that cannot be used; ``str(exc)`` is the sentence for the user."""


def echo(text: str, limit: int = ECHO_MAX_CHARS) -> str:
    """User text to quote back in a sentence: at most ``limit`` characters (``…`` when cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_sol(text: str) -> int:
    """Parse a user-typed SOL amount ("0.5", "1", "0,25") into lamports.

    Returns lamports in ``1..MAX_SOL_LAMPORTS``; anything else raises ``InvalidAmount`` with a
    sentence a user can act on (never an ``ArithmeticError``, whatever the text).
    """
    cleaned = text.strip().replace(",", ".").removesuffix("SOL").removesuffix("sol").strip()
    not_a_number = InvalidAmount(f"'{echo(text.strip())}' is not a number; send an amount like 0.5")
    if not cleaned.isascii():
        raise not_a_number
    try:
        value = Decimal(cleaned)
    except (ArithmeticError, ValueError):
        raise not_a_number from None
    if not value.is_finite():
        raise not_a_number
    if value.is_zero() or value.is_signed():
        raise InvalidAmount("the amount must be greater than 0")
    # integer arithmetic on the digits: 1e999999999999 must not reach a decimal context
    if value.adjusted() >= len(str(MAX_SOL)):
        raise InvalidAmount(f"the amount is too large: at most {MAX_SOL} SOL")
    _, digit_tuple, exponent = value.as_tuple()
    digits = "".join(map(str, digit_tuple))
    shift = int(exponent) + 9  # lamports = digits * 10**shift
    if shift >= 0:
        lamports: int = int(digits) * 10**shift
    else:
        kept = digits.rstrip("0")
        if len(digits) - len(kept) < -shift:
            raise InvalidAmount("SOL has at most 9 decimal places")
        lamports = int(digits[:shift])
    if lamports > MAX_SOL_LAMPORTS:
        raise InvalidAmount(f"the amount is too large: at most {MAX_SOL} SOL")
    return lamports


def format_sol(lamports: int) -> str:
    """1_500_000_000 -> '1.5 SOL' (exact, no float rounding)."""
    value = Decimal(lamports) / LAMPORTS_PER_SOL
    text = format(value.normalize(), "f") if lamports else "0"
    return f"{text} SOL"


def format_tokens(amount: int, decimals: int) -> str:
    """Token base units to a display string with the mint's decimals."""
    if decimals == 0:
        return str(amount)
    value = Decimal(amount).scaleb(-decimals)
    return format(value.normalize(), "f") if amount else "0"
