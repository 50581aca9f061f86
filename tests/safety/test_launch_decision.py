"""``decide_launch``: the hot snipe's verdict from a pump.fun create and cached state only.

Events are real wire bytes (localnet's pump program encoder, decoded by our decoder), so the facts
are what the hot path holds after decoding a create. Each finding is shown to fire and not to.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.launches import pumpfun as wire
from sniper_bot.domain.risk import RiskReport, Severity, buy_gate
from sniper_bot.safety.creators import CreatorStats
from sniper_bot.safety.launch import LaunchDecision, LaunchFacts, LaunchPolicy, decide_launch
from sniper_bot.solana.programs import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from sniper_bot.solana.pump_events import CreateEvent, TradeEvent, decode_create_event

SUPPLY = 1_000_000_000_000_000
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def create(**changes: object) -> CreateEvent:
    mint, dev = Keypair().pubkey(), Keypair().pubkey()
    fields: dict[str, object] = {
        "name": "Moon", "symbol": "MOON", "uri": "https://ipfs.io/ipfs/Qm.json", "mint": mint,
        "bonding_curve": wire.bonding_curve_address(mint), "user": dev, "creator": dev,
        "timestamp": 1_700_000_000, "token_program": TOKEN_2022_PROGRAM_ID,
    }  # fmt: skip
    fields.update(changes)
    return decode_create_event(wire.encode_create_event(wire.CreateEvent(**fields)))  # type: ignore[arg-type]


def buy(event: CreateEvent, user: Pubkey, tokens: int) -> TradeEvent:
    return TradeEvent(event.mint, tokens // 30_000, tokens, True, user, 1, 0, 0)


def decide(event: CreateEvent, *trades: TradeEvent, **kw: object) -> LaunchDecision:
    return decide_launch(LaunchFacts.from_event(event, trades), now=NOW, **kw)  # type: ignore[arg-type]


def codes(decision: LaunchDecision) -> dict[str, Severity]:
    return {f.code: f.severity for f in decision.findings}


def rugger(creator: Pubkey, launches: int = 4, dumps: int = 3) -> CreatorStats:
    recent = tuple((str(Pubkey.new_unique()), "dev_dump") for _ in range(dumps))
    return CreatorStats(str(creator), launches, dumps, recent=recent)  # type: ignore[arg-type]


def test_an_honest_create_passes_with_its_proof_as_evidence() -> None:
    event = create()
    decision = decide(event, buy(event, event.user, SUPPLY // 100), creator=None)
    assert not decision.blocked
    assert decision.score < 70
    assert not decision.is_honeypot
    proof = next(f for f in decision.findings if f.code == "launch_created_by_pump")
    assert proof.evidence["instruction"] == "create_v2"
    assert proof.evidence["mint_authority"] is None
    assert proof.evidence["freeze_authority"] is None
    assert proof.evidence["extensions"] == "metadata_pointer,token_metadata"
    assert codes(decision) == {
        "launch_created_by_pump": Severity.INFO, "dev_holding": Severity.INFO,
        "creator_history": Severity.INFO,
    }  # fmt: skip
    # the hot decision reads like the usual report and round-trips as a HoneypotCheck document
    assert RiskReport.from_json(decision.report.to_json()) == decision.report
    assert decision.details()["source"] == "hot_path"
    assert buy_gate(decision.report) is None


def test_a_legacy_create_is_an_spl_token_mint() -> None:
    event = create(token_program=TOKEN_PROGRAM_ID)
    proof = next(
        f for f in decide(event, creator=None).findings if f.code == "launch_created_by_pump"
    )
    assert proof.evidence["instruction"] == "create"
    assert proof.evidence["extensions"] == ""


def test_a_curve_that_is_not_the_pump_pda_blocks_as_critical() -> None:
    event = create(bonding_curve=Pubkey.new_unique())
    decision = decide(event, creator=None)
    assert codes(decision)["launch_curve_mismatch"] is Severity.CRITICAL
    assert decision.blocked
    assert decision.is_honeypot
    assert decision.score == 100
    # a caller that proved the PDA itself skips the derivation, and a forged one still passes it
    verified = decide_launch(replace(LaunchFacts.from_event(create()), curve_verified=True), None)
    assert "launch_curve_mismatch" not in codes(verified)


def test_an_unknown_token_program_blocks() -> None:
    decision = decide(create(token_program=Pubkey.new_unique()), creator=None)
    assert codes(decision)["launch_token_program"] is Severity.CRITICAL
    assert decision.blocked


def test_a_serial_rugger_creator_blocks_and_an_honest_one_passes() -> None:
    event = create()
    bad = decide(event, creator=rugger(event.user))
    found = next(f for f in bad.findings if f.code == "serial_rugger")
    assert found.severity is Severity.HIGH
    assert found.weight == 70
    assert found.evidence["dumps"] == 3
    assert found.evidence["launches"] == 4
    assert bad.blocked
    assert not bad.is_honeypot
    assert bad.report.overridable
    good = CreatorStats(str(event.user), 5, 0, graduated=2)
    ok = decide(event, creator=good)
    assert not ok.blocked
    assert codes(ok)["creator_history"] is Severity.INFO
    once = decide(event, creator=rugger(event.user, launches=5, dumps=1))
    assert codes(once)["creator_rugged_before"] is Severity.HIGH
    assert not once.blocked
    # a stricter operator threshold blocks it
    strict = decide(event, creator=rugger(event.user, 5, 1), policy=LaunchPolicy(threshold=30))
    assert strict.blocked
    assert strict.threshold == 30


def test_the_coin_itself_is_not_its_creators_history() -> None:
    event = create()
    recent = ((str(event.mint), "dev_dump"), (str(Pubkey.new_unique()), "dev_dump"))
    stats = CreatorStats(str(event.user), 2, 2, recent=recent)  # type: ignore[arg-type]
    finding = next(f for f in decide(event, creator=stats).findings if f.layer == "creator")
    assert finding.code == "creator_rugged_before"
    assert finding.evidence["launches"] == 1


def test_a_rugger_signing_for_another_creator_is_caught() -> None:
    signer = Keypair().pubkey()
    event = create(user=signer, creator=Pubkey.new_unique())
    decision = decide(event, creator=None, signer=rugger(signer))
    assert "serial_rugger" in codes(decision)
    assert decision.blocked


def test_the_dev_buy_in_the_create_transaction_is_dev_holding() -> None:
    event = create()
    decision = decide(event, buy(event, event.user, SUPPLY // 4), creator=None)
    dev = next(f for f in decision.findings if f.code == "dev_holding")
    assert (dev.severity, dev.weight, dev.evidence["share_bps"]) == (Severity.HIGH, 40, 2_500)


def test_other_wallets_buying_in_the_create_transaction_are_a_bundle() -> None:
    event = create()
    others = [buy(event, Keypair().pubkey(), SUPPLY // 10) for _ in range(3)]
    decision = decide(event, *others, creator=None)
    bundle = next(f for f in decision.findings if f.code == "bundled_launch")
    assert bundle.severity is Severity.HIGH
    assert bundle.evidence["wallets"] == 3
    assert bundle.evidence["share_bps"] == 3_000
    assert "bundled_launch" not in codes(decide(event, creator=None))


@pytest.mark.parametrize(
    ("changes", "code", "severity"),
    [
        ({"symbol": "USDC"}, "launch_impersonation", Severity.MEDIUM),
        ({"symbol": "$sol"}, "launch_impersonation", Severity.MEDIUM),
        ({"name": "Moon\u200b"}, "launch_name_deceptive", Severity.MEDIUM),
        ({"symbol": "MO\u202eON"}, "launch_name_deceptive", Severity.MEDIUM),
        ({"name": " "}, "launch_name_missing", Severity.LOW),
        ({"uri": ""}, "launch_uri_unusual", Severity.LOW),
        ({"uri": "http://x.invalid/a.json"}, "launch_uri_unusual", Severity.LOW),
        ({"is_mayhem_mode": True}, "launch_mayhem_mode", Severity.LOW),
        ({"token_total_supply": 2 * SUPPLY}, "launch_curve_unusual", Severity.LOW),
        ({"virtual_sol_reserves": 40_000_000_000}, "launch_curve_unusual", Severity.LOW),
    ],
)
def test_each_create_fact_can_fail(
    changes: dict[str, object], code: str, severity: Severity
) -> None:
    assert code not in codes(decide(create(), creator=None))
    assert codes(decide(create(**changes), creator=None))[code] is severity


def test_a_mayhem_coins_larger_supply_is_not_unusual() -> None:
    decision = decide(create(is_mayhem_mode=True, token_total_supply=2 * SUPPLY), creator=None)
    assert "launch_curve_unusual" not in codes(decision)


def test_a_bad_policy_is_refused_with_its_reason() -> None:
    with pytest.raises(ValueError, match="threshold must be a score from 1 to 100"):
        LaunchPolicy(threshold=0)
    with pytest.raises(ValueError, match="must be positive"):
        LaunchPolicy(token_total_supply=0)
