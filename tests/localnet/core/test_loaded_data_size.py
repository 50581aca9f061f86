"""`loadedAccountsDataSize` in simulations and `SetLoadedAccountsDataSizeLimit` honoured (issue
13): the size is SIMD-0186's (every loaded account's data length plus 64 bytes), a transaction
over its limit fails while loading with `MaxLoadedAccountsDataSizeExceeded` (preflight refuses
it; sent with `skipPreflight` it lands fee-only, as agave commits it). Before this localnet
answered `loadedAccountsDataSize: null` and ignored the limit."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.compute_budget import set_loaded_accounts_data_size_limit
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.node import Localnet
from localnet.testing import running_localnet

SOL = 1_000_000_000
COMPUTE_BUDGET = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=43) as localnet:
        yield localnet


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def rpc(session: aiohttp.ClientSession, net: Localnet, method: str, *params: Any) -> Any:
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with session.post(net.urls.rpc["helius"]["http"], json=body) as response:
        reply: dict[str, Any] = await response.json()
    return reply


def payment(net: Localnet, payer: Keypair, to: Pubkey, limit: int | None) -> str:
    ixs: list[Instruction] = []
    if limit is not None:
        ixs.append(set_loaded_accounts_data_size_limit(limit))
    ixs.append(transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=SOL)))
    message = MessageV0.try_compile(payer.pubkey(), ixs, [], net.cluster.latest_blockhash())
    return base64.b64encode(bytes(VersionedTransaction(message, [payer]))).decode()


def data_len(net: Localnet, key: Pubkey) -> int:
    account = net.cluster.get_account(key)
    assert account is not None
    return len(account.data)


async def test_loaded_size_is_reported_and_the_limit_is_enforced(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer, to = Keypair(), Pubkey.new_unique()
    net.cluster.airdrop(payer.pubkey(), 10 * SOL)
    # payer (no data) + the System and Compute Budget programs (their names as data), 64 bytes
    # of metadata each; `to` does not exist yet and counts nothing
    size = 3 * 64 + data_len(net, SYSTEM) + data_len(net, COMPUTE_BUDGET)
    cfg = {"encoding": "base64"}
    sim = await rpc(session, net, "simulateTransaction", payment(net, payer, to, size), cfg)
    assert sim["result"]["value"]["err"] is None
    assert sim["result"]["value"]["loadedAccountsDataSize"] == size
    over = payment(net, payer, to, size - 1)
    refused = (await rpc(session, net, "simulateTransaction", over, cfg))["result"]["value"]
    assert refused["err"] == "MaxLoadedAccountsDataSizeExceeded"
    assert refused["loadedAccountsDataSize"] == size - 1  # SIMD-0186: the limit itself
    assert refused["logs"] == []
    assert refused["unitsConsumed"] == 0
    preflight = await rpc(session, net, "sendTransaction", over, cfg)
    assert preflight["error"]["code"] == -32002
    assert preflight["error"]["data"]["err"] == "MaxLoadedAccountsDataSizeExceeded"
    sent = await rpc(session, net, "sendTransaction", over, {**cfg, "skipPreflight": True})
    net.cluster.advance_slots(2)
    got = await rpc(
        session, net, "getTransaction", sent["result"],
        {"commitment": "confirmed", "maxSupportedTransactionVersion": 0},
    )  # fmt: skip
    meta = got["result"]["meta"]
    assert meta["err"] == "MaxLoadedAccountsDataSizeExceeded"
    assert meta["fee"] == 5_000
    assert meta["preBalances"][0] - meta["postBalances"][0] == 5_000  # fee only
    assert net.cluster.get_balance(to) == 0  # the transfer never ran
    # the exact limit is enough, and without one the default 64 MiB applies
    fits = await rpc(session, net, "sendTransaction", payment(net, payer, to, size), cfg)
    assert "result" in fits, fits
    default = await rpc(session, net, "simulateTransaction", payment(net, payer, to, None), cfg)
    assert default["result"]["value"]["loadedAccountsDataSize"] == size - 64 - data_len(
        net, COMPUTE_BUDGET
    )
