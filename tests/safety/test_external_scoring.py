"""The scoring rule for third-party opinions: advisory weight that never blocks on its own.

chain = on-chain score (sum of weights, >= 70 with a critical finding)
score = min(100, chain + external) if chain >= 70 else min(69, chain + external)
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers.external import check_external
from sniper_bot.safety.scoring import score_findings
from sniper_bot.safety.snapshot import ExternalOpinion

from .snapshots import honest

_SEVERITIES = st.sampled_from(list(Severity))


def _chain(severity: Severity, weight: int) -> Finding:
    return Finding("x", "liquidity", severity, weight, "t")


def _external(weight: int) -> Finding:
    return Finding("external_rugcheck", "external", Severity.HIGH, weight, "t")


@given(
    st.lists(st.tuples(_SEVERITIES, st.integers(0, 100)), max_size=6),
    st.lists(st.integers(0, 30), max_size=3),
)
def test_external_weight_never_carries_a_score_across_70(
    chain: list[tuple[Severity, int]], external: list[int]
) -> None:
    chain_findings = [_chain(s, w) for s, w in chain]
    chain_score, honeypot = score_findings(chain_findings)
    score, with_external_honeypot = score_findings(
        chain_findings + [_external(w) for w in external]
    )
    assert with_external_honeypot == honeypot  # never a honeypot because of an opinion
    assert score >= chain_score
    assert score <= 100
    if chain_score < 70:
        assert score <= 69
    else:
        assert score == min(100, chain_score + sum(external))


def test_two_danger_opinions_on_an_honest_token_do_not_block() -> None:
    snap = honest(
        external=(
            ExternalOpinion("rugcheck", 95, ("danger: Freeze Authority still enabled",)),
            ExternalOpinion("goplus", 100, ("danger: freeze authority live",)),
        )
    )
    findings = check_external(snap)
    assert [(f.code, f.severity, f.weight) for f in findings] == [
        ("external_rugcheck", Severity.HIGH, 30),
        ("external_goplus", Severity.HIGH, 30),
    ]
    assert findings[0].evidence["source"] == "rugcheck"
    assert findings[0].evidence["dangers"] == 1
    assert "RugCheck (third-party opinion) rates this token 95/100" in findings[0].title
    lots_on_chain = [_chain(Severity.MEDIUM, 25), _chain(Severity.LOW, 10)]
    assert score_findings(lots_on_chain + findings) == (69, False)


def test_an_opinion_adds_to_a_score_already_blocked_on_chain() -> None:
    blocked = [_chain(Severity.CRITICAL, 75)]
    assert score_findings([*blocked, _external(10)]) == (85, True)


def test_low_and_unrated_opinions_are_informational() -> None:
    snap = honest(
        external=(ExternalOpinion("rugcheck", 12, ()), ExternalOpinion("goplus", None, ()))
    )
    assert [(f.severity, f.weight) for f in check_external(snap)] == [
        (Severity.INFO, 0),
        (Severity.INFO, 0),
    ]
