"""A live pump.fun curve is never "liquidity pulled": its program buys back what it sold, so a
fresh curve (0 real SOL) or one with a small dev buy does not block a snipe on the create."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sniper_bot.domain.risk import Severity
from sniper_bot.safety.layers import run_layers
from sniper_bot.safety.layers.liquidity import check_liquidity
from sniper_bot.safety.scoring import build_report
from sniper_bot.safety.snapshot import PoolKind

from .snapshots import honest

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("lamports", [0, 5 * 10**8, 3 * 10**9])
def test_a_bonding_curves_depth_is_information_not_risk(lamports: int) -> None:
    pool = replace(honest().pool, kind=PoolKind.PUMP_BONDING_CURVE, sol_reserve=lamports)  # type: ignore[type-var]
    findings = check_liquidity(honest(pool=pool))
    assert "low_liquidity" not in {f.code for f in findings}
    [depth] = [f for f in findings if f.code == "curve_depth"]
    assert depth.severity is Severity.INFO
    assert depth.evidence["sol_reserve"] == lamports
    report = build_report("m", run_layers(honest(pool=pool)), checked_at=NOW, inputs_slot=1)
    assert not report.blocks(70)


def test_the_same_depth_in_an_amm_pool_still_blocks() -> None:
    pool = replace(honest().pool, sol_reserve=0)  # type: ignore[type-var]
    [f] = [f for f in check_liquidity(honest(pool=pool)) if f.code == "low_liquidity"]
    assert f.severity is Severity.CRITICAL
