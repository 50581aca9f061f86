"""Rival snipers: scripted bots buying every pump.fun create `delay_ms` after it executed, through
the sendTransaction path, landing where the block's ordering (compute-unit price, then arrival)
puts them; tests read landing slots and block positions back."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster
from localnet.launches.rivals import (
    RivalConfig,
    RivalSnipers,
    block_position,
    landed_before,
    landing_slot,
    slot_delta,
)
from localnet.node import Localnet
from localnet.pump import install as install_pump
from localnet.pump.launchpad import PumpLaunchpad
from localnet.testing import running_localnet

SOL = 1_000_000_000


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=21) as localnet:
        yield localnet


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def rpc_send(http: aiohttp.ClientSession, net: Localnet, tx: VersionedTransaction) -> str:
    assert net.urls is not None
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "sendTransaction",
        "params": [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
    }
    async with http.post(net.urls.rpc["helius"]["http"], json=body) as response:
        answer = await response.json()
    assert "result" in answer, answer
    return str(answer["result"])


async def control(
    http: aiohttp.ClientSession, net: Localnet, verb: str, path: str, body: Any = None
) -> tuple[int, Any]:
    assert net.urls is not None
    async with http.request(verb, f"{net.urls.control}{path}", json=body) as response:
        return response.status, await response.json()


def funded(net: Localnet) -> Keypair:
    wallet = Keypair()
    net.cluster.airdrop(wallet.pubkey(), 10 * SOL)
    return wallet


async def launch(
    http: aiohttp.ClientSession, net: Localnet, pad: PumpLaunchpad
) -> tuple[Keypair, Keypair, str]:
    """A create_v2 sent through RPC and landed in the next block: (creator, mint, signature)."""
    creator, mint = funded(net), Keypair()
    create = pad.create_transaction(creator, mint, name="Rival", symbol="RIVAL")
    signature = await rpc_send(http, net, create)
    net.cluster.advance_slots(1)
    return creator, mint, signature


async def our_buy(
    http: aiohttp.ClientSession,
    net: Localnet,
    pad: PumpLaunchpad,
    creator: Keypair,
    mint: Keypair,
    *,
    cu_price: int,
) -> str:
    trader = funded(net)
    tokens, _ = pad.project_buy(pad.curve(mint.pubkey()), SOL // 10)
    tx = pad.buy_transaction(
        mint.pubkey(), creator.pubkey(), trader, tokens=tokens, max_lamports=SOL // 2,
        cu_price=cu_price,
    )  # fmt: skip
    return await rpc_send(http, net, tx)


async def test_rival_buys_after_the_create_and_we_compare_landing_slots(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    status, configured = await control(
        http, net, "PUT", "/rivals/snipers/fast",
        {"delay_ms": 20, "lamports": SOL // 10, "cu_price": 1_000},
    )  # fmt: skip
    assert status == 200, configured
    assert configured["delay_ms"] == 20
    pad = PumpLaunchpad(net.cluster, seed=1)
    creator, mint, create_sig = await launch(http, net, pad)
    create_slot = landing_slot(net.cluster, create_sig)
    assert create_slot == net.cluster.slot
    assert net.rivals.scheduled == 1  # it saw the create; its buy waits for the 20 ms

    # a higher fee than the rival's: first in the block whoever arrives first (no timing race)
    ours = await our_buy(http, net, pad, creator, mint, cu_price=2_000)
    await net.rivals.settle()
    (buy,) = net.rivals.buys_for(mint.pubkey())
    assert buy.error is None
    assert buy.signature is not None
    assert str(buy.create_signature) == create_sig
    net.cluster.advance_slots(1)

    rival_slot = landing_slot(net.cluster, buy.signature)
    assert rival_slot is not None
    assert create_slot <= rival_slot
    assert slot_delta(net.cluster, ours, buy.signature) == 0  # the same block...
    assert landed_before(net.cluster, ours, buy.signature)  # ...and we paid more
    outcome = net.cluster.history.get(buy.signature)
    assert outcome is not None
    assert outcome.ok
    assert pad.token_balance(mint.pubkey(), buy.wallet) > 0

    status, report = await control(http, net, "GET", "/rivals/snipers")
    assert status == 200
    (entry,) = report["buys"]
    assert entry["landed_slot"] == rival_slot
    assert entry["block_index"] == block_position(net.cluster, buy.signature)[1]  # type: ignore[index]
    assert entry["create_slot"] == create_slot
    assert report["rivals"][0]["name"] == "fast"


async def test_a_higher_priority_fee_rival_lands_ahead_of_us_in_the_block(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    net.rivals.add(RivalConfig("whale", delay_ms=0, lamports=SOL // 20, cu_price=5_000_000))
    pad = PumpLaunchpad(net.cluster, seed=2)
    creator, mint, _ = await launch(http, net, pad)
    ours = await our_buy(http, net, pad, creator, mint, cu_price=10)
    await net.rivals.settle()
    (buy,) = net.rivals.buys_for(mint.pubkey())
    assert buy.signature is not None
    net.cluster.advance_slots(1)
    assert slot_delta(net.cluster, ours, buy.signature) == 0
    assert landed_before(net.cluster, buy.signature, ours)  # it arrived later but paid more


async def test_rival_control_validates_and_removal_stops_buying(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    status, bad = await control(http, net, "PUT", "/rivals/snipers/x", {"delay_ms": -1})
    assert status == 400
    assert "delay_ms" in bad["error"]
    status, bad = await control(http, net, "PUT", "/rivals/snipers/x", {"speed": 1})
    assert status == 400
    assert "unknown rival fields ['speed']" in bad["error"]
    assert (await control(http, net, "PUT", "/rivals/snipers/x", {"delay_ms": 0}))[0] == 200
    assert (await control(http, net, "DELETE", "/rivals/snipers/x"))[0] == 200
    assert (await control(http, net, "DELETE", "/rivals/snipers/x"))[0] == 404
    pad = PumpLaunchpad(net.cluster, seed=3)
    _, mint, _ = await launch(http, net, pad)
    await net.rivals.settle()
    assert net.rivals.buys_for(mint.pubkey()) == []
    with pytest.raises(ValueError, match="lamports"):
        RivalConfig("y", lamports=0)


async def test_rival_ignores_non_create_pump_transactions(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    pad = PumpLaunchpad(net.cluster, seed=4)
    creator, mint, _ = await launch(http, net, pad)
    net.rivals.add(RivalConfig("late", delay_ms=0))
    await our_buy(http, net, pad, creator, mint, cu_price=0)  # a buy, not a create
    net.cluster.advance_slots(1)
    await net.rivals.settle()
    assert net.rivals.buys_for(mint.pubkey()) == []


def test_without_an_event_loop_the_rival_buys_at_the_next_slot() -> None:
    """A bare cluster (no event loop, no block building): the buy goes out after the slot."""
    cluster = Cluster(seed=5, slot_ms=None)
    install_pump(cluster)
    rivals = RivalSnipers(cluster, seed=5)
    rivals.add(RivalConfig("sync", delay_ms=20, lamports=SOL // 50))
    pad = PumpLaunchpad(cluster, seed=5)
    creator = Keypair()
    cluster.airdrop(creator.pubkey(), 10 * SOL)
    launch = pad.launch(creator, name="Sync", symbol="SYNC")
    assert rivals.buys_for(launch.mint) == []
    cluster.advance_slots(1)
    (buy,) = rivals.buys_for(launch.mint)
    assert buy.error is None
    assert buy.signature is not None
    assert slot_delta(cluster, launch.create_signature, buy.signature) == 1
