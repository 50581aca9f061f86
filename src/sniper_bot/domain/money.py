"""Money is integers end to end; floats exist only for display."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["LAMPORTS_PER_SOL", "WSOL_MINT", "format_sol", "format_tokens", "parse_sol"]

LAMPORTS_PER_SOL = 1_000_000_000
WSOL_MINT = "So11111111111111111111111111111111111111112"


def parse_sol(text: str) -> int:
    """Parse a user-typed SOL amount ("0.5", "1", "0,25") into lamports.

    Raises ValueError with a sentence a user can act on.
    """
    cleaned = text.strip().replace(",", ".").removesuffix("SOL").removesuffix("sol").strip()
    try:
        value = Decimal(cleaned)
    except ArithmeticError:
        raise ValueError(f"{text!r} is not a number; send an amount like 0.5") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a number; send an amount like 0.5")
    if value <= 0:
        raise ValueError("the amount must be greater than 0")
    lamports = value * LAMPORTS_PER_SOL
    if lamports != lamports.to_integral_value():
        raise ValueError("SOL has at most 9 decimal places")
    if lamports > 2**63 - 1:
        raise ValueError("the amount is too large")
    return int(lamports)


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
