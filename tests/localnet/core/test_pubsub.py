"""PubSub over WebSocket: subscription shapes, commitment, filters, and solana-py's client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solana.rpc.commitment import Processed
from solana.rpc.websocket_api import SolanaWsClient
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.responses import LogsNotification, SlotNotification

from localnet.node import Localnet
from localnet.testing import running_localnet

from .helpers import sol_transfer

SOL = 1_000_000_000
TIMEOUT = 5.0


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=5) as localnet:
        yield localnet


class Ws:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = iter(range(1, 10_000))

    async def request(self, method: str, *params: Any) -> Any:
        request_id = next(self.ids)
        await self.ws.send_json(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
        )
        reply = await self.next()
        assert reply["id"] == request_id
        return reply

    async def next(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.receive_str(), TIMEOUT))
        return message

    async def nothing_pending(self) -> bool:
        try:
            await asyncio.wait_for(self.ws.receive_str(), 0.05)
        except TimeoutError:
            return True
        return False


@pytest.fixture
async def ws(net: Localnet) -> AsyncIterator[Ws]:
    assert net.urls is not None
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(net.urls.rpc["quicknode"]["ws"]) as conn,
    ):
        yield Ws(conn)


async def test_slot_subscribe_and_unsubscribe(net: Localnet, ws: Ws) -> None:
    sub = (await ws.request("slotSubscribe"))["result"]
    net.cluster.advance_slots(1)
    note = await ws.next()
    assert note == {
        "jsonrpc": "2.0",
        "method": "slotNotification",
        "params": {
            "result": {
                "parent": net.cluster.slot - 1,
                "root": net.cluster.slot_at(32),
                "slot": net.cluster.slot,
            },
            "subscription": sub,
        },
    }
    assert (await ws.request("slotUnsubscribe", sub))["result"] is True
    net.cluster.advance_slots(1)
    assert await ws.nothing_pending()
    assert (await ws.request("slotUnsubscribe", sub))["error"]["code"] == -32602


async def test_account_subscribe_notifies_on_transfer(net: Localnet, ws: Ws) -> None:
    payer, to = Keypair(), Pubkey.new_unique()
    net.cluster.airdrop(payer.pubkey(), 2 * SOL)
    sub = (
        await ws.request(
            "accountSubscribe", str(to), {"encoding": "base64", "commitment": "processed"}
        )
    )["result"]
    net.cluster.send_transaction(sol_transfer(payer, to, SOL, net.cluster.latest_blockhash()))
    note = await ws.next()
    assert note["method"] == "accountNotification"
    assert note["params"]["subscription"] == sub
    assert note["params"]["result"]["context"] == {"slot": net.cluster.slot}
    assert note["params"]["result"]["value"]["lamports"] == SOL


async def test_program_subscribe_applies_filters(net: Localnet, ws: Ws) -> None:
    owner = Pubkey.new_unique()
    marker = Pubkey.new_unique()
    filters = [{"dataSize": 64}, {"memcmp": {"offset": 32, "bytes": str(marker)}}]
    await ws.request(
        "programSubscribe",
        str(owner),
        {"encoding": "base64", "commitment": "processed", "filters": filters},
    )
    hit = Pubkey.new_unique()
    net.cluster.set_account(Pubkey.new_unique(), Account(1, bytes(64), owner))  # wrong bytes
    net.cluster.set_account(
        Pubkey.new_unique(), Account(1, bytes(32) + bytes(marker) + b"x", owner)
    )
    net.cluster.set_account(hit, Account(1, bytes(32) + bytes(marker), owner))
    note = await ws.next()
    assert note["method"] == "programNotification"
    assert note["params"]["result"]["value"]["pubkey"] == str(hit)
    assert await ws.nothing_pending()


async def test_logs_mentions_take_exactly_one_key(ws: Ws) -> None:
    two = {"mentions": [str(Pubkey.new_unique()), str(Pubkey.new_unique())]}
    assert (await ws.request("logsSubscribe", two))["error"]["code"] == -32602


async def test_logs_subscribe_delivers_failed_transactions_too(net: Localnet, ws: Ws) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    await ws.request(
        "logsSubscribe", {"mentions": [str(payer.pubkey())]}, {"commitment": "processed"}
    )
    bad = sol_transfer(payer, Pubkey.new_unique(), 10 * SOL, net.cluster.latest_blockhash())
    outcome = net.cluster.send_transaction(bad)
    note = await ws.next()
    value = note["params"]["result"]["value"]
    assert value["signature"] == str(outcome.signature)
    assert value["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert value["logs"] == list(outcome.logs)


async def test_signature_subscribe_waits_for_commitment(net: Localnet, ws: Ws) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), 2 * SOL)
    tx = sol_transfer(payer, Pubkey.new_unique(), SOL, net.cluster.latest_blockhash())
    sub = (
        await ws.request("signatureSubscribe", str(tx.signatures[0]), {"commitment": "confirmed"})
    )["result"]
    outcome = net.cluster.send_transaction(tx)
    assert await ws.nothing_pending()
    net.cluster.advance_slots(1)
    note = await ws.next()
    assert note["params"] == {
        "result": {"context": {"slot": outcome.slot}, "value": {"err": None}},
        "subscription": sub,
    }
    # one-shot: the subscription is gone
    assert (await ws.request("signatureUnsubscribe", sub))["error"]["code"] == -32602


async def test_signature_subscribe_after_landing_notifies_at_once(net: Localnet, ws: Ws) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), 2 * SOL)
    tx = sol_transfer(payer, Pubkey.new_unique(), SOL, net.cluster.latest_blockhash())
    net.cluster.send_transaction(tx)
    net.cluster.advance_slots(32)
    await ws.request("signatureSubscribe", str(tx.signatures[0]))
    note = await ws.next()
    assert note["method"] == "signatureNotification"
    assert note["params"]["result"]["value"] == {"err": None}


async def test_closing_the_socket_drops_its_subscriptions(net: Localnet) -> None:
    assert net.urls is not None
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(net.urls.rpc["helius"]["ws"]) as conn,
    ):
        await Ws(conn).request("slotSubscribe")
        assert len(net.cluster.hub) == 1
    for _ in range(100):
        if len(net.cluster.hub) == 0:
            break
        await asyncio.sleep(0.01)
    assert len(net.cluster.hub) == 0


async def test_solana_py_ws_client_parses_notifications(net: Localnet) -> None:
    assert net.urls is not None
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), 2 * SOL)
    async with SolanaWsClient(net.urls.rpc["public"]["ws"], request_timeout=TIMEOUT) as client:
        await client.slot_subscribe()
        await client.logs_subscribe(commitment=Processed)
        net.cluster.advance_slots(1)
        slot_note = await asyncio.wait_for(client.recv(), TIMEOUT)
        assert isinstance(slot_note, SlotNotification)
        assert slot_note.result.slot == net.cluster.slot
        tx = sol_transfer(payer, Pubkey.new_unique(), SOL, net.cluster.latest_blockhash())
        net.cluster.send_transaction(tx)
        logs_note = await asyncio.wait_for(client.recv(), TIMEOUT)
        assert isinstance(logs_note, LogsNotification)
        assert logs_note.result.value.signature == tx.signatures[0]
