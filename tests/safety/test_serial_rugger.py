"""``CreatorReputation`` fed by curve updates and stored rows, and the ``creator`` layer.

The updates are the ones ``detection.pumpfun.curve_updates`` makes from real pump event bytes;
stored outcomes come from ``"HoneypotCheck"`` rows in a real PostgreSQL database, written by the
honeypot repository (including the hot path's own ``record_decision_row``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from solders.pubkey import Pubkey

from sniper_bot.domain.launch import CurveUpdate
from sniper_bot.domain.risk import Severity
from sniper_bot.safety.creators import CreatorReputation, CreatorStats, ReputationPolicy
from sniper_bot.safety.launch import LaunchFacts, decide_launch, record_decision_row
from sniper_bot.safety.layers import run_layers
from sniper_bot.safety.layers.serial import check_serial_rugger
from sniper_bot.safety.snapshot import LaunchpadSnapshot
from sniper_bot.solana.pumpfun import bonding_curve_address
from sniper_bot.storage import Database, HoneypotCheckRepository
from sniper_bot.storage.models import Base
from sniper_bot.storage.repositories.creators import CreatorHistoryRepository

from .snapshots import honest

BOUGHT = 50_000_000_000_000


def created(mint: str, dev: str, at: float = 0.0) -> CurveUpdate:
    return CurveUpdate("create", mint, 30, 1_073, 0, 793_100_000_000_000, False, 1, None, at,
                       initial_real_token_reserves=793_100_000_000_000, user=dev)  # fmt: skip


def traded(mint: str, user: str, tokens: int, *, buy: bool, at: float) -> CurveUpdate:
    return CurveUpdate("trade", mint, 30, 1_073, 1, 793_100_000_000_000 - BOUGHT, False, 2, None,
                       at, is_buy=buy, sol_amount=1, token_amount=tokens, user=user)  # fmt: skip


def launch(rep: CreatorReputation, dev: str, *, sell: int = 0, sell_at: float = 5.0) -> str:
    mint = str(Pubkey.new_unique())
    rep.observe(created(mint, dev))
    rep.observe(traded(mint, dev, BOUGHT, buy=True, at=0.1))
    rep.observe(traded(mint, str(Pubkey.new_unique()), BOUGHT, buy=True, at=1.0))
    if sell:
        rep.observe(traded(mint, dev, sell, buy=False, at=sell_at))
    return mint


def pump_snapshot(mint: Pubkey, creator: Pubkey, stats: CreatorStats | None):  # type: ignore[no-untyped-def]
    curve = bonding_curve_address(mint)
    pad = LaunchpadSnapshot(curve, Pubkey.new_unique(), False, creator)
    return honest(mint=mint, launchpad=pad, creator_stats=stats)


def test_a_dev_that_dumps_early_is_a_rugger_and_the_layer_blocks_its_next_coin() -> None:
    rep = CreatorReputation()
    dev = Pubkey.new_unique()
    launch(rep, str(dev), sell=BOUGHT)  # sold everything within seconds
    launch(rep, str(dev), sell=BOUGHT * 9 // 10)  # 90% >= the 80% line
    stats = rep.get(str(dev))
    assert stats is not None
    assert (stats.launches, stats.dumps) == (2, 2)
    nxt = Pubkey.new_unique()
    (found,) = check_serial_rugger(pump_snapshot(nxt, dev, stats))
    assert (found.code, found.severity, found.weight) == ("serial_rugger", Severity.HIGH, 70)
    assert found.evidence["creator"] == str(dev)
    assert found.evidence["dumps"] == 2
    assert set(found.evidence["rugged_mints"].split(",")) == set(stats.rugged_mints())  # type: ignore[union-attr]
    # through the registered layers the report blocks
    assert sum(f.weight for f in run_layers(pump_snapshot(nxt, dev, stats))) >= 70


def test_an_honest_creator_passes() -> None:
    rep = CreatorReputation()
    dev = Pubkey.new_unique()
    first = launch(rep, str(dev))
    rep.observe(CurveUpdate("complete", first, None, None, None, None, True, 9, None, 9.0))
    launch(rep, str(dev), sell=BOUGHT // 10)  # took a small profit: not a dump
    launch(rep, str(dev), sell=BOUGHT, sell_at=10_000.0)  # sold it all, a day later: not early
    stats = rep.get(str(dev))
    assert stats is not None
    assert (stats.launches, stats.dumps, stats.graduated) == (3, 0, 1)
    (found,) = check_serial_rugger(pump_snapshot(Pubkey.new_unique(), dev, stats))
    assert (found.code, found.weight) == ("creator_history", 0)
    # no cache given to the fetcher: the layer claims nothing
    assert check_serial_rugger(pump_snapshot(Pubkey.new_unique(), dev, None)) == []


def test_quiet_barely_bought_coins_are_abandoned_by_the_sweep() -> None:
    rep = CreatorReputation(ReputationPolicy(abandon_after_s=60.0))
    dev = str(Pubkey.new_unique())
    for _ in range(3):
        launch(rep, dev)
    assert rep.sweep(now=30.0) == 0
    assert rep.sweep(now=100.0) == 3
    assert rep.followed_coins == 0
    stats = rep.get(dev)
    assert stats is not None
    assert stats.abandoned == 3
    assert stats.rugs == 0
    (found,) = check_serial_rugger(
        pump_snapshot(Pubkey.new_unique(), Pubkey.from_string(dev), stats)
    )
    assert (found.code, found.severity) == ("creator_abandons", Severity.LOW)


def test_the_cache_is_bounded() -> None:
    rep = CreatorReputation(ReputationPolicy(max_creators=2, max_coins=3, keep_mints=2))
    devs = [str(Pubkey.new_unique()) for _ in range(3)]
    for dev in devs:
        launch(rep, dev, sell=BOUGHT)
    assert len(rep) == 2
    assert rep.get(devs[0]) is None
    assert rep.followed_coins == 3
    for _ in range(3):
        launch(rep, devs[2], sell=BOUGHT)
    stats = rep.get(devs[2])
    assert stats is not None
    assert len(stats.recent) == 2
    assert (stats.launches, stats.dumps) == (4, 4)  # evicted outcomes stay counted


def test_a_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="dump_bps"):
        ReputationPolicy(dump_bps=0)
    with pytest.raises(ValueError, match="max_creators"):
        ReputationPolicy(max_coins=0)


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url, pool_size=2)
    await database.connect(attempts=1)
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


async def test_stored_verdicts_seed_the_cache_after_a_restart(db: Database) -> None:
    checks = HoneypotCheckRepository(db)
    rugger, honest_dev = Pubkey.new_unique(), Pubkey.new_unique()
    for _ in range(2):  # two coins the full check saw emptied by their creator
        mint = Pubkey.new_unique()
        emptied = LaunchpadSnapshot(
            bonding_curve_address(mint), Pubkey.new_unique(), False, rugger,
            creator_account=Pubkey.new_unique(), creator_account_exists=True, creator_balance=0,
        )  # fmt: skip
        report = run_layers(replace(pump_snapshot(mint, rugger, None), launchpad=emptied))
        assert any(f.code == "dev_sold" for f in report)
        await checks.save(str(mint), 30, False, {"findings": [f.to_json() for f in report]})
    # the hot path's own decision on an honest coin, stored after the send
    event_mint = Pubkey.new_unique()
    facts = LaunchFacts(event_mint, bonding_curve_address(event_mint), honest_dev, honest_dev,
                        None, "Moon", "MOON", "https://x.invalid/a.json")  # fmt: skip
    decision = decide_launch(facts, None, now=datetime.now(UTC))
    assert await record_decision_row(checks, decision) is not None
    row = await checks.latest(str(event_mint))
    assert row is not None
    assert row.details["source"] == "hot_path"
    assert row.risk_score == decision.score

    fresh = CreatorReputation()  # a restarted process
    assert await fresh.refresh(CreatorHistoryRepository(db)) == 3
    stats = fresh.get(str(rugger))
    assert stats is not None
    assert (stats.launches, stats.dumps) == (2, 2)
    assert decide_launch(replace(facts, user=rugger, creator=rugger), stats).blocked
    kept = fresh.get(str(honest_dev))
    assert kept is not None
    assert (kept.launches, kept.dumps) == (1, 0)
    assert await fresh.refresh(CreatorHistoryRepository(db)) == 0  # idempotent: no double count


async def test_a_failing_row_write_never_raises_off_the_path(db: Database) -> None:
    mint = Pubkey.new_unique()
    facts = LaunchFacts(mint, bonding_curve_address(mint), mint, mint, None, "A", "A", "")
    decision = decide_launch(facts, None)
    async with db.engine.begin() as conn:  # the table is gone: every insert fails
        await conn.run_sync(lambda sync: Base.metadata.tables["HoneypotCheck"].drop(sync))
    assert await record_decision_row(HoneypotCheckRepository(db), decision) is None
