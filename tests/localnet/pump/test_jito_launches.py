"""Launch scenarios through the Jito block engine: a bundled launch (create + dev buy + bundle
buys) sent as one real bundle, landing atomically and in order or not at all, and rival snipers
sending their buys as bundles (buy + tip) that run at the top of the leader's next batch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.signature import Signature

from localnet.launches.curve import CurvePlan
from localnet.launches.rivals import RivalConfig, block_position, landing_slot
from localnet.node import Localnet
from localnet.pump.launchpad import PumpLaunchpad
from localnet.pump.state import bonding_curve_address
from localnet.testing import running_localnet

SOL = 1_000_000_000


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=61) as localnet:
        yield localnet


async def jito_rpc(net: Localnet, method: str, params: Any) -> Any:
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{net.urls.jito}/api/v1/bundles", json=body) as response,
    ):
        return await response.json()


def sig(text: str | Signature | None) -> Signature:
    assert text is not None
    return text if isinstance(text, Signature) else Signature.from_string(text)


async def test_a_bundled_launch_lands_as_one_jito_bundle_in_order(net: Localnet) -> None:
    cluster = net.cluster
    run = net.engine.launch_curve(
        "curve_bundle", dev_buy_lamports=SOL, bundle=[SOL, SOL, SOL], bundle_via="jito"
    )
    assert run.bundle_id is not None
    assert not run.errors
    assert cluster.pending_transactions == 0  # nothing went the sendTransaction way
    assert cluster.get_account(bonding_curve_address(run.mint)) is None
    cluster.stream_tick()  # the leader's next batch: the bundle at its top
    record = net.block_engine.record(run.bundle_id)
    assert record is not None
    assert record.status == "Landed", record
    assert record.tip == run.plan.jito_tip_lamports
    wanted = [sig(run.create_signature), sig(run.dev_buy_signature)]
    wanted += [sig(s) for _, s in run.bundle]
    assert record.signatures == [str(s) for s in wanted]
    slot = cluster.slot
    positions = [block_position(cluster, s) for s in wanted]
    assert [p[0] for p in positions if p] == [slot] * 5
    indexes = [p[1] for p in positions if p]
    assert indexes == list(range(indexes[0], indexes[0] + 5))  # adjacent, in the bundle's order
    pad = PumpLaunchpad(cluster)
    held = [pad.token_balance(run.mint, wallet) for wallet, _ in run.bundle]
    assert all(h > 0 for h in held)
    assert held == sorted(held, reverse=True)
    cluster.advance_slots(1)
    answer = await jito_rpc(net, "getBundleStatuses", [[run.bundle_id]])
    (status,) = answer["result"]["value"]
    assert status["slot"] == slot
    assert status["transactions"] == record.signatures
    assert run.summary()["bundle_id"] == run.bundle_id


async def test_a_bundled_launch_below_the_tip_floor_lands_nothing(net: Localnet) -> None:
    cluster = net.cluster
    net.block_engine.set_tip_floor(1_000_000)
    run = net.engine.launch_curve(
        "curve_bundle", dev_buy_lamports=SOL, bundle=[SOL], bundle_via="jito",
        jito_tip_lamports=999_999,
    )  # fmt: skip
    assert run.bundle_id is not None
    cluster.stream_tick()
    record = net.block_engine.record(run.bundle_id)
    assert record is not None
    assert record.status == "Failed"
    assert "below the tip floor" in str(record.err)
    for signature in (run.create_signature, run.dev_buy_signature, run.bundle[0][1]):
        assert landing_slot(cluster, signature) is None  # all or nothing: the create too
    assert cluster.get_account(run.mint) is None
    answer = await jito_rpc(net, "getInflightBundleStatuses", [[run.bundle_id]])
    assert answer["result"]["value"][0]["status"] == "Failed"


def test_a_jito_plan_over_five_transactions_is_refused_with_the_count() -> None:
    with pytest.raises(ValueError, match=r"at most 5 transactions.*at most 3 bundle buys, got 4"):
        CurvePlan.from_params({"dev_buy_lamports": SOL, "bundle": [SOL] * 4, "bundle_via": "jito"})
    with pytest.raises(ValueError, match="bundle_via must be one of"):
        CurvePlan.from_params({"bundle_via": "carrier-pigeon"})
    assert CurvePlan.from_params({"bundle": [SOL] * 4, "bundle_via": "jito"}).bundle == (SOL,) * 4


async def test_a_jito_rival_lands_its_bundle_ahead_of_a_higher_fee_transaction(
    net: Localnet,
) -> None:
    cluster = net.cluster
    net.rivals.add(
        RivalConfig("bundler", delay_ms=0, lamports=SOL // 10, via="jito", tip_lamports=50_000)
    )
    pad = PumpLaunchpad(cluster, seed=3)
    creator, mint = Keypair(), Keypair()
    cluster.airdrop(creator.pubkey(), 10 * SOL)
    create = cluster.submit_transaction(pad.create_transaction(creator, mint, name="J", symbol="J"))
    cluster.stream_tick()  # the create executes; the rival sees its logs
    create_slot = landing_slot(cluster, create)
    assert create_slot == cluster.slot
    await net.rivals.settle()
    (buy,) = net.rivals.buys_for(mint.pubkey())
    assert buy.error is None
    assert buy.bundle_id is not None
    assert cluster.pending_transactions == 0  # it went to the block engine
    trader = Keypair()
    cluster.airdrop(trader.pubkey(), 10 * SOL)
    tokens, _ = pad.project_buy(pad.curve(mint.pubkey()), SOL // 10)
    ours = cluster.submit_transaction(
        pad.buy_transaction(
            mint.pubkey(), creator.pubkey(), trader, tokens=tokens, max_lamports=SOL,
            cu_price=10_000_000,
        )
    )  # fmt: skip
    cluster.stream_tick()
    assert buy.signature is not None
    theirs, mine = block_position(cluster, buy.signature), block_position(cluster, ours)
    assert theirs is not None
    assert mine is not None
    assert theirs[0] == mine[0] == create_slot  # all in the create's slot
    assert theirs < mine  # the bundle ran at the top of the batch, whatever our fee
    report = net.rivals.report()
    assert report["buys"][0]["bundle_id"] == buy.bundle_id
    assert report["rivals"][0]["via"] == "jito"
    record = net.block_engine.record(buy.bundle_id)
    assert record is not None
    assert record.status == "Landed"
    assert record.tip == 50_000


async def test_a_jito_rival_under_the_floor_buys_nothing_and_config_is_checked(
    net: Localnet,
) -> None:
    cluster = net.cluster
    net.rivals.add(RivalConfig("cheap", delay_ms=0, via="jito", tip_lamports=10))
    pad = PumpLaunchpad(cluster, seed=4)
    creator, mint = Keypair(), Keypair()
    cluster.airdrop(creator.pubkey(), 10 * SOL)
    cluster.submit_transaction(pad.create_transaction(creator, mint, name="K", symbol="K"))
    cluster.stream_tick()
    await net.rivals.settle()
    (buy,) = net.rivals.buys_for(mint.pubkey())
    cluster.stream_tick()
    record = net.block_engine.record(buy.bundle_id or "")
    assert record is not None
    assert record.status == "Failed"
    assert buy.signature is not None
    assert landing_slot(cluster, buy.signature) is None
    with pytest.raises(ValueError, match="rival via must be one of"):
        RivalConfig("x", via="smoke-signal")
    with pytest.raises(ValueError, match="tip_lamports must be an integer"):
        RivalConfig("x", tip_lamports=-1)
