"""Each layer, one fact at a time, over hand-built snapshots (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers import run_layers
from sniper_bot.safety.layers.authority import check_authorities
from sniper_bot.safety.layers.holders import check_holders
from sniper_bot.safety.layers.liquidity import check_liquidity
from sniper_bot.safety.layers.metadata import check_metadata
from sniper_bot.safety.layers.simulation import check_round_trip, check_sell_simulation
from sniper_bot.safety.layers.token2022 import check_token_2022
from sniper_bot.safety.scoring import build_report, score_findings
from sniper_bot.safety.snapshot import (
    TOKEN_2022_PROGRAM_ID,
    Holder,
    PoolKind,
    RoundTrip,
    SellSimulation,
)
from sniper_bot.solana.layouts.token2022 import (
    MintExtensions,
    Pausable,
    TransferFee,
    TransferFeeConfig,
    TransferHook,
)

from .snapshots import CREATOR, SUPPLY, honest

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def codes(findings: list[Finding], severity: Severity | None = None) -> set[str]:
    return {f.code for f in findings if severity is None or f.severity is severity}


def test_honest_token_scores_below_30_with_nothing_critical() -> None:
    findings = run_layers(honest())
    score, honeypot = score_findings(findings)
    assert score < 30
    assert not honeypot
    assert not codes(findings, Severity.CRITICAL)


def test_live_mint_authority_is_critical_with_the_authority_as_evidence() -> None:
    snap = honest(mint_state=replace(honest().mint_state, mint_authority=CREATOR))
    [f] = [f for f in check_authorities(snap) if f.code == "mint_authority_live"]
    assert f.severity is Severity.CRITICAL
    assert f.evidence["mint_authority"] == str(CREATOR)


def test_pump_fun_program_mint_authority_is_not_a_person() -> None:
    pump = Pubkey.from_string("TSLvdd1pWpHVjahSpsvCXUbgwsL3JAcvokwaKt1eokM")
    snap = honest(mint_state=replace(honest().mint_state, mint_authority=pump))
    assert "mint_authority_live" not in codes(check_authorities(snap))


def test_live_freeze_authority_is_critical() -> None:
    snap = honest(mint_state=replace(honest().mint_state, freeze_authority=CREATOR))
    assert "freeze_authority_live" in codes(check_authorities(snap), Severity.CRITICAL)


def _fee(older: int, newer: int, epoch: int = 0, authority: Pubkey | None = None) -> MintExtensions:
    config = TransferFeeConfig(
        authority, None, 0, TransferFee(0, 2**64 - 1, older), TransferFee(epoch, 2**64 - 1, newer)
    )
    return MintExtensions(types=(1,), transfer_fee=config)


@pytest.mark.parametrize(
    ("bps", "severity"),
    [
        (7_500, Severity.CRITICAL),
        (1_500, Severity.HIGH),
        (300, Severity.MEDIUM),
        (10, Severity.LOW),
    ],
)
def test_transfer_fee_severity_follows_the_rate(bps: int, severity: Severity) -> None:
    snap = honest(program_id=TOKEN_2022_PROGRAM_ID, extensions=_fee(bps, bps))
    [f] = [f for f in check_token_2022(snap) if f.code == "transfer_fee"]
    assert f.severity is severity
    assert f.evidence["current_bps"] == bps


def test_scheduled_fee_increase_is_rated_by_the_scheduled_rate() -> None:
    snap = honest(program_id=TOKEN_2022_PROGRAM_ID, extensions=_fee(0, 9_000, epoch=500), epoch=10)
    [f] = [f for f in check_token_2022(snap) if f.code == "transfer_fee"]
    assert f.evidence["current_bps"] == 0
    assert f.evidence["scheduled_bps"] == 9_000
    assert f.severity is Severity.CRITICAL


def test_live_fee_authority_can_raise_the_fee() -> None:
    snap = honest(extensions=_fee(100, 100, authority=CREATOR))
    assert "transfer_fee_upgradable" in codes(check_token_2022(snap), Severity.HIGH)


@pytest.mark.parametrize(
    ("extensions", "code"),
    [
        (
            MintExtensions(types=(14,), transfer_hook=TransferHook(CREATOR, CREATOR)),
            "transfer_hook",
        ),
        (
            MintExtensions(types=(12,), has_permanent_delegate=True, permanent_delegate=CREATOR),
            "permanent_delegate",
        ),
        (MintExtensions(types=(9,), non_transferable=True), "non_transferable"),
        (MintExtensions(types=(6,), default_account_state=2), "default_account_frozen"),
        (MintExtensions(types=(26,), pausable=Pausable(CREATOR, False)), "pause_authority_live"),
        (MintExtensions(types=(26,), pausable=Pausable(None, True)), "paused"),
    ],
)
def test_each_sell_blocking_extension_is_critical(extensions: MintExtensions, code: str) -> None:
    snap = honest(program_id=TOKEN_2022_PROGRAM_ID, extensions=extensions)
    findings = run_layers(snap)
    assert code in codes(findings, Severity.CRITICAL)
    score, honeypot = score_findings(findings)
    assert score >= 70
    assert honeypot


def test_harmless_extensions_stay_below_critical() -> None:
    ext = MintExtensions(
        types=(3, 4, 26, 77),
        has_close_authority=True,
        close_authority=CREATOR,
        confidential_transfers=True,
        pausable=Pausable(None, False),
    )
    found = check_token_2022(honest(extensions=ext))
    assert codes(found) >= {"mint_close_authority", "confidential_transfers", "unknown_extension"}
    assert not codes(found, Severity.CRITICAL)


def test_mutable_metadata_is_low() -> None:
    meta = replace(honest().metaplex, is_mutable=True)  # type: ignore[type-var]
    [f] = check_metadata(honest(metaplex=meta))
    assert (f.code, f.severity) == ("metadata_mutable", Severity.LOW)
    assert f.evidence["update_authority"] == str(CREATOR)


def test_missing_metadata_is_reported() -> None:
    assert codes(check_metadata(honest(metaplex=None))) == {"no_metadata"}


def test_pool_vault_is_not_counted_as_a_holder() -> None:
    found = check_holders(honest())
    info = next(f for f in found if f.code == "holders")
    assert info.evidence["top1_bps"] == 200
    assert info.evidence["top10_bps"] == 2_000
    assert not codes(found) - {"holders"}


def test_a_creator_holding_90_percent_is_critical() -> None:
    holders = (Holder(Pubkey.new_unique(), SUPPLY * 9 // 10, CREATOR),)
    found = check_holders(honest(holders=holders))
    assert "top_holder_concentration" in codes(found, Severity.CRITICAL)
    assert "creator_share" in codes(found, Severity.HIGH)


def test_burned_tokens_are_excluded_from_the_supply() -> None:
    burn = Pubkey.from_string("1nc1nerator11111111111111111111111111111111")
    holders = (
        Holder(Pubkey.new_unique(), SUPPLY // 2, burn),
        Holder(Pubkey.new_unique(), SUPPLY // 10, Pubkey.new_unique()),
    )
    info = next(f for f in check_holders(honest(holders=holders)) if f.code == "holders")
    assert info.evidence["top1_bps"] == 2_000
    assert info.evidence["burned"] == SUPPLY // 2


@pytest.mark.parametrize(
    ("lamports", "severity"),
    [(0, Severity.CRITICAL), (5 * 10**8, Severity.HIGH), (3 * 10**9, Severity.MEDIUM)],
)
def test_thin_liquidity(lamports: int, severity: Severity) -> None:
    pool = replace(honest().pool, sol_reserve=lamports)  # type: ignore[type-var]
    [f] = [f for f in check_liquidity(honest(pool=pool)) if f.code == "low_liquidity"]
    assert f.severity is severity
    assert f.evidence["sol_reserve"] == lamports


def test_half_a_sol_pool_blocks_but_may_be_overridden() -> None:
    pool = replace(honest().pool, sol_reserve=5 * 10**8)  # type: ignore[type-var]
    report = build_report("m", run_layers(honest(pool=pool)), checked_at=NOW, inputs_slot=1)
    assert report.blocks(70)
    assert report.overridable
    assert not report.is_honeypot


def test_unburned_lp_is_high() -> None:
    pool = replace(honest().pool, lp_supply=900, lp_total=1_000)  # type: ignore[type-var]
    [f] = [f for f in check_liquidity(honest(pool=pool)) if f.code == "lp_not_burned"]
    assert f.severity is Severity.HIGH
    assert f.evidence["lp_burned_bps"] == 1_000


def test_bonding_curve_liquidity_is_program_held() -> None:
    pool = replace(honest().pool, kind=PoolKind.PUMP_BONDING_CURVE)  # type: ignore[type-var]
    assert "lp_program_held" in codes(check_liquidity(honest(pool=pool)))


def test_no_pool_and_no_route_is_critical() -> None:
    trip = RoundTrip(10**8, buy_error="COULD_NOT_FIND_ANY_ROUTE")
    found = check_liquidity(honest(pool=None, round_trip=trip))
    assert codes(found, Severity.CRITICAL) == {"no_liquidity"}


@pytest.mark.parametrize(
    ("code", "name"), [(17, "AccountFrozen"), (37, "NonTransferable"), (67, "MintPaused")]
)
def test_failed_sell_simulation_is_decisive_and_names_the_error(code: int, name: str) -> None:
    sim = SellSimulation(
        "transfer_to_pool",
        Pubkey.new_unique(),
        CREATOR,
        10,
        {"InstructionError": [0, {"Custom": code}]},
        ("Program log: Error",),
    )
    [f] = check_sell_simulation(honest(sell_simulation=sim))
    assert f.code == "sell_fails"
    assert f.severity is Severity.CRITICAL
    assert f.evidence["program_error"] == code
    assert name in f.title


def test_simulation_that_could_not_run_is_inconclusive() -> None:
    sim = SellSimulation("transfer_to_pool", Pubkey.new_unique(), CREATOR, 10, "AccountNotFound")
    [f] = check_sell_simulation(honest(sell_simulation=sim))
    assert (f.code, f.severity) == ("sell_simulation_inconclusive", Severity.LOW)


def test_round_trip_tax() -> None:
    trip = RoundTrip(10**8, tokens_out=1, sol_back=2 * 10**7)
    [f] = check_round_trip(honest(round_trip=trip))
    assert (f.code, f.severity, f.evidence["loss_bps"]) == (
        "round_trip_tax",
        Severity.CRITICAL,
        8_000,
    )


def test_buy_route_without_sell_route_is_critical() -> None:
    trip = RoundTrip(10**8, tokens_out=5, sell_error="COULD_NOT_FIND_ANY_ROUTE")
    assert codes(check_round_trip(honest(round_trip=trip)), Severity.CRITICAL) == {"no_sell_route"}


weights = st.integers(0, 100)
severities = st.sampled_from(list(Severity))


@given(st.lists(st.tuples(severities, weights), max_size=12))
def test_score_is_bounded_and_critical_forces_the_floor(items: list[tuple[Severity, int]]) -> None:
    findings = [Finding(f"c{i}", "t", s, w, "t") for i, (s, w) in enumerate(items)]
    score, honeypot = score_findings(findings)
    assert 0 <= score <= 100
    assert score >= min(100, sum(w for _, w in items))
    assert honeypot == any(s is Severity.CRITICAL for s, _ in items)
    if honeypot:
        assert score >= 70
    else:
        assert score == min(100, sum(w for _, w in items))


def test_report_lists_the_most_severe_finding_first() -> None:
    snap = honest(mint_state=replace(honest().mint_state, freeze_authority=CREATOR))
    report = build_report("m", run_layers(snap), checked_at=NOW, inputs_slot=5)
    assert report.findings[0].code == "freeze_authority_live"
    assert report.decisive_finding == report.findings[0]
