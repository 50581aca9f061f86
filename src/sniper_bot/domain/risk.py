"""The risk report: a 0-100 score, a honeypot verdict, and the findings that explain them.

A ``Finding`` is one fact a check layer established, with the evidence that proves it (addresses,
amounts, basis points, the program error of a failed sell simulation). Scoring lives in
``sniper_bot.safety.scoring``; this module only holds the values and the buy gate:

* a report at or above the block threshold refuses a buy (``OrderErrorType.HONEYPOT_BLOCKED``);
* a user may override a block only when no finding is ``CRITICAL``.

Everything here is stdlib only and JSON round-trips through ``to_json``/``from_json`` (stored as
``"HoneypotCheck".details``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sniper_bot.domain.orders import OrderError, OrderErrorType

__all__ = [
    "DEFAULT_RISK_BLOCK_THRESHOLD",
    "EvidenceValue",
    "Finding",
    "RiskReport",
    "Severity",
    "buy_gate",
]

DEFAULT_RISK_BLOCK_THRESHOLD = 70

EvidenceValue = str | int | bool | None


class Severity(enum.StrEnum):
    """How much a finding matters; ``CRITICAL`` alone forces a score >= 70, never overridable."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One established fact: ``code`` is a stable id, ``title`` the sentence a user reads."""

    code: str
    layer: str
    severity: Severity
    weight: int
    title: str
    evidence: Mapping[str, EvidenceValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.weight <= 100:
            raise ValueError(f"finding weight must be within 0..100, got {self.weight}")

    @property
    def is_critical(self) -> bool:
        return self.severity is Severity.CRITICAL

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "layer": self.layer,
            "severity": self.severity.value,
            "weight": self.weight,
            "title": self.title,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        evidence = data.get("evidence") or {}
        return cls(
            code=str(data["code"]),
            layer=str(data.get("layer", "")),
            severity=Severity(data["severity"]),
            weight=int(data["weight"]),
            title=str(data.get("title", "")),
            evidence={str(k): _evidence_value(v) for k, v in dict(evidence).items()},
        )


def _evidence_value(value: object) -> EvidenceValue:
    if value is None or isinstance(value, str | bool | int):
        return value
    return str(value)


@dataclass(frozen=True, slots=True)
class RiskReport:
    """The verdict on one mint; ``inputs_slot`` is the slot the fetched chain data was read at."""

    mint: str
    score: int
    is_honeypot: bool
    findings: tuple[Finding, ...]
    checked_at: datetime
    inputs_slot: int | None = None
    authority_fingerprint: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.score <= 100:
            raise ValueError(f"risk score must be within 0..100, got {self.score}")

    @property
    def critical_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_critical)

    @property
    def decisive_finding(self) -> Finding | None:
        """The finding that weighs most (critical first): the one-line reason shown to users."""
        if not self.findings:
            return None
        return max(self.findings, key=lambda f: (f.severity.rank, f.weight))

    def blocks(self, threshold: int = DEFAULT_RISK_BLOCK_THRESHOLD) -> bool:
        return self.score >= threshold

    @property
    def overridable(self) -> bool:
        """A user may buy despite a block only when nothing critical was found."""
        return not self.critical_findings

    def to_order_error(self, threshold: int = DEFAULT_RISK_BLOCK_THRESHOLD) -> OrderError:
        """The error stored on a refused order: type ``honeypot_blocked`` with the findings."""
        decisive = self.decisive_finding
        reason = decisive.title if decisive else "risk score above the threshold"
        return OrderError(
            OrderErrorType.HONEYPOT_BLOCKED,
            f"risk score {self.score} >= {threshold}: {reason}",
            {
                "mint": self.mint,
                "risk_score": self.score,
                "is_honeypot": self.is_honeypot,
                "threshold": threshold,
                "overridable": self.overridable,
                "findings": [f.to_json() for f in self.findings if f.severity.rank >= 2],
            },
        )

    def to_json(self) -> dict[str, Any]:
        """The ``"HoneypotCheck".details`` document: every finding, with its evidence."""
        return {
            "mint": self.mint,
            "score": self.score,
            "is_honeypot": self.is_honeypot,
            "checked_at": self.checked_at.isoformat(),
            "inputs_slot": self.inputs_slot,
            "authority_fingerprint": self.authority_fingerprint,
            "findings": [f.to_json() for f in self.findings],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RiskReport:
        slot = data.get("inputs_slot")
        return cls(
            mint=str(data["mint"]),
            score=int(data["score"]),
            is_honeypot=bool(data["is_honeypot"]),
            findings=tuple(Finding.from_json(f) for f in data.get("findings", [])),
            checked_at=datetime.fromisoformat(str(data["checked_at"])),
            inputs_slot=None if slot is None else int(slot),
            authority_fingerprint=str(data.get("authority_fingerprint", "")),
        )


def buy_gate(
    report: RiskReport,
    threshold: int = DEFAULT_RISK_BLOCK_THRESHOLD,
    *,
    user_override: bool = False,
) -> OrderError | None:
    """None when the buy may proceed; otherwise the ``honeypot_blocked`` error to store.

    Below the threshold a buy proceeds. At or above it, it is refused unless the user explicitly
    overrides AND no finding is critical (a critical finding can never be overridden).
    """
    if not report.blocks(threshold):
        return None
    if user_override and report.overridable:
        return None
    return report.to_order_error(threshold)
