"""RPC fidelity: shapes from PROTOCOLS.md §2 and parsing by solana-py, an independent client."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.token.state import Mint, TokenAccount, TokenAccountState

from localnet.encoding import TOKEN_PROGRAM_ID
from localnet.node import Localnet
from localnet.testing import running_localnet

from .helpers import sol_transfer

SOL = 1_000_000_000


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=3) as localnet:
        yield localnet


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def client(net: Localnet) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(net.urls.rpc["helius"]["http"] if net.urls else "") as c:
        yield c


async def call(
    session: aiohttp.ClientSession, net: Localnet, method: str, *params: Any
) -> dict[str, Any]:
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}
    async with session.post(net.urls.rpc["helius"]["http"], json=body) as response:
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


def make_token(net: Localnet, owner: Pubkey, amount: int) -> tuple[Pubkey, Pubkey]:
    """A 6-decimal mint with one token account of `owner` holding `amount`."""
    mint, account = Pubkey.new_unique(), Pubkey.new_unique()
    rent = net.cluster.svm.minimum_balance_for_rent_exemption(165)
    mint_state = Mint(
        mint_authority=None, supply=amount, decimals=6, is_initialized=True, freeze_authority=None
    )
    net.cluster.set_account(mint, Account(rent, bytes(mint_state), TOKEN_PROGRAM_ID))
    holding = TokenAccount(
        mint=mint,
        owner=owner,
        amount=amount,
        delegate=None,
        state=TokenAccountState.Initialized,
        is_native=None,
        delegated_amount=0,
        close_authority=None,
    )
    net.cluster.set_account(account, Account(rent, bytes(holding), TOKEN_PROGRAM_ID))
    return mint, account


async def test_simple_methods_have_mainnet_shapes(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    assert await call(session, net, "getHealth") == {"jsonrpc": "2.0", "result": "ok", "id": 7}
    slot = await call(session, net, "getSlot", {"commitment": "processed"})
    assert slot["result"] == net.cluster.slot
    latest = (await call(session, net, "getLatestBlockhash"))["result"]
    assert set(latest) == {"context", "value"}
    assert set(latest["context"]) == {"slot", "apiVersion"}
    assert latest["value"] == {
        "blockhash": str(net.cluster.latest_blockhash()),
        "lastValidBlockHeight": net.cluster.block_height + 150,
    }
    balance = await call(session, net, "getBalance", str(Pubkey.new_unique()))
    assert balance["result"]["value"] == 0


async def test_commitment_sets_the_slot_seen(net: Localnet, session: aiohttp.ClientSession) -> None:
    net.cluster.advance_slots(100)
    slots = [
        (await call(session, net, "getSlot", {"commitment": c}))["result"]
        for c in ("processed", "confirmed", "finalized")
    ]
    assert slots == [net.cluster.slot, net.cluster.slot - 1, net.cluster.slot - 32]
    assert (await call(session, net, "getSlot"))["result"] == net.cluster.slot - 32


async def test_account_info_encodings(net: Localnet, session: aiohttp.ClientSession) -> None:
    owner = Pubkey.new_unique()
    mint, account = make_token(net, owner, 1_500_000)
    b64 = await call(session, net, "getAccountInfo", str(account), {"encoding": "base64"})
    value = b64["result"]["value"]
    assert set(value) == {"data", "executable", "lamports", "owner", "rentEpoch", "space"}
    assert value["space"] == 165
    assert value["rentEpoch"] == 2**64 - 1
    assert len(base64.b64decode(value["data"][0])) == 165
    parsed = await call(session, net, "getAccountInfo", str(account), {"encoding": "jsonParsed"})
    data = parsed["result"]["value"]["data"]
    assert data["program"] == "spl-token"
    assert data["space"] == 165
    assert data["parsed"]["type"] == "account"
    assert data["parsed"]["info"] == {
        "isNative": False,
        "mint": str(mint),
        "owner": str(owner),
        "state": "initialized",
        "tokenAmount": {
            "amount": "1500000",
            "decimals": 6,
            "uiAmount": 1.5,
            "uiAmountString": "1.5",
        },
    }
    sliced = await call(
        session, net, "getAccountInfo", str(account), {"dataSlice": {"offset": 32, "length": 32}}
    )
    assert base64.b64decode(sliced["result"]["value"]["data"][0]) == bytes(owner)
    missing = await call(session, net, "getAccountInfo", str(Pubkey.new_unique()))
    assert missing["result"]["value"] is None
    many = await call(
        session,
        net,
        "getMultipleAccounts",
        [str(mint), str(Pubkey.new_unique())],
        {"encoding": "jsonParsed"},
    )
    mint_info = many["result"]["value"][0]["data"]["parsed"]["info"]
    assert mint_info == {
        "decimals": 6,
        "freezeAuthority": None,
        "isInitialized": True,
        "mintAuthority": None,
        "supply": "1500000",
    }
    assert many["result"]["value"][1] is None


async def test_token_queries(net: Localnet, session: aiohttp.ClientSession) -> None:
    owner = Pubkey.new_unique()
    mint, account = make_token(net, owner, 9_864)
    by_owner = await call(
        session,
        net,
        "getTokenAccountsByOwner",
        str(owner),
        {"mint": str(mint)},
        {"encoding": "jsonParsed"},
    )
    (entry,) = by_owner["result"]["value"]
    assert entry["pubkey"] == str(account)
    assert entry["account"]["owner"] == str(TOKEN_PROGRAM_ID)
    balance = await call(session, net, "getTokenAccountBalance", str(account))
    assert balance["result"]["value"] == {
        "amount": "9864",
        "decimals": 6,
        "uiAmount": 0.009864,
        "uiAmountString": "0.009864",
    }
    supply = await call(session, net, "getTokenSupply", str(mint))
    assert supply["result"]["value"]["amount"] == "9864"
    largest = await call(session, net, "getTokenLargestAccounts", str(mint))
    assert largest["result"]["value"] == [{"address": str(account), **balance["result"]["value"]}]
    not_token = await call(session, net, "getTokenAccountBalance", str(Pubkey.new_unique()))
    assert not_token["error"]["code"] == -32602


async def test_program_accounts_filters(net: Localnet, session: aiohttp.ClientSession) -> None:
    owner = Pubkey.new_unique()
    _, account = make_token(net, owner, 1)
    make_token(net, Pubkey.new_unique(), 1)
    filters = [{"dataSize": 165}, {"memcmp": {"offset": 32, "bytes": str(owner)}}]
    found = await call(
        session, net, "getProgramAccounts", str(TOKEN_PROGRAM_ID), {"filters": filters}
    )
    assert [e["pubkey"] for e in found["result"]] == [str(account)]
    wrapped = await call(
        session,
        net,
        "getProgramAccounts",
        str(TOKEN_PROGRAM_ID),
        {"filters": filters, "withContext": True},
    )
    assert set(wrapped["result"]) == {"context", "value"}


async def test_preflight_failure_is_32002_with_simulation_data(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    tx = sol_transfer(payer, Pubkey.new_unique(), 50 * SOL, net.cluster.latest_blockhash())
    encoded = base64.b64encode(bytes(tx)).decode()
    reply = await call(session, net, "sendTransaction", encoded, {"encoding": "base64"})
    error = reply["error"]
    assert error["code"] == -32002
    assert error["message"] == (
        "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
    )
    assert error["data"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert error["data"]["accounts"] is None
    assert error["data"]["unitsConsumed"] == 150
    skipped = await call(
        session, net, "sendTransaction", encoded, {"encoding": "base64", "skipPreflight": True}
    )
    assert skipped["result"] == str(tx.signatures[0])
    status = await call(session, net, "getSignatureStatuses", [skipped["result"]])
    assert status["result"]["value"] == [None]  # queued for the slot's block
    net.cluster.advance_slots(1)
    status = await call(session, net, "getSignatureStatuses", [skipped["result"]])
    assert status["result"]["value"][0]["err"] == {"InstructionError": [0, {"Custom": 1}]}


async def test_expired_blockhash_preflight(net: Localnet, session: aiohttp.ClientSession) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    tx = sol_transfer(payer, Pubkey.new_unique(), 1, net.cluster.latest_blockhash())
    net.cluster.advance_slots(151)
    reply = await call(
        session,
        net,
        "sendTransaction",
        base64.b64encode(bytes(tx)).decode(),
        {"encoding": "base64"},
    )
    assert reply["error"]["message"] == "Transaction simulation failed: Blockhash not found"
    assert reply["error"]["data"]["err"] == "BlockhashNotFound"


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("getBalance", ["not-a-key"], -32602),
        ("getBalance", [], -32602),
        ("noSuchMethod", [], -32601),
        ("getSignatureStatuses", [["1" * 88] * 257], -32602),
        ("getSlot", [{"minContextSlot": 10**9}], -32016),
        ("getTransaction", [str(Signature.default()), {"commitment": "processed"}], -32602),
    ],
)
async def test_error_codes(
    net: Localnet, session: aiohttp.ClientSession, method: str, params: list[Any], code: int
) -> None:
    reply = await call(session, net, method, *params)
    assert reply["error"]["code"] == code
    assert reply["id"] == 7


async def test_v0_transaction_needs_max_supported_version(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    outcome = net.cluster.send_transaction(
        sol_transfer(payer, Pubkey.new_unique(), SOL // 2, net.cluster.latest_blockhash())
    )
    net.cluster.advance_slots(1)
    sig = str(outcome.signature)
    old_client = await call(session, net, "getTransaction", sig, {"commitment": "confirmed"})
    assert old_client["error"]["code"] == -32015
    reply = await call(
        session,
        net,
        "getTransaction",
        sig,
        {"commitment": "confirmed", "maxSupportedTransactionVersion": 0},
    )
    result = reply["result"]
    assert result["version"] == 0
    assert result["slot"] == outcome.slot
    assert result["meta"]["err"] is None
    assert result["meta"]["status"] == {"Ok": None}
    assert result["transaction"]["signatures"] == [sig]
    not_yet = await call(session, net, "getTransaction", sig, {"maxSupportedTransactionVersion": 0})
    assert not_yet["result"] is None  # finalized needs 32 slots


async def test_batch_and_health_and_parse_error(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    assert net.urls is not None
    url = net.urls.rpc["public"]["http"]
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
        {"jsonrpc": "2.0", "id": 2, "method": "getBlockHeight"},
    ]
    async with session.post(url, json=batch) as response:
        replies = await response.json()
    assert [r["id"] for r in replies] == [1, 2]
    async with session.get(url + "/health") as response:
        assert await response.text() == "ok"
    async with session.post(url, data=b"{not json") as response:
        assert (await response.json())["error"]["code"] == -32700


async def test_solana_py_parses_every_method(net: Localnet, client: AsyncClient) -> None:
    payer, to = Keypair(), Keypair()
    # genesis token accounts (the pump programs' fee recipients' quote accounts, ...)
    genesis = {key for key, _ in net.cluster.program_accounts(TOKEN_PROGRAM_ID)}
    mint, account = make_token(net, payer.pubkey(), 42)
    assert await client.is_connected()
    airdrop = (await client.request_airdrop(payer.pubkey(), 2 * SOL)).value
    assert (await client.get_balance(payer.pubkey())).value == 2 * SOL
    blockhash = (await client.get_latest_blockhash()).value
    assert (await client.get_slot()).value > 0
    assert (await client.get_block_height()).value > 0
    tx = sol_transfer(payer, to.pubkey(), SOL, blockhash.blockhash)
    sim = (await client.simulate_transaction(tx)).value
    assert sim.err is None
    sig = (await client.send_transaction(tx)).value
    net.cluster.advance_slots(1)  # the block the transaction was queued for
    statuses = (await client.get_signature_statuses([sig, airdrop])).value
    assert all(s is not None and s.err is None for s in statuses)
    net.cluster.advance_slots(32)
    landed = (await client.get_transaction(sig, max_supported_transaction_version=0)).value
    assert landed is not None
    assert landed.transaction.meta is not None
    assert landed.transaction.meta.fee == 5000
    info = (await client.get_account_info(to.pubkey())).value
    assert info is not None
    assert info.lamports == SOL
    many = (await client.get_multiple_accounts([to.pubkey(), Pubkey.new_unique()])).value
    assert many[1] is None
    by_owner = (
        await client.get_token_accounts_by_owner(payer.pubkey(), TokenAccountOpts(mint=mint))
    ).value
    assert [a.pubkey for a in by_owner] == [account]
    parsed = (
        await client.get_token_accounts_by_owner_json_parsed(
            payer.pubkey(), TokenAccountOpts(program_id=TOKEN_PROGRAM_ID)
        )
    ).value
    assert len(parsed) == 1
    assert (await client.get_token_account_balance(account)).value.amount == "42"
    assert (await client.get_token_supply(mint)).value.amount == "42"
    largest = (await client.get_token_largest_accounts(mint)).value
    assert largest[0].address == account
    fees = (await client.get_recent_prioritization_fees()).value
    assert len(fees) == 150
    program_accounts = (await client.get_program_accounts(TOKEN_PROGRAM_ID)).value
    assert {a.pubkey for a in program_accounts} == genesis | {mint, account}
    bad = sol_transfer(payer, to.pubkey(), 100 * SOL, net.cluster.latest_blockhash())
    with pytest.raises(RPCException):
        await client.send_raw_transaction(bytes(bad), opts=TxOpts(skip_preflight=False))
