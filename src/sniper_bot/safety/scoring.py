"""Scoring: findings -> a 0-100 score and a honeypot verdict. Pure, documented, explainable.

    chain = min(100, sum of on-chain finding weights)
    any CRITICAL on-chain finding -> chain = max(chain, 70)   (a critical finding blocks on its own)
    external = sum of the weights of the "external" layer's findings (RugCheck, GoPlus)
    score = min(100, chain + external)          when chain >= 70
          = min(69, chain + external)           otherwise: third-party opinions never carry a
                                                token across 70 without on-chain evidence
    is_honeypot = any CRITICAL on-chain finding   (the chain lets someone stop/tax a sell)

Weights per finding are listed in docs/SAFETY.md and in each layer's docstring. A score is
therefore always the sum a user can recompute from the findings shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sniper_bot.domain.risk import Finding, RiskReport, Severity

__all__ = ["CRITICAL_FLOOR", "EXTERNAL_LAYER", "build_report", "score_findings"]

CRITICAL_FLOOR = 70
EXTERNAL_LAYER = "external"


def score_findings(findings: Sequence[Finding]) -> tuple[int, bool]:
    """(score, is_honeypot) for these findings."""
    chain = [f for f in findings if f.layer != EXTERNAL_LAYER]
    external = sum(f.weight for f in findings if f.layer == EXTERNAL_LAYER)
    score = min(100, sum(f.weight for f in chain))
    critical = any(f.severity is Severity.CRITICAL for f in chain)
    if critical:
        score = max(score, CRITICAL_FLOOR)
    ceiling = 100 if score >= CRITICAL_FLOOR else CRITICAL_FLOOR - 1
    return min(ceiling, score + external), critical


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
