"""The hot path's risk decision: ``safety.launch.decide_launch`` behind ``LaunchRisk``.

    reputation = CreatorReputation()                              # fed by PumpFunListener.on_curve
    sniper = HotSniper(book, relays, risk=LaunchDecider(reputation), after=bookkeeping)
    bookkeeping = FiredBookkeeping(..., launches=DecisionRows(repos.honeypot_checks))

``LaunchDecider.decide`` runs between the create's decode and the first signature: the create
event, every ``TradeEvent`` of the coin in the same transaction (``CreateSeen.trades``: the dev
buy, and other wallets' buys bundled into the create, ``bundled_launch``) and the creator's cached
record (``CreatorReputation.get``, a dict lookup): CPU only, one decision per
launch shared by every order. A blocked launch's ``RiskDecision.reason`` names the score and the
findings that blocked it with their evidence (the user reads it).

``DecisionRows`` writes the decision as one ``"HoneypotCheck"`` row per launch
(``safety.launch.record_decision_row``, ``details.source = "hot_path"``) after the send.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from sniper_bot.detection.pumpfun import CreateSeen
from sniper_bot.domain.risk import Finding
from sniper_bot.hotpath.build import CurveLaunch
from sniper_bot.hotpath.sniper import FiredSnipe, RiskDecision
from sniper_bot.safety.creators import CreatorLookup
from sniper_bot.safety.launch import (
    LaunchDecision,
    LaunchFacts,
    LaunchPolicy,
    decide_launch,
    record_decision_row,
)
from sniper_bot.safety.service import HoneypotCheckSink

__all__ = ["DecisionRows", "LaunchDecider", "blocked_reason"]

REASON_CHARS = 200  # what a target's error column keeps
_EVIDENCE_KEYS = ("creator", "launches", "dumps", "rugged_mints", "share_bps", "amount")


def _short(value: str) -> str:
    return value if len(value) <= 12 else f"{value[:4]}…{value[-4:]}"


def _evidence(found: Finding) -> str:
    parts: list[str] = []
    for key in _EVIDENCE_KEYS:
        value = found.evidence.get(key)
        if value is None or value == "":
            continue
        if key == "rugged_mints":
            text = ",".join(_short(m) for m in str(value).split(",") if m)
        elif isinstance(value, str):
            text = _short(value)
        else:
            text = str(value)
        parts.append(f"{key}={text}")
    return "; ".join(parts)


def blocked_reason(decision: LaunchDecision) -> str:
    """``blocked: risk 70/100 (limit 70): <worst finding's title> (also <codes>) [code:
    evidence]``, at most ``REASON_CHARS`` (the evidence is shortened first)."""
    worst = sorted((f for f in decision.findings if f.weight > 0), key=lambda f: -f.weight)
    head = f"blocked: risk {decision.score}/100 (limit {decision.threshold})"
    if not worst:
        return head[:REASON_CHARS]
    top = worst[0]
    others = f" (also {', '.join(f.code for f in worst[1:3])})" if len(worst) > 1 else ""
    text = f"{head}: {top.title}{others}"
    evidence = _evidence(top)
    tail = f" [{top.code}: {evidence}]" if evidence else f" [{top.code}]"
    room = REASON_CHARS - len(text)
    if len(tail) > room:  # the evidence gives way first, then the title
        tail = tail[: max(0, room - 2)] + "…]" if room >= len(top.code) + 6 else ""
    text += tail
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


class LaunchDecider:
    """``LaunchRisk`` over ``decide_launch`` and the creator reputation cache (no I/O)."""

    def __init__(
        self,
        creators: CreatorLookup | None = None,
        policy: LaunchPolicy | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._creators = creators
        self._policy = policy or LaunchPolicy()
        self._clock = clock

    def decide(self, seen: CreateSeen, launch: CurveLaunch) -> RiskDecision:
        facts = LaunchFacts.from_event(
            seen.event, seen.trades, instruction=seen.instruction, slot=seen.slot,
            signature=seen.signature,
        )  # fmt: skip
        lookup = self._creators
        creator = None if lookup is None else lookup.get(str(facts.creator))
        signer = None
        if lookup is not None and facts.user != facts.creator:
            signer = lookup.get(facts.dev)
        decision = decide_launch(facts, creator, self._policy, signer=signer, now=self._clock())
        if decision.blocked:
            return RiskDecision(False, blocked_reason(decision), decision)
        return RiskDecision(True, f"risk {decision.score}/100", decision)


class DecisionRows:
    """``FiredBookkeeping``'s ``launches``: one ``"HoneypotCheck"`` row per launch decided by a
    ``LaunchDecider`` (every order of the launch shares it), written after the send."""

    def __init__(self, sink: HoneypotCheckSink, *, remember: int = 4_096) -> None:
        self._sink = sink
        self._done: OrderedDict[str, None] = OrderedDict()
        self._remember = remember

    async def record(self, fired: FiredSnipe) -> None:
        decision = fired.risk.detail
        if not isinstance(decision, LaunchDecision):
            return  # no decider (AllowLaunches) or a refusal before the decision
        mint = decision.report.mint
        if mint in self._done:
            return
        self._done[mint] = None
        while len(self._done) > self._remember:
            self._done.popitem(last=False)
        await record_decision_row(self._sink, decision)
