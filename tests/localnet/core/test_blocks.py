"""Block building: RPC transactions wait for the end of the slot and land ordered like a leader
orders them (compute-unit price descending, then arrival); getBlock shows that order."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.compute_budget import set_compute_unit_price
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.node import Localnet
from localnet.testing import running_localnet

SOL = 1_000_000_000


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=13) as localnet:
        yield localnet


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def call(session: aiohttp.ClientSession, net: Localnet, method: str, *params: Any) -> Any:
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with session.post(net.urls.rpc["helius"]["http"], json=body) as response:
        reply: dict[str, Any] = await response.json()
    if "error" in reply:
        return reply
    return reply["result"]


def priced_transfer(
    payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash, micro_lamports: int
) -> VersionedTransaction:
    ixs = [
        set_compute_unit_price(micro_lamports),
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports)),
    ]
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash), [payer])


async def send(session: aiohttp.ClientSession, net: Localnet, tx: VersionedTransaction) -> str:
    encoded = base64.b64encode(bytes(tx)).decode()
    signature = await call(
        session, net, "sendTransaction", encoded, {"encoding": "base64", "skipPreflight": True}
    )
    assert signature == str(tx.signatures[0])
    return str(signature)


async def statuses(session: aiohttp.ClientSession, net: Localnet, *sigs: str) -> list[Any]:
    value: list[Any] = (await call(session, net, "getSignatureStatuses", list(sigs)))["value"]
    return value


async def test_send_answers_at_once_and_lands_when_the_block_is_produced(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer, to = Keypair(), Pubkey.new_unique()
    net.cluster.airdrop(payer.pubkey(), 2 * SOL)  # localnet's own setup: immediate
    blockhash = net.cluster.latest_blockhash()
    tx = priced_transfer(payer, to, SOL, blockhash, 0)
    sig = await send(session, net, tx)
    assert await statuses(session, net, sig) == [None]
    assert (await call(session, net, "getBalance", str(to)))["value"] == 0
    # simulation runs against the bank as it is: the queued transfer has not happened yet
    again = priced_transfer(payer, to, SOL + SOL // 2, blockhash, 1)
    sim = await call(
        session,
        net,
        "simulateTransaction",
        base64.b64encode(bytes(again)).decode(),
        {"encoding": "base64"},
    )
    assert sim["value"]["err"] is None
    assert net.cluster.pending_transactions == 1
    sent_at = net.cluster.slot
    net.cluster.advance_slots(1)
    [status] = await statuses(session, net, sig)
    assert status["slot"] == sent_at + 1 == net.cluster.slot
    assert status["confirmationStatus"] == "processed"
    processed = {"commitment": "processed"}  # the newest bank; finalized is 32 slots behind
    assert (await call(session, net, "getBalance", str(to), processed))["value"] == SOL
    assert net.cluster.pending_transactions == 0
    net.cluster.advance_slots(1)
    assert (await statuses(session, net, sig))[0]["confirmationStatus"] == "confirmed"


async def test_the_block_orders_by_priority_fee_then_arrival(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payers = [Keypair() for _ in range(4)]
    for payer in payers:
        net.cluster.airdrop(payer.pubkey(), SOL)
    blockhash = net.cluster.latest_blockhash()
    prices = [0, 1_000, 1_000, 5]  # arrival order
    sigs = [
        await send(
            session, net, priced_transfer(p, Pubkey.new_unique(), 1_000_000, blockhash, price)
        )
        for p, price in zip(payers, prices, strict=True)
    ]
    net.cluster.advance_slots(2)  # produce the block, then see it confirmed
    slot = net.cluster.slot - 1
    block = await call(
        session,
        net,
        "getBlock",
        slot,
        {"commitment": "confirmed", "transactionDetails": "signatures", "rewards": False},
    )
    assert block["signatures"] == [sigs[1], sigs[2], sigs[3], sigs[0]]
    assert block["parentSlot"] == slot - 1
    assert block["blockHeight"] == slot
    assert "rewards" not in block
    full = await call(
        session,
        net,
        "getBlock",
        slot,
        {"commitment": "confirmed", "maxSupportedTransactionVersion": 0},
    )
    assert [t["transaction"]["signatures"][0] for t in full["transactions"]] == block["signatures"]
    assert all(t["meta"]["err"] is None for t in full["transactions"])
    # sent during the slot, they used the newest blockhash then: the parent block's
    message = full["transactions"][0]["transaction"]["message"]
    assert message["recentBlockhash"] == block["previousBlockhash"] == str(blockhash)


async def test_who_pays_more_gets_the_contested_state_whatever_the_arrival(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    """Two spends of the same lamports in one slot: the higher priority fee executes first and
    wins, the earlier low-fee one lands failed (fee charged)."""
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    blockhash = net.cluster.latest_blockhash()
    early = priced_transfer(payer, Pubkey.new_unique(), 600_000_000, blockhash, 10)
    late = priced_transfer(payer, Pubkey.new_unique(), 600_000_000, blockhash, 50_000)
    early_sig = await send(session, net, early)
    late_sig = await send(session, net, late)
    net.cluster.advance_slots(1)
    early_status, late_status = await statuses(session, net, early_sig, late_sig)
    assert late_status["err"] is None
    assert early_status["err"] == {"InstructionError": [1, {"Custom": 1}]}
    assert early_status["slot"] == late_status["slot"] == net.cluster.slot


async def test_a_resend_while_queued_lands_once(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer, to = Keypair(), Pubkey.new_unique()
    net.cluster.airdrop(payer.pubkey(), SOL)
    tx = priced_transfer(payer, to, 1_000_000, net.cluster.latest_blockhash(), 0)
    sig = await send(session, net, tx)
    assert await send(session, net, tx) == sig
    assert net.cluster.pending_transactions == 1
    net.cluster.advance_slots(1)
    assert await send(session, net, tx) == sig  # after landing: a no-op
    net.cluster.advance_slots(1)
    processed = {"commitment": "processed"}  # finalized (the default) is 32 slots behind
    assert (await call(session, net, "getBalance", str(to), processed))["value"] == 1_000_000


async def test_a_queued_transaction_whose_blockhash_expires_is_dropped(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    old = net.cluster.latest_blockhash()
    net.cluster.advance_slots(149)  # `old` may still be in the next block (its last valid)
    ok = await send(session, net, priced_transfer(payer, Pubkey.new_unique(), 1_000_000, old, 0))
    net.cluster.advance_slots(1)
    assert (await statuses(session, net, ok))[0] is not None
    late = await send(session, net, priced_transfer(payer, Pubkey.new_unique(), 2_000_000, old, 0))
    net.cluster.advance_slots(1)
    assert await statuses(session, net, late) == [None]  # BlockhashNotFound: never landed


async def test_get_block_refuses_what_it_cannot_answer(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    future = await call(session, net, "getBlock", net.cluster.slot + 5, {"commitment": "confirmed"})
    assert future["error"]["code"] == -32004
    assert future["error"]["message"] == f"Block not available for slot {net.cluster.slot + 5}"
    processed = await call(session, net, "getBlock", 1, {"commitment": "processed"})
    assert processed["error"]["code"] == -32602
    pruned = await call(session, net, "getBlock", 5, {"commitment": "confirmed"})
    assert pruned["error"] == {
        "code": -32009,
        "message": "Slot 5 was skipped, or missing in long-term storage",
    }


async def test_immediate_mode_executes_at_once() -> None:
    async with running_localnet(seed=14, block_building=False) as net:
        assert net.urls is not None
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), SOL)
        tx = priced_transfer(
            payer, Pubkey.new_unique(), SOL // 10, net.cluster.latest_blockhash(), 0
        )
        async with aiohttp.ClientSession() as session:
            sig = await send(session, net, tx)
            [status] = await statuses(session, net, sig)
        assert status["slot"] == net.cluster.slot
        assert net.cluster.pending_transactions == 0


async def test_the_slot_clock_produces_the_blocks() -> None:
    async with running_localnet(seed=15, slot_ms=20) as net, aiohttp.ClientSession() as session:
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), SOL)
        tx = priced_transfer(
            payer, Pubkey.new_unique(), SOL // 10, net.cluster.latest_blockhash(), 0
        )
        sent_at = net.cluster.slot
        sig = await send(session, net, tx)
        for _ in range(500):
            [status] = await statuses(session, net, sig)
            if status is not None:
                break
            await asyncio.sleep(0.01)
        assert status is not None
        assert status["err"] is None
        assert status["slot"] > sent_at
