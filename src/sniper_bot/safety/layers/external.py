"""Third-party opinions (RugCheck, GoPlus), fetched only when enabled: advisory, never critical.

One finding per opinion, ``external_<source>``, with the source, its 0-100 score and the risks it
named as evidence: score >= 70 HIGH (30), >= 40 MEDIUM (10), otherwise INFO (0). Never CRITICAL,
and ``scoring`` keeps external weight from lifting a score across 70 on its own: only on-chain
evidence blocks. Their absence (disabled, slow, down) changes nothing.
"""

from __future__ import annotations

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers._finding import finding
from sniper_bot.safety.scoring import EXTERNAL_LAYER
from sniper_bot.safety.snapshot import TokenSnapshot

__all__ = ["SOURCE_NAMES", "check_external"]

LAYER = EXTERNAL_LAYER
SOURCE_NAMES = {"rugcheck": "RugCheck", "goplus": "GoPlus"}
_TITLE_RISKS = 2


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
        name = SOURCE_NAMES.get(opinion.source, opinion.source)
        rated = f"{score}/100" if score is not None else "unrated"
        title = f"{name} (third-party opinion) rates this token {rated}"
        named = [r for r in opinion.risks if not r.startswith("info:")][:_TITLE_RISKS]
        title += f": {'; '.join(named)}." if named else "."
        out.append(
            finding(
                f"external_{opinion.source}",
                LAYER,
                severity,
                weight,
                title,
                source=opinion.source,
                score=score,
                risks="; ".join(opinion.risks),
                dangers=sum(r.startswith("danger:") for r in opinion.risks),
                warnings=sum(r.startswith("warn:") for r in opinion.risks),
            )
        )
    return out
