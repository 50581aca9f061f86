"""The block engine as a service: tip floor REST, fault profiles, the x-bundle-id header, the
running slot clock."""

from __future__ import annotations

import asyncio

import aiohttp
from jito_py_rpc import JitoJsonRpcSDK
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.jito import TIP_ACCOUNTS, bundle_id
from localnet.testing import running_localnet

from .conftest import SOL, Jito, encode, signed, transfer_ix

PERCENTILES = (
    "landed_tips_25th_percentile",
    "landed_tips_50th_percentile",
    "landed_tips_75th_percentile",
    "landed_tips_95th_percentile",
    "landed_tips_99th_percentile",
)


async def tip_floor(jito: Jito) -> dict[str, object]:
    async with jito.http.get(f"{jito.url}/api/v1/bundles/tip_floor") as response:
        assert response.status == 200
        [entry] = await response.json()
        assert isinstance(entry, dict)
        return entry


async def test_tip_floor_reports_percentiles_of_landed_tips(jito: Jito) -> None:
    empty = await tip_floor(jito)
    assert {k: empty[k] for k in PERCENTILES} == dict.fromkeys(PERCENTILES, 1e-06)
    assert empty["ema_landed_tips_50th_percentile"] == 1e-06
    assert isinstance(empty["time"], str)
    assert empty["time"].endswith(":00Z")
    payer = jito.funded(10 * SOL)
    blockhash = jito.net.cluster.latest_blockhash()
    for tip in (1_000, 2_000, 3_000, 4_000, 100_000):
        tx = signed(payer, [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[tip % 8], tip)], blockhash)
        assert (await jito.send_bundle([tx]))["success"]
    jito.net.cluster.advance_slots(1)
    report = await tip_floor(jito)
    assert report["landed_tips_25th_percentile"] == 2e-06
    assert report["landed_tips_50th_percentile"] == 3e-06
    assert report["landed_tips_75th_percentile"] == 4e-06
    assert report["landed_tips_99th_percentile"] == 1e-04
    async with jito.http.get(f"{jito.control}/jito") as response:
        state = await response.json()
    assert state["bundles"] == {"Landed": 5, "Failed": 0, "Invalid": 0}
    assert state["requests"]["sendBundle"] == 5


async def test_fault_profiles_apply_to_the_block_engine(jito: Jito) -> None:
    faults = f"{jito.control}/jito/faults"
    async with jito.http.put(faults, json={"http_429_rate": 1.0}) as response:
        assert (await response.json())["profile"]["http_429_rate"] == 1.0
    reply = await jito.call("get_tip_accounts")
    assert reply["success"] is False
    assert reply["error"].startswith("HTTP Error: 429")
    status, body, _ = await jito.raw("bundles", "getTipAccounts", [])
    assert status == 429
    assert body == {
        "jsonrpc": "2.0",
        "error": {
            "code": -32097,
            "message": "Network congested. Endpoint is globally rate limited.",
            "data": None,
        },
        "id": None,
    }
    async with jito.http.put(faults, json={"down": True}) as response:
        assert (await response.json())["in_outage"] is True
    reply = await jito.call("get_tip_accounts")
    assert reply["success"] is False
    assert reply["error"].startswith("Error Connecting") or "Connection" in reply["error"]
    limit = {"rate_limit": {"requests_per_10s": 2, "per_method_per_10s": 2}}
    async with jito.http.put(faults, json=limit) as response:
        assert response.status == 200
    answers = [(await jito.raw("bundles", "getTipAccounts", []))[0] for _ in range(3)]
    assert answers == [200, 200, 429]
    async with jito.http.put(faults, json={"bogus": 1}) as response:
        assert response.status == 400
    async with jito.http.put(faults, json={}) as response:
        assert (await response.json())["faults"]["rate_limited"] == 1
    assert (await jito.call("get_tip_accounts"))["success"]


async def test_bundle_only_answers_the_bundle_id_in_a_header(jito: Jito) -> None:
    payer = jito.funded()
    tx = signed(
        payer,
        [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[6], 2_500)],
        jito.net.cluster.latest_blockhash(),
    )
    async with jito.http.post(
        f"{jito.url}/api/v1/transactions?bundleOnly=true",
        json={
            "jsonrpc": "2.0",
            "id": 9,
            "method": "sendTransaction",
            "params": [encode(tx), {"encoding": "base64"}],
        },
    ) as response:
        assert response.status == 200
        assert response.headers["x-bundle-id"] == bundle_id([tx])
        assert (await response.json()) == {
            "jsonrpc": "2.0",
            "result": str(tx.signatures[0]),
            "id": 9,
        }


async def test_bundles_land_on_the_running_slot_clock() -> None:
    async with running_localnet(seed=78, slot_ms=20) as net, aiohttp.ClientSession():
        assert net.urls is not None
        sdk = JitoJsonRpcSDK(net.urls.jito + "/api/v1")
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), SOL)
        tx = signed(
            payer,
            [
                transfer_ix(payer.pubkey(), Pubkey.new_unique(), SOL // 10),
                transfer_ix(payer.pubkey(), TIP_ACCOUNTS[0], 1_000),
            ],
            net.cluster.latest_blockhash(),
        )
        reply = await asyncio.to_thread(sdk.send_bundle, [encode(tx)])
        identifier = reply["data"]["result"]
        for _ in range(500):
            statuses = await asyncio.to_thread(sdk.get_bundle_statuses, [identifier])
            value = statuses["data"]["result"]["value"][0]
            if value is not None:
                break
            await asyncio.sleep(0.01)
        assert value is not None
        assert value["transactions"] == [str(tx.signatures[0])]
