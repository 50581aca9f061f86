"""Commitment that means something (issue 13): account reads and `getLatestBlockhash` at
`confirmed` / `finalized` answer from that commitment's bank (the state at the end of the slot 1
/ 32 behind), `processed` from the newest. Before this, every commitment saw the newest state
and the newest blockhash."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import VersionedTransaction

from localnet.market import instructions as tix
from localnet.node import Localnet
from localnet.testing import running_localnet

SOL = 1_000_000_000
PROCESSED = {"commitment": "processed"}
CONFIRMED = {"commitment": "confirmed"}
FINALIZED = {"commitment": "finalized"}


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=47) as localnet:
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
    assert "error" not in reply, reply
    return reply["result"]


def execute(net: Localnet, payer: Keypair, ixs: list[Instruction], *signers: Keypair) -> None:
    """A user transaction (what `sendTransaction` does), built into the next block: it lands in
    the newest slot."""
    message = MessageV0.try_compile(payer.pubkey(), ixs, [], net.cluster.latest_blockhash())
    signature = net.cluster.submit_transaction(VersionedTransaction(message, [payer, *signers]))
    net.cluster.advance_slots(1)
    outcome = net.cluster.history.get(signature)
    assert outcome is not None
    assert outcome.ok, outcome.err
    assert outcome.slot == net.cluster.slot


def pay(net: Localnet, payer: Keypair, to: Pubkey, lamports: int) -> None:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    execute(net, payer, [ix])


async def balances(session: aiohttp.ClientSession, net: Localnet, key: Pubkey) -> list[int]:
    return [
        (await call(session, net, "getBalance", str(key), cfg))["value"]
        for cfg in (PROCESSED, CONFIRMED, FINALIZED)
    ]


async def test_balances_and_accounts_follow_their_commitment(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer, to = Keypair(), Keypair().pubkey()
    net.cluster.airdrop(payer.pubkey(), 10 * SOL)
    net.cluster.advance_slots(33)  # the airdrop is final
    pay(net, payer, to, SOL)  # lands in the newest block
    # localnet's own setup (the airdrop above) is visible at every commitment at once; user
    # transactions follow commitment
    assert await balances(session, net, to) == [SOL, 0, 0]
    info = await call(session, net, "getAccountInfo", str(to), {**CONFIRMED, "encoding": "base64"})
    assert info["value"] is None  # not created yet in the confirmed bank
    assert info["context"]["slot"] == net.cluster.slot - 1
    net.cluster.advance_slots(1)
    assert await balances(session, net, to) == [SOL, SOL, 0]
    pay(net, payer, to, SOL)
    assert await balances(session, net, to) == [2 * SOL, SOL, 0]
    many = await call(
        session, net, "getMultipleAccounts", [str(to), str(payer.pubkey())],
        {**FINALIZED, "encoding": "base64"},
    )  # fmt: skip
    assert many["value"][0] is None
    assert many["value"][1]["lamports"] == 10 * SOL  # the payer before both payments
    net.cluster.advance_slots(31)
    assert await balances(session, net, to) == [2 * SOL, 2 * SOL, SOL]
    net.cluster.advance_slots(1)
    assert await balances(session, net, to) == [2 * SOL] * 3


async def test_token_reads_and_program_accounts_follow_their_commitment(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    owner, mint = Keypair(), Keypair()
    net.cluster.airdrop(owner.pubkey(), 10 * SOL)
    program = tix.TOKEN_PROGRAM_ID
    rent = net.cluster.svm.minimum_balance_for_rent_exemption(82)
    execute(net, owner, [
        create_account(CreateAccountParams(from_pubkey=owner.pubkey(), to_pubkey=mint.pubkey(),
                                           lamports=rent, space=82, owner=program)),
        tix.initialize_mint2(program, mint.pubkey(), 6, owner.pubkey(), None),
    ], mint)  # fmt: skip
    net.cluster.advance_slots(1)
    account = tix.associated_token_address(owner.pubkey(), mint.pubkey(), program)
    execute(net, owner, [
        tix.create_associated_token_account_idempotent(owner.pubkey(), owner.pubkey(),
                                                       mint.pubkey(), program),
        tix.mint_to(program, mint.pubkey(), account, owner.pubkey(), 5_000_000),
    ])  # fmt: skip
    by_owner = [str(owner.pubkey()), {"mint": str(mint.pubkey())}]
    got = await call(
        session, net, "getTokenAccountsByOwner", *by_owner, {**PROCESSED, "encoding": "base64"}
    )
    assert [a["pubkey"] for a in got["value"]] == [str(account)]
    confirmed = await call(session, net, "getTokenAccountsByOwner", *by_owner,
                           {**CONFIRMED, "encoding": "base64"})  # fmt: skip
    assert confirmed["value"] == []  # the account does not exist yet at confirmed
    flt = [{"memcmp": {"offset": 0, "bytes": str(mint.pubkey())}}]
    scan = await call(session, net, "getProgramAccounts", str(program),
                      {**CONFIRMED, "encoding": "base64", "filters": flt})  # fmt: skip
    assert scan == []
    net.cluster.advance_slots(1)
    scan = await call(session, net, "getProgramAccounts", str(program),
                      {**CONFIRMED, "encoding": "base64", "filters": flt})  # fmt: skip
    assert [a["pubkey"] for a in scan] == [str(account)]
    execute(net, owner, [tix.mint_to(program, mint.pubkey(), account, owner.pubkey(), 1_000_000)])
    amounts = [
        (await call(session, net, "getTokenAccountBalance", str(account), cfg))["value"]["amount"]
        for cfg in (PROCESSED, CONFIRMED)
    ]
    assert amounts == ["6000000", "5000000"]
    supply = await call(session, net, "getTokenSupply", str(mint.pubkey()), CONFIRMED)
    assert supply["value"]["amount"] == "5000000"


async def test_latest_blockhash_is_the_commitment_banks(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    net.cluster.advance_slots(40)
    newest = (await call(session, net, "getLatestBlockhash", PROCESSED))["value"]
    confirmed = await call(session, net, "getLatestBlockhash", CONFIRMED)
    finalized = await call(session, net, "getLatestBlockhash", FINALIZED)
    assert newest["blockhash"] == str(net.cluster.latest_blockhash())
    hashes = net.cluster.block_hashes(net.cluster.slot - 1)
    assert hashes is not None
    assert confirmed["value"]["blockhash"] == str(hashes[0]) != newest["blockhash"]
    assert confirmed["context"]["slot"] == net.cluster.slot - 1
    assert confirmed["value"]["lastValidBlockHeight"] == newest["lastValidBlockHeight"] - 1
    assert finalized["value"]["lastValidBlockHeight"] == newest["lastValidBlockHeight"] - 32
    # an older commitment's blockhash is still a valid one to sign with
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(),
                                 lamports=1_000_000))  # fmt: skip
    message = MessageV0.try_compile(
        payer.pubkey(), [ix], [], Hash.from_string(finalized["value"]["blockhash"])
    )
    tx = base64.b64encode(bytes(VersionedTransaction(message, [payer]))).decode()
    sim = await call(session, net, "simulateTransaction", tx, {"encoding": "base64"})
    assert sim["value"]["err"] is None
