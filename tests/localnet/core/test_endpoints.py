"""Named endpoints with fault profiles set through the control API, and the standalone entry."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from solders.pubkey import Pubkey

from localnet.node import Localnet
from localnet.testing import running_localnet

GET_SLOT = {"jsonrpc": "2.0", "id": 1, "method": "getSlot"}


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=9) as localnet:
        yield localnet


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
        yield s


def urls(net: Localnet) -> Any:
    assert net.urls is not None
    return net.urls


async def set_faults(
    session: aiohttp.ClientSession, net: Localnet, name: str, profile: dict[str, Any]
) -> dict[str, Any]:
    async with session.put(f"{urls(net).control}/endpoints/{name}/faults", json=profile) as r:
        assert r.status == 200, await r.text()
        result: dict[str, Any] = await r.json()
        return result


async def test_429_carries_retry_after_and_only_hits_that_endpoint(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    await set_faults(session, net, "public", {"http_429_rate": 1.0, "retry_after_s": 3})
    async with session.post(urls(net).rpc["public"]["http"], json=GET_SLOT) as r:
        assert r.status == 429
        assert r.headers["Retry-After"] == "3"
        assert (await r.json())["error"]["code"] == 429
    async with session.post(urls(net).rpc["helius"]["http"], json=GET_SLOT) as r:
        assert r.status == 200


@pytest.mark.parametrize(("profile", "status"), [("http_503_rate", 503), ("http_504_rate", 504)])
async def test_gateway_errors(
    net: Localnet, session: aiohttp.ClientSession, profile: str, status: int
) -> None:
    await set_faults(session, net, "quicknode", {profile: 1.0})
    async with session.post(urls(net).rpc["quicknode"]["http"], json=GET_SLOT) as r:
        assert r.status == status


async def test_node_behind_answers_every_batch_item(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    await set_faults(session, net, "helius", {"behind_rate": 1.0, "behind_slots": 77})
    batch = [GET_SLOT, {**GET_SLOT, "id": 2}]
    async with session.post(urls(net).rpc["helius"]["http"], json=batch) as r:
        body = await r.json()
    assert [item["error"] for item in body] == [
        {"code": -32005, "message": "Node is behind by 77 slots", "data": {"numSlotsBehind": 77}}
    ] * 2
    async with session.get(urls(net).rpc["helius"]["http"] + "/health") as r:
        assert await r.text() == "behind"


async def test_malformed_json_body(net: Localnet, session: aiohttp.ClientSession) -> None:
    await set_faults(session, net, "helius", {"malformed_rate": 1.0})
    async with session.post(urls(net).rpc["helius"]["http"], json=GET_SLOT) as r:
        assert r.status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(await r.text())


async def test_outage_closes_connections_then_recovers(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    await set_faults(session, net, "helius", {"down": True})
    with pytest.raises(aiohttp.ClientError):
        async with session.post(urls(net).rpc["helius"]["http"], json=GET_SLOT) as r:
            await r.read()
    await set_faults(session, net, "helius", {})
    async with session.post(urls(net).rpc["helius"]["http"], json=GET_SLOT) as r:
        assert r.status == 200


async def test_hang_outlasts_the_client_timeout(net: Localnet) -> None:
    async with aiohttp.ClientSession() as session:
        await set_faults(session, net, "public", {"hang_rate": 1.0, "hang_s": 30})
        with pytest.raises(TimeoutError):
            async with session.post(
                urls(net).rpc["public"]["http"],
                json=GET_SLOT,
                timeout=aiohttp.ClientTimeout(total=0.2),
            ) as r:
                await r.read()


async def test_websocket_is_dropped_by_the_profile(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(urls(net).rpc["quicknode"]["ws"]) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "slotSubscribe"})
        assert "result" in json.loads(await ws.receive_str())
        await set_faults(session, net, "quicknode", {"ws_drop_rate": 1.0})
        net.cluster.advance_slots(1)
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        )


async def test_drop_websockets_on_demand(net: Localnet, session: aiohttp.ClientSession) -> None:
    async with session.ws_connect(urls(net).rpc["helius"]["ws"]) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "slotSubscribe"})
        await ws.receive_str()
        async with session.post(f"{urls(net).control}/endpoints/helius/drop-websockets") as r:
            assert (await r.json()) == {"dropped": 1}
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        )


async def test_control_api_airdrop_advance_state(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    control = urls(net).control
    who = Pubkey.new_unique()
    async with session.post(
        f"{control}/airdrop", json={"pubkey": str(who), "lamports": 10**9}
    ) as r:
        assert r.status == 200
        assert len((await r.json())["signature"]) > 80
    assert net.cluster.get_balance(who) == 10**9
    slot = net.cluster.slot
    async with session.post(f"{control}/slots/advance", json={"n": 3}) as r:
        assert (await r.json()) == {"slot": slot + 3, "block_height": net.cluster.block_height}
    async with session.get(f"{control}/state") as r:
        state = await r.json()
    assert state["slot"] == slot + 3
    assert state["endpoints"] == ["helius", "public", "quicknode"]
    async with session.get(f"{control}/endpoints") as r:
        names = [e["name"] for e in await r.json()]
    assert names == ["helius", "quicknode", "public"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PUT", "/endpoints/nope/faults", {}, 404),
        ("PUT", "/endpoints/helius/faults", {"http_429_rate": 7}, 400),
        ("PUT", "/endpoints/helius/faults", {"preset": "nope"}, 400),
        ("POST", "/airdrop", {"pubkey": "x", "lamports": 1}, 400),
        ("POST", "/slots/advance", {"n": -1}, 400),
    ],
)
async def test_control_api_refuses_bad_requests_with_a_reason(
    net: Localnet,
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
) -> None:
    async with session.request(method, urls(net).control + path, json=body) as r:
        assert r.status == status
        assert (await r.json())["error"]


async def test_preset_with_overrides(net: Localnet, session: aiohttp.ClientSession) -> None:
    stats = await set_faults(session, net, "helius", {"preset": "public", "latency_ms": 0})
    assert stats["profile"]["rate_limit"] == {"requests_per_10s": 100, "per_method_per_10s": 40}
    assert stats["profile"]["latency_ms"] == 0


async def test_python_m_localnet_writes_the_json_contract(tmp_path: Path) -> None:
    out = tmp_path / "localnet.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "localnet",
        "--json",
        str(out),
        "--slot-ms",
        "0",
        "--seed",
        "4",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3] / "src")},
    )
    try:
        for _ in range(300):
            if out.exists():
                break
            await asyncio.sleep(0.05)
        contract = json.loads(out.read_text())
        keys = {"rpc", "jupiter", "telegram", "control", "jito", "jito_engines", "geyser"}
        assert set(contract) == keys
        assert set(contract["geyser"]["geyser"]) == {"url", "x_token"}
        assert contract["jito_engines"] == {"jito": contract["jito"]}
        assert set(contract["rpc"]) == {"helius", "quicknode", "public"}
        tips = {"jsonrpc": "2.0", "id": 1, "method": "getTipAccounts", "params": []}
        async with aiohttp.ClientSession() as session:
            async with session.post(contract["rpc"]["helius"]["http"], json=GET_SLOT) as r:
                assert (await r.json())["result"] == 1000
            async with session.post(contract["jito"] + "/api/v1/bundles", json=tips) as r:
                assert len((await r.json())["result"]) == 8
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
