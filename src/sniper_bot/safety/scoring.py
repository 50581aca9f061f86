"""Scoring: findings -> a 0-100 score and a honeypot verdict. Pure, documented, explainable.

    score = min(100, sum of finding weights)
    any CRITICAL finding -> score = max(score, 70)        (a critical finding blocks on its own)
    is_honeypot = any CRITICAL finding                    (the chain lets someone stop/tax a sell)

Weights per finding are listed in docs/SAFETY.md and in each layer's docstring. A score is
therefore always the sum a user can recompute from the findings shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sniper_bot.domain.risk import Finding, RiskReport, Severity

__all__ = ["CRITICAL_FLOOR", "build_report", "score_findings"]

CRITICAL_FLOOR = 70


def score_findings(findings: Sequence[Finding]) -> tuple[int, bool]:
    """(score, is_honeypot) for these findings."""
    score = min(100, sum(f.weight for f in findings))
    critical = any(f.severity is Severity.CRITICAL for f in findings)
    if critical:
        score = max(score, CRITICAL_FLOOR)
    return score, critical


def _order(f: Finding) -> tuple[int, int]:
    return (-f.severity.rank, -f.weight)


def build_report(
    mint: str,
    findings: Sequence[Finding],
    *,
    checked_at: datetime,
    inputs_slot: int | None,
    authority_fingerprint: str = "",
) -> RiskReport:
    """A report with findings sorted most severe first (stable within a severity)."""
    score, is_honeypot = score_findings(findings)
    return RiskReport(
        mint=mint,
        score=score,
        is_honeypot=is_honeypot,
        findings=tuple(sorted(findings, key=_order)),
        checked_at=checked_at,
        inputs_slot=inputs_slot,
        authority_fingerprint=authority_fingerprint,
    )
