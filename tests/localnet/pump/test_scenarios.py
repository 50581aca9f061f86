"""Scripted launches on the pump.fun curve (localnet.launches.curve): every kind has the on-chain
effect it claims, read back from the bank, the history and getBlock."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from solders.signature import Signature

from localnet import pump
from localnet.cluster import Cluster
from localnet.history import TxOutcome
from localnet.launches import DEFAULT_SCENARIO, ScenarioEngine, load_scenario
from localnet.launches.curve import CurveRun
from localnet.market import Market
from localnet.pumpswap.state import canonical_pool_address
from localnet.rpc.transactions import get_block
from localnet.testing import running_localnet
from localnet.tokens import TokenFactory

SOL = 1_000_000_000
SLOT_MS = 400


def _engine(block_building: bool, seed: int = 7) -> tuple[Cluster, ScenarioEngine]:
    cluster = Cluster(seed=seed, slot_ms=SLOT_MS, block_building=block_building)
    market = Market(cluster, seed)
    pump.install(cluster)
    engine = ScenarioEngine(cluster, market, TokenFactory(cluster, market), seed)
    engine.attach()
    return cluster, engine


def _landed(cluster: Cluster, signature: str | None) -> TxOutcome:
    assert signature is not None
    outcome = cluster.history.get(Signature.from_string(signature))
    assert outcome is not None, f"{signature} never landed"
    assert outcome.err is None, outcome.err
    return outcome


def _block_signatures(cluster: Cluster, slot: int) -> list[str]:
    config = {"transactionDetails": "signatures", "commitment": "confirmed"}
    block: Any = get_block(cluster, [slot, config])
    return list(block["signatures"])


def _balance(engine: ScenarioEngine, run: CurveRun, owner: Any) -> int:
    return engine.curves.pad.token_balance(run.mint, owner)


@pytest.mark.parametrize("block_building", [False, True])
def test_dev_buy_holds_the_share_its_lamports_buy(block_building: bool) -> None:
    cluster, engine = _engine(block_building)
    pad = engine.curves.pad
    run = engine.launch_curve(dev_buy_lamports=5 * SOL)
    cluster.advance_slots(2)
    create, dev = _landed(cluster, run.create_signature), _landed(cluster, run.dev_buy_signature)
    assert create.slot == dev.slot
    expected, _ = pad.project_buy(pad.initial_curve(run.creator.pubkey()), 5 * SOL)
    held = _balance(engine, run, run.creator.pubkey())
    assert held == expected > 0
    curve = pad.curve(run.mint)
    assert curve["creator"] == run.creator.pubkey()
    assert curve["real_token_reserves"] == 793_100_000_000_000 - held
    # 5 SOL on a fresh curve buys ~15 % of the supply (fees and the curve's price included)
    assert 1_400 < held * 10_000 // curve["token_total_supply"] < 1_600


@pytest.mark.parametrize("block_building", [False, True])
def test_rival_snipers_land_n_ms_after_the_create(block_building: bool) -> None:
    cluster, engine = _engine(block_building)
    run = engine.launch_curve(dev_buy_lamports=SOL, snipers=[
        {"delay_ms": 0, "lamports": SOL}, {"delay_ms": 2 * SLOT_MS, "lamports": SOL // 2},
    ])  # fmt: skip
    cluster.advance_slots(5)
    create = _landed(cluster, run.create_signature)
    assert len(run.snipers) == 2
    (same_wallet, same_sig), (late_wallet, late_sig) = run.snipers
    same, late = _landed(cluster, same_sig), _landed(cluster, late_sig)
    assert same.slot == create.slot
    assert late.slot == create.slot + 2
    order = _block_signatures(cluster, create.slot)
    assert order.index(run.create_signature) < order.index(same_sig)
    assert late_sig not in order
    assert _balance(engine, run, same_wallet) > _balance(engine, run, late_wallet) > 0


def test_rivals_switched_off_send_nothing() -> None:
    cluster, engine = _engine(False)
    engine.curves.rivals_enabled = False
    run = engine.launch_curve(snipers=[{"delay_ms": 0, "lamports": SOL},
                                       {"delay_ms": 800, "lamports": SOL}])  # fmt: skip
    cluster.advance_slots(4)
    assert run.snipers == []
    assert engine.curves.pad.curve(run.mint)["real_token_reserves"] == 793_100_000_000_000


def test_bundled_buys_land_in_the_creates_block() -> None:
    cluster, engine = _engine(True)
    run = engine.launch_curve(dev_buy_lamports=SOL, bundle=[2 * SOL, 2 * SOL, 2 * SOL])
    assert cluster.pending_transactions == 5  # queued for the block being built, not executed
    cluster.advance_slots(2)
    create = _landed(cluster, run.create_signature)
    order = _block_signatures(cluster, create.slot)
    bundle_sigs = [sig for _, sig in run.bundle]
    assert len(bundle_sigs) == 3
    assert order[:5] == [run.create_signature, run.dev_buy_signature, *bundle_sigs]
    for wallet, sig in run.bundle:
        assert _landed(cluster, sig).slot == create.slot
        assert _balance(engine, run, wallet) > 0
    # each later bundler paid a higher price: fewer tokens for the same 2 SOL
    held = [_balance(engine, run, w) for w, _ in run.bundle]
    assert held == sorted(held, reverse=True)
    assert len(set(held)) == 3


def test_dev_dump_sells_the_whole_bag() -> None:
    cluster, engine = _engine(False)
    pad = engine.curves.pad
    run = engine.launch_curve(dev_buy_lamports=3 * SOL, dev_dump_after_slots=3)
    bag = _balance(engine, run, run.creator.pubkey())
    reserves = pad.curve(run.mint)["real_token_reserves"]
    cluster.advance_slots(2)
    assert run.dump_signature is None
    sol_before = cluster.get_balance(run.creator.pubkey())
    cluster.advance_slots(1)
    dump = _landed(cluster, run.dump_signature)
    assert "Program log: Instruction: SellV2" in dump.logs
    assert bag > 0
    assert _balance(engine, run, run.creator.pubkey()) == 0
    assert pad.curve(run.mint)["real_token_reserves"] == reserves + bag
    assert cluster.get_balance(run.creator.pubkey()) > sol_before


def test_graduation_then_pumpswap_trades() -> None:
    cluster, engine = _engine(False)
    run = engine.launch_curve(dev_buy_lamports=SOL, graduate_after_slots=2, trades=[
        {"after_slots": 1, "side": "buy", "lamports": SOL // 2, "trader": 3},
        {"after_slots": 4, "side": "buy", "lamports": SOL, "trader": 4},
        {"after_slots": 6, "side": "sell", "share_bps": 5_000, "trader": 4},
    ])  # fmt: skip
    cluster.advance_slots(7)
    assert run.graduation is not None, run.errors
    _landed(cluster, run.graduation[0])
    _landed(cluster, run.graduation[1])
    curve = engine.curves.pad.curve(run.mint)
    assert curve["complete"] is True
    assert curve["real_token_reserves"] == 0
    pool = engine.curves.swap.pool(run.mint)
    assert pool.key == canonical_pool_address(run.mint)
    assert [venue for _, venue, _ in run.trades] == ["curve", "pumpswap", "pumpswap"]
    buy, sell = (_landed(cluster, sig) for _, _, sig in run.trades[1:])
    assert any("pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA invoke [1]" in line
               for line in buy.logs)  # fmt: skip
    assert "Program log: Instruction: Sell" in sell.logs
    trader = run.trades[1][0]
    assert _balance(engine, run, trader) > 0  # half of the PumpSwap buy is still held


def test_default_scenario_launches_on_the_curve() -> None:
    scenario = load_scenario(DEFAULT_SCENARIO)
    assert scenario.stream is not None
    kinds = set(scenario.stream.kinds)
    assert {"curve", "curve_bundle", "curve_dump", "curve_graduate"} <= kinds
    cluster, engine = _engine(True)
    engine.load(scenario)
    cluster.advance_slots(6 * len(scenario.stream.kinds) + 30)  # one whole deck, then some
    runs = list(engine.curves.runs.values())
    assert len(runs) >= 5  # the deck's five curve kinds, and the next deck's first
    for run in runs:
        _landed(cluster, run.create_signature)
        for _, sig in [*run.bundle, *run.snipers]:
            _landed(cluster, sig)
    graduated = [r for r in runs if r.plan.graduate_after_slots is not None]
    assert graduated
    assert all(r.graduation is not None for r in graduated)
    assert engine.curves.swap.pool(graduated[0].mint).base_reserve > 0


def test_bad_plans_are_refused() -> None:
    _, engine = _engine(False)
    with pytest.raises(ValueError, match="unknown curve launch parameters"):
        engine.launch_curve(dev_buy=SOL)
    with pytest.raises(ValueError, match="side"):
        engine.launch_curve(trades=[{"side": "hold"}])
    with pytest.raises(ValueError, match="lamports"):
        engine.launch_curve(dev_buy_lamports=-1)


def test_retired_runs_close_their_accounts() -> None:
    cluster, engine = _engine(False)
    engine.curves.max_runs = 2
    first = engine.launch_curve(dev_buy_lamports=SOL, graduate_after_slots=1)
    cluster.advance_slots(1)
    assert first.graduation is not None
    engine.launch_curve()
    engine.launch_curve()
    assert first.mint not in engine.curves.runs
    for key in (first.mint, canonical_pool_address(first.mint)):
        account = cluster.get_account(key)
        assert account is None or account.lamports == 0


async def test_control_routes_launch_and_switch_rivals() -> None:
    async with running_localnet(seed=41) as net, aiohttp.ClientSession() as http:
        assert net.urls is not None
        control = net.urls.control
        async with http.put(f"{control}/rivals", json={"enabled": False}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"enabled": False}
        async with http.post(f"{control}/launches/curve", json={
            "dev_buy_lamports": SOL, "snipers": [{"delay_ms": 0, "lamports": SOL}],
        }) as resp:  # fmt: skip
            assert resp.status == 201, await resp.text()
            off = await resp.json()
        assert off["snipers"] == []
        async with http.put(f"{control}/rivals", json={"enabled": "yes"}) as resp:
            assert resp.status == 400
        async with http.put(f"{control}/rivals", json={"enabled": True}) as resp:
            assert await resp.json() == {"enabled": True}
        async with http.post(f"{control}/launches/curve", json={
            "dev_buy_lamports": SOL, "snipers": [{"delay_ms": 0, "lamports": SOL}],
        }) as resp:  # fmt: skip
            on = await resp.json()
        assert len(on["snipers"]) == 1
        net.cluster.advance_slots(2)
        _landed(net.cluster, on["snipers"][0]["signature"])
        async with http.get(f"{control}/launches/curve/{on['mint']}") as resp:
            assert (await resp.json())["create_signature"] == on["create_signature"]
        async with http.post(f"{control}/launches/curve", json={"bundle": "many"}) as resp:
            assert resp.status == 400
