"""Address lookup tables on localnet: the Address Lookup Table program (LiteSVM's builtin) creates
and extends tables through sendTransaction, v0 messages load their addresses, getTransaction
answers `loadedAddresses` and balances over every loaded account, and a pump.fun buy whose message
takes its accounts from a table lands on the hosted program."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.cluster import ADDRESS_LOOKUP_TABLE_PROGRAM
from localnet.execution import writable_flags
from localnet.node import Localnet
from localnet.pump.launchpad import PumpLaunchpad
from localnet.pump.state import PUMP_PROGRAM_ID
from localnet.testing import running_localnet

SOL = 1_000_000_000
SYSTEM = Pubkey.default()


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=71) as localnet:
        yield localnet


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def rpc(http: aiohttp.ClientSession, net: Localnet, method: str, *params: Any) -> Any:
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with http.post(net.urls.rpc["helius"]["http"], json=body) as response:
        answer: dict[str, Any] = await response.json()
    return answer


async def send(http: aiohttp.ClientSession, net: Localnet, tx: VersionedTransaction) -> Any:
    encoded = base64.b64encode(bytes(tx)).decode()
    return await rpc(http, net, "sendTransaction", encoded, {"encoding": "base64"})


def create_table(authority: Keypair, recent_slot: int) -> tuple[Pubkey, Instruction]:
    """`CreateLookupTable` (the table's address is a PDA of authority and recent slot)."""
    seeds = [bytes(authority.pubkey()), struct.pack("<Q", recent_slot)]
    table, bump = Pubkey.find_program_address(seeds, ADDRESS_LOOKUP_TABLE_PROGRAM)
    metas = [
        AccountMeta(table, False, True),
        AccountMeta(authority.pubkey(), True, False),
        AccountMeta(authority.pubkey(), True, True),
        AccountMeta(SYSTEM, False, False),
    ]
    data = struct.pack("<IQB", 0, recent_slot, bump)
    return table, Instruction(ADDRESS_LOOKUP_TABLE_PROGRAM, data, metas)


def extend_table(table: Pubkey, authority: Keypair, addresses: list[Pubkey]) -> Instruction:
    metas = [
        AccountMeta(table, False, True),
        AccountMeta(authority.pubkey(), True, False),
        AccountMeta(authority.pubkey(), True, True),
        AccountMeta(SYSTEM, False, False),
    ]
    data = struct.pack("<IQ", 2, len(addresses)) + b"".join(bytes(a) for a in addresses)
    return Instruction(ADDRESS_LOOKUP_TABLE_PROGRAM, data, metas)


def signed(payer: Keypair, ixs: list[Instruction], net: Localnet, *, tables: Any = ()) -> Any:
    message = MessageV0.try_compile(
        payer.pubkey(), ixs, list(tables), net.cluster.latest_blockhash()
    )
    return VersionedTransaction(message, [payer])


async def table_with(
    http: aiohttp.ClientSession, net: Localnet, authority: Keypair, addresses: list[Pubkey]
) -> Pubkey:
    """A table created and extended through RPC, usable from the next slot on."""
    net.cluster.advance_slots(2)  # a confirmed slot older than the block being built
    confirmed = (await rpc(http, net, "getSlot", {"commitment": "confirmed"}))["result"]
    table, create = create_table(authority, confirmed)
    answer = await send(
        http, net, signed(authority, [create, extend_table(table, authority, addresses)], net)
    )
    assert "result" in answer, answer
    net.cluster.stream_tick()
    account = net.cluster.get_account(table)
    assert account is not None
    assert account.owner == ADDRESS_LOOKUP_TABLE_PROGRAM
    assert len(account.data) == 56 + 32 * len(addresses)
    return table


async def test_create_extend_and_use_a_table_through_rpc(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    authority = Keypair()
    net.cluster.airdrop(authority.pubkey(), 10 * SOL)
    recipients = [Pubkey.new_unique() for _ in range(4)]
    table = await table_with(http, net, authority, recipients)
    lookup = AddressLookupTableAccount(table, recipients)
    legs = [
        transfer(TransferParams(from_pubkey=authority.pubkey(), to_pubkey=r, lamports=SOL // 10))
        for r in recipients
    ]
    # addresses extended in this slot are not active before the next one
    early = await send(http, net, signed(authority, legs, net, tables=[lookup]))
    assert early["error"]["code"] == -32002, early
    assert (
        "InvalidAddressLookupTableIndex" in str(early["error"])
        or "lookup" in str(early["error"]["message"]).lower()
    )
    net.cluster.advance_slots(1)
    tx = signed(authority, legs, net, tables=[lookup])
    assert tx.message.address_table_lookups
    assert len(tx.message.account_keys) == 2
    answer = await send(http, net, tx)
    assert "result" in answer, answer
    net.cluster.stream_tick()
    assert [net.cluster.get_balance(r) for r in recipients] == [SOL // 10] * 4
    net.cluster.advance_slots(1)
    got = (
        await rpc(http, net, "getTransaction", answer["result"],
                  {"encoding": "json", "maxSupportedTransactionVersion": 0,
                   "commitment": "confirmed"})
    )["result"]  # fmt: skip
    assert got["version"] == 0
    meta = got["meta"]
    assert meta["err"] is None
    assert meta["loadedAddresses"] == {"writable": [str(r) for r in recipients], "readonly": []}
    assert len(meta["preBalances"]) == len(meta["postBalances"]) == 2 + 4
    assert meta["postBalances"][2:] == [SOL // 10] * 4
    lookups = got["transaction"]["message"]["addressTableLookups"]
    assert lookups == [
        {"accountKey": str(table), "writableIndexes": [0, 1, 2, 3], "readonlyIndexes": []}
    ]


async def test_a_table_needs_a_recent_slot_the_bank_knows(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    """The SlotHashes sysvar lists the produced blocks before this one: the processed slot (the
    block being built) is not a recent slot yet, as on mainnet."""
    authority = Keypair()
    net.cluster.airdrop(authority.pubkey(), SOL)
    net.cluster.advance_slots(3)
    _, create = create_table(authority, net.cluster.slot)
    answer = await send(http, net, signed(authority, [create], net))
    assert answer["error"]["code"] == -32002, answer
    logs = answer["error"]["data"]["logs"]
    assert any("is not a recent slot" in line for line in logs), logs
    table, create = create_table(authority, net.cluster.slot - 2)
    assert "result" in await send(http, net, signed(authority, [create], net))
    net.cluster.stream_tick()
    assert net.cluster.get_account(table) is not None


def _instructions(tx: VersionedTransaction) -> list[Instruction]:
    msg = tx.message
    keys, writable = list(msg.account_keys), writable_flags(msg)
    signers = msg.header.num_required_signatures
    return [
        Instruction(
            keys[c.program_id_index],
            bytes(c.data),
            [AccountMeta(keys[i], i < signers, writable[i]) for i in bytes(c.accounts)],
        )
        for c in msg.instructions
    ]


async def test_a_pump_fun_buy_through_a_lookup_table_lands(
    net: Localnet, http: aiohttp.ClientSession
) -> None:
    cluster = net.cluster
    pad = PumpLaunchpad(cluster, seed=71)
    creator, mint, trader = Keypair(), Keypair(), Keypair()
    for wallet in (creator, trader):
        cluster.airdrop(wallet.pubkey(), 10 * SOL)
    assert "result" in await send(
        http, net, pad.create_transaction(creator, mint, name="Alt", symbol="ALT")
    )
    cluster.stream_tick()
    tokens, _ = pad.project_buy(pad.curve(mint.pubkey()), SOL // 10)
    legacy = pad.buy_transaction(
        mint.pubkey(), creator.pubkey(), trader, tokens=tokens, max_lamports=SOL // 5
    )
    ixs = _instructions(legacy)
    programs = {ix.program_id for ix in ixs}
    addresses = list(
        dict.fromkeys(
            m.pubkey
            for ix in ixs
            for m in ix.accounts
            if not m.is_signer and m.pubkey not in programs
        )
    )
    table = await table_with(http, net, creator, addresses)
    cluster.advance_slots(1)
    message = MessageV0.try_compile(
        trader.pubkey(), ixs, [AddressLookupTableAccount(table, addresses)],
        cluster.latest_blockhash(),
    )  # fmt: skip
    tx = VersionedTransaction(message, [trader])
    assert len(message.account_keys) < len(legacy.message.account_keys)
    assert len(bytes(tx)) < len(bytes(legacy))
    answer = await send(http, net, tx)
    assert "result" in answer, answer
    cluster.stream_tick()
    outcome = cluster.history.get(tx.signatures[0])
    assert outcome is not None
    assert outcome.ok, outcome
    assert pad.token_balance(mint.pubkey(), trader.pubkey()) == tokens
    assert any(line == f"Program {PUMP_PROGRAM_ID} success" for line in outcome.logs)
    assert any(line.startswith("Program data: ") for line in outcome.logs)  # TradeEvent
    net.cluster.advance_slots(1)
    got = (
        await rpc(http, net, "getTransaction", answer["result"],
                  {"encoding": "json", "maxSupportedTransactionVersion": 0,
                   "commitment": "confirmed"})
    )["result"]  # fmt: skip
    loaded = got["meta"]["loadedAddresses"]
    assert loaded["writable"] or loaded["readonly"]
    assert set(loaded["writable"]) | set(loaded["readonly"]) <= {str(a) for a in addresses}
    n_keys = len(message.account_keys) + len(loaded["writable"]) + len(loaded["readonly"])
    assert len(got["meta"]["preBalances"]) == n_keys
    token_balances = got["meta"]["postTokenBalances"]
    ours = [b for b in token_balances if b["owner"] == str(trader.pubkey())]
    assert ours
    assert ours[0]["uiTokenAmount"]["amount"] == str(tokens)
