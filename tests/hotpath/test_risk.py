"""``hotpath.risk``: the hot path's ``LaunchRisk`` over ``safety.launch.decide_launch`` and the
creator reputation, and its ``"HoneypotCheck"`` row (one per launch) in a real database.

The events are decoded from real pump program logs (``localnet.pump`` writes the same borsh
bytes as the program; the bot's decoder reads them); the reputation is fed the curve updates
detection makes from such events.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from solders.compute_budget import set_compute_unit_limit
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from sqlalchemy import text

from localnet import pump
from localnet.cluster import Cluster
from localnet.market import instructions as tix
from localnet.pump.launchpad import PumpLaunchpad, create_v2_instruction, trade_v2_instruction
from localnet.pump.state import BUYBACK_FEE_RECIPIENTS, FEE_RECIPIENTS
from sniper_bot.chain.ws import Notification
from sniper_bot.detection.pumpfun import CreateSeen, PumpFunListener
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import CurveUpdate, SnipeStatus, SnipeTarget
from sniper_bot.hotpath.risk import REASON_CHARS, DecisionRows, LaunchDecider, blocked_reason
from sniper_bot.hotpath.sniper import FiredSnipe, HotOrder, launch_of
from sniper_bot.safety.creators import CreatorReputation
from sniper_bot.safety.launch import LaunchDecision
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.pump_events import CreateEvent
from sniper_bot.storage import Database, Repositories

from .conftest import SOL, fresh_launch, prepared_buy

BOUGHT = 50_000_000_000_000


def create_seen(
    creator: Pubkey, g: pf.Global, name: str = "Moon", symbol: str = "MOON"
) -> CreateSeen:
    mint = Keypair().pubkey()
    event = CreateEvent(
        name, symbol, f"https://x.invalid/{mint}.json", mint, pf.bonding_curve_address(mint),
        creator, creator, 1, g.initial_virtual_token_reserves, g.initial_virtual_sol_reserves,
        g.initial_real_token_reserves, g.token_total_supply, pf.TOKEN_2022_PROGRAM_ID, False,
    )  # fmt: skip
    return CreateSeen(event, "CreateV2", 7, None, time.monotonic())


def dump(rep: CreatorReputation, dev: str) -> str:
    """A coin of ``dev`` whose dev buy is sold back within seconds (a dev dump)."""
    mint = str(Pubkey.new_unique())
    real = 793_100_000_000_000
    rep.observe(CurveUpdate("create", mint, 30, 1_073, 0, real, False, 1, None, 0.0,
                            initial_real_token_reserves=real, user=dev))  # fmt: skip
    for buy, at in ((True, 0.1), (False, 5.0)):
        update = CurveUpdate("trade", mint, 30, 1_073, 1, real - BOUGHT, False, 2, None, at,
                             is_buy=buy, sol_amount=1, token_amount=BOUGHT, user=dev)  # fmt: skip
        rep.observe(update)
    return mint


def test_a_serial_rugger_is_blocked_with_its_evidence_an_unknown_creator_is_not(
    pump_global: pf.Global,
) -> None:
    rep = CreatorReputation()
    rugger, fresh = Keypair().pubkey(), Keypair().pubkey()
    rugged = {dump(rep, str(rugger)), dump(rep, str(rugger))}
    decider = LaunchDecider(rep)

    seen = create_seen(rugger, pump_global)
    verdict = decider.decide(seen, launch_of(seen))
    assert not verdict.allowed
    assert isinstance(verdict.detail, LaunchDecision)
    assert verdict.detail.blocked
    assert "serial_rugger" in verdict.reason
    assert "dumps=2" in verdict.reason
    assert verdict.reason.startswith("blocked: risk ")
    assert len(verdict.reason) <= REASON_CHARS
    shown = {m[:4] for m in rugged}
    assert all(f"{m}…" in verdict.reason for m in shown), verdict.reason

    ok = create_seen(fresh, pump_global)
    allowed = decider.decide(ok, launch_of(ok))
    assert allowed.allowed, allowed.reason
    assert isinstance(allowed.detail, LaunchDecision)
    assert allowed.detail.score < allowed.detail.threshold


def test_the_reason_of_a_report_with_many_findings_stays_bounded(pump_global: pf.Global) -> None:
    rep = CreatorReputation()
    dev = Keypair().pubkey()
    dump(rep, str(dev))
    dump(rep, str(dev))
    seen = create_seen(dev, pump_global, name="\u202eUSDC" * 40, symbol="USDC")
    verdict = LaunchDecider(rep).decide(seen, launch_of(seen))
    assert isinstance(verdict.detail, LaunchDecision)
    assert len(verdict.reason) <= REASON_CHARS
    assert blocked_reason(verdict.detail) == verdict.reason
    assert "(also " in verdict.reason  # the other findings are named after the worst


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'risk.sqlite'}")
    await database.connect(attempts=1)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.dispose()


async def test_one_honeypot_check_row_per_launch_whatever_the_orders(
    db: Database, pump_global: pf.Global, pump_fee_config: pf.FeeConfig
) -> None:
    repos = Repositories.build(db)
    seen = create_seen(Keypair().pubkey(), pump_global)
    launch = launch_of(seen)
    verdict = LaunchDecider(CreatorReputation()).decide(seen, launch)
    order = HotOrder(prepared_buy(pump_global, pump_fee_config, Keypair()), mev_protect=False)
    rows = DecisionRows(repos.honeypot_checks)
    for target_id in (1, 2, 3):  # three orders on one launch
        target = SnipeTarget(
            id=target_id, user_id=1, wallet_id=1, token_mint="", amount_lamports=1,
            slippage_bps=100, priority_fee=FeeLevel.LOW, status=SnipeStatus.ARMED,
            created_at=datetime.now(UTC), expires_at=datetime.now(UTC), creator="x",
        )  # fmt: skip
        await rows.record(FiredSnipe(target, order, launch, seen, verdict))
    async with db.engine.connect() as conn:
        count = await conn.scalar(
            text('SELECT count(*) FROM "HoneypotCheck" WHERE token_mint = :m'),
            {"m": str(launch.mint)},
        )
    assert count == 1
    stored = await repos.honeypot_checks.latest(str(launch.mint))
    assert stored is not None
    assert stored.details["source"] == "hot_path"
    assert stored.details["blocked"] is False
    assert isinstance(verdict.detail, LaunchDecision)
    assert stored.risk_score == verdict.detail.score
    other = fresh_launch(pump_global)
    no_decision = dataclasses.replace(verdict, detail=None)  # no decider: nothing to store
    await rows.record(FiredSnipe(target, order, other, seen, no_decision))
    assert await repos.honeypot_checks.latest(str(other.mint)) is None


def test_buys_bundled_into_the_create_transaction_reach_the_decision() -> None:
    """One real ``create_v2`` transaction on localnet's pump program carrying the dev buy and two
    other wallets' buys: the listener hands the hot path all three trades, and the decision
    reports the bundle (the two wallets, their tokens) beside the dev's own buy."""
    cluster = Cluster(seed=91, slot_ms=None)
    pump.install(cluster)
    pad = PumpLaunchpad(cluster, 91)
    dev, mint = Keypair(), Keypair()
    others = [Keypair(), Keypair()]
    for who in (dev, *others):
        cluster.airdrop(who.pubkey(), 20 * SOL)
    ixs = [set_compute_unit_limit(1_400_000),
           create_v2_instruction(mint.pubkey(), dev.pubkey(), dev.pubkey(), "Bndl", "BNDL",
                                 f"https://localnet.invalid/{mint.pubkey()}.json")]  # fmt: skip
    state = pad.initial_curve(dev.pubkey())
    bought: dict[Pubkey, int] = {}
    for who, lamports in ((dev, SOL), (others[0], 8 * SOL), (others[1], 6 * SOL)):
        tokens, state = pad.project_buy(state, lamports)
        bought[who.pubkey()] = tokens
        user = who.pubkey()
        ixs.append(tix.create_associated_token_account_idempotent(
            user, user, mint.pubkey(), pf.TOKEN_2022_PROGRAM_ID))  # fmt: skip
        ixs.append(trade_v2_instruction("buy", mint.pubkey(), dev.pubkey(), user, tokens,
                                        lamports * 2, FEE_RECIPIENTS[0],
                                        BUYBACK_FEE_RECIPIENTS[0]))  # fmt: skip
    message = MessageV0.try_compile(dev.pubkey(), ixs, [], cluster.latest_blockhash())
    outcome = cluster.send_transaction(VersionedTransaction(message, [dev, mint, *others]))
    assert outcome.err is None, outcome.logs
    value = {"signature": str(outcome.signature), "err": None, "logs": list(outcome.logs)}
    creates: list[CreateSeen] = []
    PumpFunListener(on_create=creates.append).decode(
        Notification("launch:pumpfun", "logsNotification", "helius", 9, value), 1.0
    )
    [seen] = creates
    assert [(t.user, t.token_amount) for t in seen.trades] == list(bought.items())
    launch = launch_of(seen)  # the curve after the last of them
    assert launch.real_token_reserves == state["real_token_reserves"]

    verdict = LaunchDecider(CreatorReputation()).decide(seen, launch)
    assert isinstance(verdict.detail, LaunchDecision)
    [bundle] = [f for f in verdict.detail.findings if f.code == "bundled_launch"]
    assert bundle.weight > 0
    assert bundle.evidence["wallets"] == 2
    assert bundle.evidence["bundle_tokens"] == sum(bought[k.pubkey()] for k in others)
    assert bundle.evidence["dev_tokens"] == bought[dev.pubkey()]
    assert set(str(bundle.evidence["buyers"]).split(",")) == {str(k.pubkey()) for k in others}
