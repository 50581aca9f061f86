"""Localnet's RPC as strict as mainnet (issue 13, Solana RPC): what agave answers, localnet answers.

Each test here failed on the localnet before its fix: a failing transaction sent with
`skipPreflight` lands and pays its fee, the methods bots use exist with agave's shapes, the status
cache forgets, `getTransaction` speaks `jsonParsed`.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.node import Localnet
from localnet.testing import running_localnet

SOL = 1_000_000_000
FEE = 5_000


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=21) as localnet:
        yield localnet


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def rpc(
    session: aiohttp.ClientSession,
    net: Localnet,
    method: str,
    *params: Any,
    endpoint: str = "helius",
) -> dict[str, Any]:
    """The whole JSON-RPC reply (`result` or `error`)."""
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with session.post(net.urls.rpc[endpoint]["http"], json=body) as response:
        reply: dict[str, Any] = await response.json()
    return reply


async def result(session: aiohttp.ClientSession, net: Localnet, method: str, *params: Any) -> Any:
    reply = await rpc(session, net, method, *params)
    assert "error" not in reply, reply
    return reply["result"]


def v0(payer: Keypair, instructions: list[Instruction], net: Localnet) -> VersionedTransaction:
    message = MessageV0.try_compile(
        payer.pubkey(), instructions, [], net.cluster.latest_blockhash()
    )
    return VersionedTransaction(message, [payer])


async def send_skip(session: aiohttp.ClientSession, net: Localnet, tx: VersionedTransaction) -> str:
    encoded = base64.b64encode(bytes(tx)).decode()
    cfg = {"encoding": "base64", "skipPreflight": True}
    signature: str = await result(session, net, "sendTransaction", encoded, cfg)
    assert signature == str(tx.signatures[0])
    return signature


# -- 1. a failing transaction sent with skipPreflight lands failed and pays its fee ---------------
async def test_skip_preflight_loading_failure_lands_with_err_and_pays_the_fee(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    """A transaction whose program does not exist fails while its accounts load, after its fee
    payer was validated: agave commits it fee-only (meta.err set, fee charged, no logs)."""
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    tx = v0(payer, [Instruction(Pubkey.new_unique(), b"hello", [])], net)
    preflight = await rpc(
        session,
        net,
        "sendTransaction",
        base64.b64encode(bytes(tx)).decode(),
        {"encoding": "base64"},
    )
    assert preflight["error"]["code"] == -32002
    assert preflight["error"]["data"]["err"] == "InvalidProgramForExecution"
    signature = await send_skip(session, net, tx)
    net.cluster.advance_slots(2)  # built into the next block, confirmed one slot later
    status = (await result(session, net, "getSignatureStatuses", [signature]))["value"][0]
    assert status is not None, "a fee-only failure must land, not vanish"
    assert status["err"] == "InvalidProgramForExecution"
    assert status["status"] == {"Err": "InvalidProgramForExecution"}
    balance = await result(
        session, net, "getBalance", str(payer.pubkey()), {"commitment": "processed"}
    )
    assert balance["value"] == SOL - FEE
    got = await result(
        session, net, "getTransaction", signature,
        {"commitment": "confirmed", "maxSupportedTransactionVersion": 0},
    )  # fmt: skip
    assert got["meta"]["err"] == "InvalidProgramForExecution"
    assert got["meta"]["fee"] == FEE
    assert got["meta"]["preBalances"][0] - got["meta"]["postBalances"][0] == FEE
    # a resend changes nothing: it already landed
    await send_skip(session, net, tx)
    net.cluster.advance_slots(1)
    balance = await result(
        session, net, "getBalance", str(payer.pubkey()), {"commitment": "processed"}
    )
    assert balance["value"] == SOL - FEE


async def test_failing_queued_transaction_in_a_block_lands_failed_between_others(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    """In one block: a transfer that fails its instruction lands failed with its fee, the next
    transaction of the same payer still executes; getBlock lists both in order."""
    from solders.system_program import TransferParams, transfer

    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    to = Pubkey.new_unique()
    too_much = v0(
        payer,
        [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=2 * SOL))],
        net,
    )
    fine = v0(
        payer,
        [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=SOL // 2))],
        net,
    )
    bad = v0(payer, [Instruction(Pubkey.new_unique(), b"", [])], net)
    sigs = [await send_skip(session, net, tx) for tx in (too_much, bad, fine)]
    net.cluster.advance_slots(2)
    statuses = (await result(session, net, "getSignatureStatuses", sigs))["value"]
    assert [s["err"] for s in statuses] == [
        {"InstructionError": [0, {"Custom": 1}]},
        "InvalidProgramForExecution",
        None,
    ]
    assert len({s["slot"] for s in statuses}) == 1
    block = await result(
        session, net, "getBlock", statuses[0]["slot"],
        {"commitment": "confirmed", "transactionDetails": "signatures", "rewards": False},
    )  # fmt: skip
    assert block["signatures"] == sigs
    balance = await result(
        session, net, "getBalance", str(payer.pubkey()), {"commitment": "processed"}
    )
    assert balance["value"] == SOL - 3 * FEE - SOL // 2
