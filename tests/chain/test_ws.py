"""Subscriptions: de-duplicated across two endpoints, survive drops and malformed messages."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from solders.keypair import Keypair

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.chain.ws import SubscriptionManager
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import Backoff

from .conftest import Net, sample, transfer_tx, until

FAST = Backoff(base_s=0.01, factor=2.0, max_s=0.05, jitter=0.0)


def ws_configs(net: Net) -> list[EndpointConfig]:
    return [
        EndpointConfig(name=name, url=ep.http_url, ws_url=ep.ws_url, priority=i)
        for i, (name, ep) in enumerate(net.endpoints.items())
    ]


@contextlib.asynccontextmanager
async def running(manager: SubscriptionManager) -> AsyncIterator[None]:
    task = asyncio.create_task(manager.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_subscribed(manager: SubscriptionManager, n: int) -> None:
    await until(lambda: sum(len(c.ids) for c in manager._conns.values()) >= n)


async def land_transfer(rpc: SolanaRpc, net: Net) -> str:
    payer = Keypair()
    await rpc.request_airdrop(payer.pubkey(), 10_000_000)
    blockhash, _ = await rpc.get_latest_blockhash()
    signature = await rpc.send_transaction(
        transfer_tx(payer, Keypair().pubkey(), 1_000_000, blockhash)
    )
    net.cluster.advance_slots(2)
    return str(signature)


async def test_two_endpoints_deliver_each_event_once(
    net: Net, rpc: SolanaRpc, session: aiohttp.ClientSession, metrics: Metrics
) -> None:
    manager = SubscriptionManager(
        ws_configs(net), metrics, session, redundancy=2, backoff=FAST, rng=random.Random(1)
    )
    await manager.logs_subscribe("all")
    async with running(manager):
        await wait_subscribed(manager, 2)
        signature = await land_transfer(rpc, net)
        seen: list[str] = []
        with contextlib.suppress(TimeoutError):
            while True:
                note = await manager.next(timeout_s=0.5)
                seen.append(note.value["signature"])
    assert seen.count(signature) == 1
    duplicates = sum(
        sample(metrics, "ws_messages_total", endpoint=n, kind="duplicate")
        for n in ("helius", "quicknode")
    )
    assert duplicates >= 1
    assert sum(manager.wins.values()) == len(seen)


async def test_a_dropped_connection_reconnects_and_resubscribes(
    net: Net, rpc: SolanaRpc, session: aiohttp.ClientSession, metrics: Metrics
) -> None:
    manager = SubscriptionManager(ws_configs(net), metrics, session, backoff=FAST)
    await manager.logs_subscribe("all")
    async with running(manager):
        await wait_subscribed(manager, 1)
        assert net.endpoints["helius"].drop_websockets() == 1
        await until(lambda: sample(metrics, "ws_reconnects_total", endpoint="helius") >= 1)
        await wait_subscribed(manager, 1)
        signature = await land_transfer(rpc, net)
        async with asyncio.timeout(5):
            while (await manager.next(timeout_s=5)).value["signature"] != signature:
                pass


@pytest.fixture
async def garbage_ws() -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            req = msg.json()
            await ws.send_str(f'{{"jsonrpc":"2.0","result":77,"id":{req["id"]}}}')
            for bad in ("not json", "[1,2]", '{"method":"logsNotification","params":{}}'):
                await ws.send_str(bad)
            await ws.send_str(
                '{"jsonrpc":"2.0","method":"logsNotification","params":{"subscription":77,'
                '"result":{"context":{"slot":9},"value":{"signature":"s1","err":null,"logs":[]}}}}'
            )
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("/")).replace("http://", "ws://")
    await server.close()


async def test_malformed_messages_are_skipped_without_killing_the_connection(
    garbage_ws: str, session: aiohttp.ClientSession, metrics: Metrics
) -> None:
    config = EndpointConfig(name="odd", url="http://127.0.0.1:1/", ws_url=garbage_ws)
    manager = SubscriptionManager([config], metrics, session, backoff=FAST)
    await manager.logs_subscribe("all")
    async with running(manager):
        note = await manager.next(timeout_s=5)
    assert note.value["signature"] == "s1"
    assert note.slot == 9
    assert sample(metrics, "ws_messages_total", endpoint="odd", kind="malformed") == 3
    assert sample(metrics, "ws_reconnects_total", endpoint="odd") == 0
