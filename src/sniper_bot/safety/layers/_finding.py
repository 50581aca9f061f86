"""One constructor for findings so every layer builds them the same way."""

from __future__ import annotations

from solders.pubkey import Pubkey

from sniper_bot.domain.risk import EvidenceValue, Finding, Severity

__all__ = ["bps_text", "finding", "share_bps"]


def finding(
    code: str,
    layer: str,
    severity: Severity,
    weight: int,
    title: str,
    **evidence: EvidenceValue | Pubkey,
) -> Finding:
    clean: dict[str, EvidenceValue] = {
        k: (str(v) if isinstance(v, Pubkey) else v) for k, v in evidence.items()
    }
    return Finding(code, layer, severity, weight, title, clean)


def share_bps(amount: int, total: int) -> int:
    """``amount`` as basis points of ``total`` (0 when total is 0)."""
    return 0 if total <= 0 else min(10_000, amount * 10_000 // total)


def bps_text(bps: int) -> str:
    whole, frac = divmod(bps, 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}%"
