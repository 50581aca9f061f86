"""Streaming block building: the leader executes what it received in small batches inside its
slot (every `stream_tick_ms`), each batch ordered by priority fee then arrival (Jito bundles at
the batch's top), and notifications go out as each batch executes, so a bot reacting to a
create's logs fast enough lands in the create's own slot.

The deterministic tests step batches by hand (`Cluster.stream_tick`, manual slots); the clock
tests let the slot clock run (long slots, so the bot's reaction time is never the question) and
compare with the old once-a-slot model (`stream_tick_ms=None`), where create + 1 is the floor.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.compute_budget import set_compute_unit_price
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster
from localnet.jito.engine import TIP_ACCOUNTS
from localnet.launches.rivals import block_position, landing_slot
from localnet.node import Localnet
from localnet.pump.launchpad import PumpLaunchpad
from localnet.pump.state import PUMP_PROGRAM_ID
from localnet.testing import running_localnet

SOL = 1_000_000_000


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def rpc(http: aiohttp.ClientSession, net: Localnet, method: str, *params: Any) -> Any:
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with http.post(net.urls.rpc["helius"]["http"], json=body) as response:
        answer: dict[str, Any] = await response.json()
    assert "result" in answer, answer
    return answer["result"]


async def send(http: aiohttp.ClientSession, net: Localnet, tx: VersionedTransaction) -> str:
    encoded = base64.b64encode(bytes(tx)).decode()
    return str(await rpc(http, net, "sendTransaction", encoded, {"encoding": "base64"}))


def funded(cluster: Cluster, lamports: int = 10 * SOL) -> Keypair:
    wallet = Keypair()
    cluster.airdrop(wallet.pubkey(), lamports)
    return wallet


def priced_transfer(payer: Keypair, blockhash: Hash, micro_lamports: int) -> VersionedTransaction:
    ixs = [
        set_compute_unit_price(micro_lamports),
        transfer(
            TransferParams(
                from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=1_000_000
            )
        ),
    ]
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash), [payer])


class LogBot:
    """A bot on the RPC WebSocket: logsSubscribe (mentions pump.fun, processed); on a create's
    notification it sends a buy of that coin through sendTransaction at once."""

    def __init__(self, net: Localnet, http: aiohttp.ClientSession, pad: PumpLaunchpad) -> None:
        self.net, self.http, self.pad = net, http, pad
        self.trader = funded(net.cluster)
        self.seen: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self.sent: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def run(self, ws: aiohttp.ClientWebSocketResponse, creator: Pubkey, mint: Pubkey) -> None:
        async for message in ws:
            data = json.loads(message.data)
            if data.get("method") != "logsNotification":
                continue
            result = data["params"]["result"]
            logs = result["value"]["logs"]
            if result["value"]["err"] is not None or not any("Create" in line for line in logs):
                continue
            self.seen.set_result((int(result["context"]["slot"]), result["value"]["signature"]))
            tokens, _ = self.pad.project_buy(self.pad.curve(mint), SOL // 10)
            buy = self.pad.buy_transaction(
                mint, creator, self.trader, tokens=tokens, max_lamports=SOL // 5
            )
            self.sent.set_result(await send(self.http, self.net, buy))
            return


async def subscribe(http: aiohttp.ClientSession, net: Localnet) -> aiohttp.ClientWebSocketResponse:
    assert net.urls is not None
    ws = await http.ws_connect(net.urls.rpc["helius"]["ws"])
    await ws.send_json({
        "jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
        "params": [{"mentions": [str(PUMP_PROGRAM_ID)]}, {"commitment": "processed"}],
    })  # fmt: skip
    reply = json.loads((await ws.receive()).data)
    assert isinstance(reply["result"], int), reply
    return ws


async def test_a_reaction_to_the_creates_logs_lands_in_the_creates_slot(
    http: aiohttp.ClientSession,
) -> None:
    async with running_localnet(seed=91) as net:
        cluster = net.cluster
        pad = PumpLaunchpad(cluster, seed=91)
        creator, mint = funded(cluster), Keypair()
        ws = await subscribe(http, net)
        bot = LogBot(net, http, pad)
        task = asyncio.create_task(bot.run(ws, creator.pubkey(), mint.pubkey()))
        create = await send(http, net, pad.create_transaction(creator, mint, name="S", symbol="S"))
        cluster.stream_tick()  # the leader's batch: the create executes, its logs go out now
        create_slot = landing_slot(cluster, create)
        assert create_slot == cluster.slot
        seen_slot, seen_signature = await asyncio.wait_for(bot.seen, 10)
        assert (seen_slot, seen_signature) == (create_slot, create)
        buy = await asyncio.wait_for(bot.sent, 10)
        assert cluster.pending_transactions == 1
        cluster.stream_tick()  # the next batch of the same slot
        await task
        await ws.close()
        assert cluster.slot == create_slot  # no slot boundary in between
        assert landing_slot(cluster, buy) == create_slot
        outcome = cluster.history.get(_sig(buy))
        assert outcome is not None
        assert outcome.ok, outcome
        create_at, buy_at = block_position(cluster, create), block_position(cluster, buy)
        assert create_at is not None
        assert buy_at is not None
        assert create_at < buy_at
        cluster.advance_slots(1)
        block = await rpc(
            http, net, "getBlock", create_slot,
            {"commitment": "confirmed", "transactionDetails": "signatures", "rewards": False},
        )  # fmt: skip
        assert block["signatures"].index(create) < block["signatures"].index(buy)


def _sig(text: str) -> Signature:
    return Signature.from_string(text)


async def test_each_batch_orders_by_fee_and_an_earlier_batch_runs_first(
    http: aiohttp.ClientSession,
) -> None:
    """Priority orders what the leader has at a batch; what arrives after that batch ran cannot
    jump ahead of it, whatever it pays."""
    async with running_localnet(seed=92) as net:
        cluster = net.cluster
        payers = [funded(cluster, SOL) for _ in range(4)]
        blockhash = cluster.latest_blockhash()
        first = [await send(http, net, priced_transfer(p, blockhash, f)) for p, f in
                 zip(payers[:2], (10, 1_000), strict=True)]  # fmt: skip
        cluster.stream_tick()
        second = [await send(http, net, priced_transfer(p, blockhash, f)) for p, f in
                  zip(payers[2:], (5, 1_000_000), strict=True)]  # fmt: skip
        cluster.stream_tick()
        slot = cluster.slot
        order = [o.signature for o in cluster.history.block(slot)]
        ours = [_sig(s) for s in (first[1], first[0], second[1], second[0])]
        assert [s for s in order if s in ours] == ours
        assert cluster.batches >= 2


async def test_a_bundle_runs_atomically_at_the_top_of_the_next_batch(
    http: aiohttp.ClientSession,
) -> None:
    async with running_localnet(seed=93) as net:
        cluster = net.cluster
        payer, other = funded(cluster), funded(cluster)
        blockhash = cluster.latest_blockhash()
        ordinary = await send(http, net, priced_transfer(other, blockhash, 10_000_000))
        legs = [priced_transfer(payer, blockhash, price) for price in (0, 1)]
        tip = VersionedTransaction(
            MessageV0.try_compile(
                payer.pubkey(),
                [
                    transfer(
                        TransferParams(
                            from_pubkey=payer.pubkey(), to_pubkey=TIP_ACCOUNTS[0], lamports=10_000
                        )
                    )
                ],
                [],
                blockhash,
            ),
            [payer],
        )
        bundle = net.block_engine.send_bundle([*legs, tip])
        slot = cluster.slot
        cluster.stream_tick()
        record = net.block_engine.record(bundle)
        assert record is not None
        assert record.status == "Landed"
        assert record.landed_slot == slot == cluster.slot  # inside the slot, no boundary
        order = [o.signature for o in cluster.history.block(slot)]
        wanted = [*(t.signatures[0] for t in (*legs, tip)), _sig(ordinary)]
        assert [s for s in order if s in wanted] == wanted  # in order, then the batch's others


async def _bot_landing(http: aiohttp.ClientSession, net: Localnet) -> tuple[int, int]:
    """(create slot, bot buy slot) with the slot clock running."""
    cluster = net.cluster
    pad = PumpLaunchpad(cluster, seed=cluster.seed)
    creator, mint = funded(cluster), Keypair()
    ws = await subscribe(http, net)
    bot = LogBot(net, http, pad)
    task = asyncio.create_task(bot.run(ws, creator.pubkey(), mint.pubkey()))
    start = cluster.slot
    while cluster.slot == start:  # noqa: ASYNC110 - send the create just after a slot boundary
        await asyncio.sleep(0.005)
    create = await send(http, net, pad.create_transaction(creator, mint, name="C", symbol="C"))
    await asyncio.wait_for(task, 20)
    await ws.close()
    buy = bot.sent.result()
    for _ in range(2_000):
        if landing_slot(cluster, buy) is not None:
            break
        await asyncio.sleep(0.01)
    create_slot, buy_slot = landing_slot(cluster, create), landing_slot(cluster, buy)
    assert create_slot is not None
    assert buy_slot is not None
    outcome = cluster.history.get(_sig(buy))
    assert outcome is not None
    assert outcome.ok
    return create_slot, buy_slot


async def test_with_the_clock_running_the_bot_lands_in_the_creates_slot(
    http: aiohttp.ClientSession,
) -> None:
    async with running_localnet(seed=94, slot_ms=1_500, stream_tick_ms=25) as net:
        create_slot, buy_slot = await _bot_landing(http, net)
    assert buy_slot == create_slot


async def test_the_once_a_slot_model_puts_the_reaction_a_slot_later(
    http: aiohttp.ClientSession,
) -> None:
    """`stream_tick_ms=None`: the block is built at the slot's top only, the create's logs go out
    then, and nothing reacting to them can land before the next block."""
    async with running_localnet(seed=95, slot_ms=600, stream_tick_ms=None) as net:
        create_slot, buy_slot = await _bot_landing(http, net)
    assert buy_slot == create_slot + 1
