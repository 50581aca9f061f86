"""RiskReport values: JSON round trip (the HoneypotCheck details) and the buy gate."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.domain.orders import OrderErrorType
from sniper_bot.domain.risk import Finding, RiskReport, Severity, buy_gate

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

evidence = st.dictionaries(
    st.text(max_size=8),
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    max_size=4,
)
findings = st.builds(
    Finding,
    code=st.text(min_size=1, max_size=12),
    layer=st.text(max_size=8),
    severity=st.sampled_from(list(Severity)),
    weight=st.integers(0, 100),
    title=st.text(max_size=30),
    evidence=evidence,
)


@given(
    st.lists(findings, max_size=5), st.integers(0, 100), st.booleans(), st.none() | st.integers(0)
)
def test_report_json_round_trips(
    items: list[Finding], score: int, honeypot: bool, slot: int | None
) -> None:
    report = RiskReport("Mint111", score, honeypot, tuple(items), NOW, slot, "fp")
    assert RiskReport.from_json(report.to_json()) == report


def _report(score: int, severity: Severity) -> RiskReport:
    f = Finding("x", "layer", severity, score, "Something bad.", {"addr": "A"})
    return RiskReport("Mint111", score, severity is Severity.CRITICAL, (f,), NOW)


def test_below_threshold_buys() -> None:
    assert buy_gate(_report(69, Severity.HIGH), 70) is None


def test_at_threshold_is_blocked_with_the_findings() -> None:
    error = buy_gate(_report(70, Severity.HIGH), 70)
    assert error is not None
    assert error.type is OrderErrorType.HONEYPOT_BLOCKED
    assert error.details["findings"][0]["code"] == "x"
    assert error.details["overridable"] is True
    assert "Something bad." in error.message


def test_user_may_override_a_non_critical_block() -> None:
    assert buy_gate(_report(80, Severity.HIGH), 70, user_override=True) is None


def test_user_may_not_override_a_critical_finding() -> None:
    error = buy_gate(_report(90, Severity.CRITICAL), 70, user_override=True)
    assert error is not None
    assert error.details["overridable"] is False
