"""Third-party opinions (RugCheck, GoPlus), fetched only when enabled: advisory, never critical.

score >= 70 HIGH (30), >= 40 MEDIUM (10), otherwise INFO. Their absence changes nothing.
"""

from __future__ import annotations

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers._finding import finding
from sniper_bot.safety.snapshot import TokenSnapshot

__all__ = ["check_external"]

LAYER = "external"


def check_external(snap: TokenSnapshot) -> list[Finding]:
    out: list[Finding] = []
    for opinion in snap.external:
        score = opinion.score
        if score is not None and score >= 70:
            severity, weight = Severity.HIGH, 30
        elif score is not None and score >= 40:
            severity, weight = Severity.MEDIUM, 10
        else:
            severity, weight = Severity.INFO, 0
        out.append(
            finding(
                f"external_{opinion.source}",
                LAYER,
                severity,
                weight,
                f"{opinion.source} rates this token {score if score is not None else 'unknown'}"
                "/100.",
                source=opinion.source,
                score=score,
                risks="; ".join(opinion.risks),
            )
        )
    return out
