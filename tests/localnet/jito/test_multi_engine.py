"""Several block engines (regions) in front of one auction: the bot fans the same bundle or
transaction out to all of them; it lands once and every engine reports the same status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from jito_py_rpc import JitoJsonRpcSDK
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.faults import FaultProfile
from localnet.jito import TIP_ACCOUNTS
from localnet.node import JitoEngineConfig, Localnet, LocalnetConfig
from localnet.testing import running_localnet

from .conftest import SOL, encode, signed, transfer_ix

REGIONS = ("ny", "frankfurt")


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    engines = tuple(JitoEngineConfig(name) for name in REGIONS)
    async with running_localnet(seed=78, jito_engines=engines) as localnet:
        yield localnet


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def engine_urls(net: Localnet) -> dict[str, str]:
    assert net.urls is not None
    return dict(net.urls.jito_engines)


async def post(
    http: aiohttp.ClientSession, url: str, path: str, method: str, params: list[Any]
) -> tuple[int, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    async with http.post(f"{url}/api/v1/{path}", json=body) as response:
        return response.status, await response.json()


def funded(net: Localnet) -> Keypair:
    wallet = Keypair()
    net.cluster.airdrop(wallet.pubkey(), 2 * SOL)
    return wallet


async def test_urls_publish_every_engine_on_its_own_port(net: Localnet) -> None:
    assert net.urls is not None
    urls = engine_urls(net)
    assert list(urls) == ["jito", *REGIONS]
    assert urls["jito"] == net.urls.jito
    assert len(set(urls.values())) == 3
    assert net.urls.jito_block_engine_urls == ",".join(urls.values())
    assert net.urls.to_json()["jito_engines"] == urls


async def test_same_bundle_through_every_engine_lands_once(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    payer = funded(net)
    dest = Pubkey.new_unique()
    blockhash = net.cluster.latest_blockhash()
    txs = [
        signed(payer, [transfer_ix(payer.pubkey(), dest, SOL // 10)], blockhash),
        signed(payer, [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[2], 5_000)], blockhash),
    ]
    params = [[encode(tx) for tx in txs], {"encoding": "base64"}]
    answers = await asyncio.gather(
        *(post(http, url, "bundles", "sendBundle", params) for url in engine_urls(net).values())
    )
    ids = {body["result"] for status, body in answers if status == 200}
    assert len(ids) == 1, answers
    (identifier,) = ids
    net.cluster.advance_slots(1)

    assert net.cluster.get_balance(dest) == SOL // 10  # once, not three times
    assert net.block_engine.counts == {"Landed": 1, "Failed": 0, "Invalid": 0}
    record = net.block_engine.record(identifier)
    assert record is not None
    assert record.engines == {"jito", *REGIONS}
    # a late copy through one engine after landing is still the same landed bundle
    status, late = await post(http, engine_urls(net)["frankfurt"], "bundles", "sendBundle", params)
    assert (status, late["result"]) == (200, identifier)
    net.cluster.advance_slots(1)
    assert net.cluster.get_balance(dest) == SOL // 10

    statuses = []
    for url in engine_urls(net).values():
        status, body = await post(
            http, url, "getBundleStatuses", "getBundleStatuses", [[identifier]]
        )
        assert status == 200
        statuses.append(body["result"]["value"][0])
    assert statuses[0]["slot"] == record.landed_slot
    assert statuses[0]["transactions"] == [str(tx.signatures[0]) for tx in txs]
    assert all(s == statuses[0] for s in statuses)
    # and through Jito's own client pointed at a region
    sdk = JitoJsonRpcSDK(engine_urls(net)["ny"] + "/api/v1")
    inflight = await asyncio.to_thread(sdk.get_inflight_bundle_statuses, [identifier])
    assert inflight["data"]["result"]["value"][0]["status"] == "Landed"

    assert net.urls is not None
    async with http.get(f"{net.urls.control}/jito/bundles/{identifier}") as response:
        described = await response.json()
    assert described["engines"] == sorted(["jito", *REGIONS])
    assert described["status"] == "Landed"


async def test_same_transaction_through_every_engine_lands_once(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    payer = funded(net)
    dest = Pubkey.new_unique()
    tx = signed(
        payer, [transfer_ix(payer.pubkey(), dest, SOL // 5)], net.cluster.latest_blockhash()
    )
    params = [encode(tx), {"encoding": "base64"}]
    answers = await asyncio.gather(
        *(
            post(http, url, "transactions", "sendTransaction", params)
            for url in engine_urls(net).values()
        )
    )
    assert {body["result"] for _, body in answers} == {str(tx.signatures[0])}
    net.cluster.advance_slots(1)
    assert net.cluster.get_balance(dest) == SOL // 5
    outcome = net.cluster.history.get(tx.signatures[0])
    assert outcome is not None
    assert outcome.ok
    landed = [o for o in net.cluster.history.block(outcome.slot) if o.signature == tx.signatures[0]]
    assert len(landed) == 1


async def test_an_engine_down_does_not_stop_the_others(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    assert net.urls is not None
    async with http.put(
        f"{net.urls.control}/jito/engines/ny/faults", json={"down": True}
    ) as response:
        assert response.status == 200, await response.text()
    async with http.put(f"{net.urls.control}/jito/engines/tokyo/faults", json={}) as response:
        assert response.status == 404
    payer = funded(net)
    tx = signed(
        payer, [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[0], 5_000)], net.cluster.latest_blockhash()
    )
    params = [[encode(tx)], {"encoding": "base64"}]
    urls = engine_urls(net)
    with pytest.raises(aiohttp.ClientError):
        await post(http, urls["ny"], "bundles", "sendBundle", params)
    status, body = await post(http, urls["jito"], "bundles", "sendBundle", params)
    assert status == 200
    net.cluster.advance_slots(1)
    record = net.block_engine.record(body["result"])
    assert record is not None
    assert record.status == "Landed"
    assert record.engines == {"jito"}
    async with http.get(f"{net.urls.control}/jito/engines") as response:
        engines = await response.json()
    assert [e["name"] for e in engines] == ["jito", *REGIONS]
    assert engines[1]["faults"]


def test_engine_names_are_checked() -> None:
    with pytest.raises(ValueError, match="distinct"):
        LocalnetConfig(jito_engines=(JitoEngineConfig("ny"), JitoEngineConfig("ny")))
    with pytest.raises(ValueError, match="other than 'jito'"):
        LocalnetConfig(jito_engines=(JitoEngineConfig("jito", FaultProfile()),))
