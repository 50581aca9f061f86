"""Serial ruggers: what the coin's creator did with its earlier coins (``safety.creators``).

Input: ``TokenSnapshot.creator_stats`` (the fetcher reads it from the in-memory
``CreatorReputation`` for the curve's creator, this coin left out); the hot path's
``safety.launch.decide_launch`` calls ``creator_findings`` with the same stats. Layer ``creator``:

* ``serial_rugger``: at least ``SERIAL_MIN_RUGS`` (2) earlier coins ended in a dev dump and they
  are at least ``SERIAL_RUG_SHARE_BPS`` (50%) of its coins seen: HIGH 70 (blocks on its own at
  the default threshold; overridable: history is evidence about a person, not a lock on the coin);
* ``creator_rugged_before``: one earlier dev dump (or several, under half its coins): HIGH 35;
* ``creator_abandons``: at least 3 earlier coins and 80% of them abandoned (a launch farm):
  LOW 5;
* ``creator_history``: INFO 0 with the counts (no earlier coin seen: ``launches`` 0).

Evidence: ``creator``, ``launches``, ``dumps``, ``abandoned``, ``graduated``, ``rug_share_bps``,
``rugged_mints`` (the latest, comma-separated).
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from sniper_bot.domain.risk import EvidenceValue, Finding, Severity
from sniper_bot.safety.creators import CreatorStats
from sniper_bot.safety.layers._finding import bps_text, finding
from sniper_bot.safety.snapshot import TokenSnapshot

__all__ = [
    "SERIAL_MIN_RUGS",
    "SERIAL_RUGGER_WEIGHT",
    "SERIAL_RUG_SHARE_BPS",
    "check_serial_rugger",
    "creator_findings",
]

LAYER = "creator"
SERIAL_MIN_RUGS = 2
SERIAL_RUG_SHARE_BPS = 5_000
SERIAL_RUGGER_WEIGHT = 70
RUGGED_BEFORE_WEIGHT = 35
ABANDON_MIN_LAUNCHES = 3
ABANDON_SHARE_BPS = 8_000


def creator_findings(creator: str, stats: CreatorStats | None) -> list[Finding]:
    """The ``creator`` layer's findings for these stats (pure, a few microseconds)."""
    if stats is None:
        stats = CreatorStats(creator)
    rugged = stats.rugged_mints()
    evidence: dict[str, EvidenceValue | Pubkey] = {
        "creator": creator,
        "launches": stats.launches,
        "dumps": stats.dumps,
        "abandoned": stats.abandoned,
        "graduated": stats.graduated,
        "rug_share_bps": stats.rug_share_bps,
        "rugged_mints": ",".join(rugged[-3:]),
    }
    share = stats.rug_share_bps
    if stats.dumps >= SERIAL_MIN_RUGS and share >= SERIAL_RUG_SHARE_BPS:
        return [
            finding(
                "serial_rugger", LAYER, Severity.HIGH, SERIAL_RUGGER_WEIGHT,
                f"Serial rugger: the creator dumped on buyers in {stats.dumps} of its"
                f" {stats.launches} earlier coins ({bps_text(share)}).",
                **evidence,
            )
        ]  # fmt: skip
    if stats.dumps >= 1:
        return [
            finding(
                "creator_rugged_before", LAYER, Severity.HIGH, RUGGED_BEFORE_WEIGHT,
                f"The creator dumped its own buy on buyers in {stats.dumps} of its"
                f" {stats.launches} earlier coins.",
                **evidence,
            )
        ]  # fmt: skip
    if (
        stats.launches >= ABANDON_MIN_LAUNCHES
        and stats.abandoned * 10_000 >= ABANDON_SHARE_BPS * stats.launches
    ):
        return [
            finding(
                "creator_abandons", LAYER, Severity.LOW, 5,
                f"The creator abandoned {stats.abandoned} of its {stats.launches} earlier coins.",
                **evidence,
            )
        ]  # fmt: skip
    title = (
        "No earlier coin of this creator is known."
        if stats.launches == 0
        else f"The creator launched {stats.launches} earlier coins, none dumped on buyers."
    )
    return [finding("creator_history", LAYER, Severity.INFO, 0, title, **evidence)]


def check_serial_rugger(snap: TokenSnapshot) -> list[Finding]:
    pad = snap.launchpad
    if pad is None or pad.creator is None:
        return []
    if snap.creator_stats is None:
        return []  # no reputation cache given to the fetcher: nothing is claimed
    return creator_findings(str(pad.creator), snap.creator_stats.without(str(snap.mint)))
