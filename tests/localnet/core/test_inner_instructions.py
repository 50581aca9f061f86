"""Inner instructions (CPIs) as agave reports them (issue 13): `getTransaction` in `json`, binary
and `jsonParsed`, `simulateTransaction` with `innerInstructions: true` and Geyser transaction
updates carry the CPIs of LiteSVM-executed programs and the real token / system instructions of
the programs localnet hosts (pump.fun), at the outer instruction's index, with their stack
height. Before this, localnet always answered `innerInstructions: []`."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import base58
import pytest
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction

from localnet.geyser.convert import transaction_info
from localnet.market import instructions as tix
from localnet.node import Localnet
from localnet.testing import running_localnet

SOL = 1_000_000_000
CONFIRMED = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}
ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracle"


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=41) as localnet:
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


def mint_and_ata(net: Localnet, payer: Keypair) -> tuple[VersionedTransaction, Pubkey]:
    """Create a mint, initialize it, create the payer's ATA: the ATA program CPIs four times."""
    mint = Keypair()
    rent = net.cluster.svm.minimum_balance_for_rent_exemption(82)
    ixs = [
        create_account(CreateAccountParams(
            from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent, space=82,
            owner=tix.TOKEN_PROGRAM_ID,
        )),
        tix.initialize_mint2(tix.TOKEN_PROGRAM_ID, mint.pubkey(), 6, payer.pubkey(), None),
        tix.create_associated_token_account_idempotent(
            payer.pubkey(), payer.pubkey(), mint.pubkey(), tix.TOKEN_PROGRAM_ID
        ),
    ]  # fmt: skip
    message = MessageV0.try_compile(payer.pubkey(), ixs, [], net.cluster.latest_blockhash())
    return VersionedTransaction(message, [payer, mint]), mint.pubkey()


def kinds(group: dict[str, Any]) -> list[tuple[str, str | None, int]]:
    """(program, parsed type, stack height) of each parsed inner instruction."""
    return [
        (ix.get("program", ix["programId"]), (ix.get("parsed") or {}).get("type"),
         ix["stackHeight"])
        for ix in group["instructions"]
    ]  # fmt: skip


async def test_cpis_of_a_litesvm_program_in_every_encoding(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    tx, mint = mint_and_ata(net, payer)
    encoded = base64.b64encode(bytes(tx)).decode()
    signature = await call(session, net, "sendTransaction", encoded, {"encoding": "base64"})
    net.cluster.advance_slots(2)
    plain = await call(session, net, "getTransaction", signature, CONFIRMED)
    keys = plain["transaction"]["message"]["accountKeys"]
    ata = str(tix.associated_token_address(payer.pubkey(), mint, tix.TOKEN_PROGRAM_ID))
    (group,) = plain["meta"]["innerInstructions"]
    assert group["index"] == 2  # the ATA create; the mint's own instructions made no CPI
    compiled = group["instructions"]
    assert [keys[ix["programIdIndex"]] for ix in compiled] == [
        str(tix.TOKEN_PROGRAM_ID), str(tix.SYSTEM_PROGRAM_ID), str(tix.TOKEN_PROGRAM_ID),
        str(tix.TOKEN_PROGRAM_ID),
    ]  # fmt: skip
    assert [ix["stackHeight"] for ix in compiled] == [2, 2, 2, 2]
    # GetAccountDataSize for an account with the ImmutableOwner extension (7)
    assert base58.b58decode(compiled[0]["data"]) == bytes([21, 7, 0])
    assert [keys[a] for a in compiled[3]["accounts"]] == [ata, str(mint)]
    binary = await call(
        session, net, "getTransaction", signature, {**CONFIRMED, "encoding": "base64"}
    )
    assert binary["meta"]["innerInstructions"] == plain["meta"]["innerInstructions"]
    parsed = await call(
        session, net, "getTransaction", signature, {**CONFIRMED, "encoding": "jsonParsed"}
    )
    (pgroup,) = parsed["meta"]["innerInstructions"]
    assert kinds(pgroup) == [
        ("spl-token", "getAccountDataSize", 2), ("system", "createAccount", 2),
        ("spl-token", "initializeImmutableOwner", 2), ("spl-token", "initializeAccount3", 2),
    ]  # fmt: skip
    assert pgroup["instructions"][0]["parsed"]["info"] == {
        "extensionTypes": ["immutableOwner"], "mint": str(mint),
    }  # fmt: skip
    assert pgroup["instructions"][3]["parsed"]["info"] == {
        "account": ata, "mint": str(mint), "owner": str(payer.pubkey()),
    }  # fmt: skip
    # getBlock renders the same meta
    block = await call(session, net, "getBlock", plain["slot"], {**CONFIRMED, "rewards": False})
    entry = next(t for t in block["transactions"] if t["transaction"]["signatures"][0] == signature)
    assert entry["meta"]["innerInstructions"] == plain["meta"]["innerInstructions"]


async def pump_buy(net: Localnet) -> tuple[Keypair, Any, str]:
    creator, trader = Keypair(), Keypair()
    net.cluster.airdrop(creator.pubkey(), 10 * SOL)
    net.cluster.airdrop(trader.pubkey(), 10 * SOL)
    launch = net.launchpad.launch(creator, name="Moon", symbol="MOON")
    signature = net.launchpad.buy(launch.mint, trader, lamports=SOL // 10)
    net.cluster.advance_slots(1)
    return trader, launch, signature


async def test_a_pump_buy_reports_the_real_token_and_system_cpis(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    trader, launch, signature = await pump_buy(net)
    parsed = await call(
        session, net, "getTransaction", signature, {**CONFIRMED, "encoding": "jsonParsed"}
    )
    groups = {g["index"]: g for g in parsed["meta"]["innerInstructions"]}
    assert sorted(groups) == [1, 2]  # the ATA create (LiteSVM) and buy_v2 (hosted)
    assert kinds(groups[1])[1] == ("system", "createAccount", 2)
    buy = kinds(groups[2])
    assert set(buy[:-1]) == {("system", "transfer", 2)}  # SOL to the curve and the fee takers
    assert buy[-1] == ("spl-token-2022", "transferChecked", 2)  # the tokens out of the curve
    transfers = [ix["parsed"]["info"] for ix in groups[2]["instructions"][:-1]]
    assert {t["source"] for t in transfers} == {str(trader.pubkey())}
    assert transfers[0]["destination"] == str(launch.bonding_curve)
    meta = parsed["meta"]
    spent = meta["preBalances"][0] - meta["postBalances"][0]
    # every lamport the buyer lost went through a reported transfer, the ATA's rent or the fee
    ata_rent = groups[1]["instructions"][1]["parsed"]["info"]["lamports"]
    assert spent == sum(t["lamports"] for t in transfers) + ata_rent + meta["fee"]
    tokens = groups[2]["instructions"][-1]["parsed"]["info"]["tokenAmount"]["amount"]
    post = next(b for b in meta["postTokenBalances"] if b["owner"] == str(trader.pubkey()))
    assert post["uiTokenAmount"]["amount"] == tokens
    # the compiled form indexes the same keys
    plain = await call(session, net, "getTransaction", signature, CONFIRMED)
    keys = plain["transaction"]["message"]["accountKeys"]
    last = next(g for g in plain["meta"]["innerInstructions"] if g["index"] == 2)["instructions"][
        -1
    ]
    assert keys[last["programIdIndex"]] == str(tix.TOKEN_2022_PROGRAM_ID)
    # Geyser's transaction update carries them too
    outcome = net.cluster.history.get(Signature.from_string(signature))
    assert outcome is not None
    info = transaction_info(outcome, 0, ([], []))
    assert [g.index for g in info.meta.inner_instructions] == [1, 2]
    geyser_last = info.meta.inner_instructions[1].instructions[-1]
    assert geyser_last.program_id_index == last["programIdIndex"]
    assert list(geyser_last.accounts) == last["accounts"]
    assert geyser_last.stack_height == 2
    assert base58.b58encode(geyser_last.data).decode() == last["data"]


async def test_simulate_with_inner_instructions_parses_them_and_reports_loaded_size(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    trader, launch, _ = await pump_buy(net)
    tx = net.launchpad.buy_transaction(
        launch.mint, launch.creator, trader, tokens=1_000_000, max_lamports=SOL
    )
    encoded = base64.b64encode(bytes(tx)).decode()
    cfg: dict[str, Any] = {"encoding": "base64", "innerInstructions": True}
    sim = (await call(session, net, "simulateTransaction", encoded, cfg))["value"]
    assert sim["err"] is None, sim
    buy = next(g for g in sim["innerInstructions"] if g["index"] == 2)
    assert kinds(buy)[-1] == ("spl-token-2022", "transferChecked", 2)
    assert buy["instructions"][-1]["parsed"]["info"]["tokenAmount"]["amount"] == "1000000"
    assert isinstance(sim["loadedAccountsDataSize"], int)
    assert sim["loadedAccountsDataSize"] > 0
    without = await call(session, net, "simulateTransaction", encoded, {"encoding": "base64"})
    assert without["value"]["innerInstructions"] is None


async def test_web3js_parses_the_inner_instructions(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    if shutil.which("node") is None or not (ORACLE_DIR / "node_modules/@solana/web3.js").is_dir():
        pytest.fail(
            "node and tests/oracle/node_modules (npm ci --prefix tests/oracle) are required"
        )
    trader, launch, signature = await pump_buy(net)
    tx = net.launchpad.buy_transaction(
        launch.mint, launch.creator, trader, tokens=1_000_000, max_lamports=SOL
    )
    assert net.urls is not None
    request = {
        "rpc": net.urls.rpc["helius"]["http"],
        "signature": signature,
        "transaction": base64.b64encode(bytes(tx)).decode(),
    }
    proc = await asyncio.create_subprocess_exec(
        "node", str(ORACLE_DIR / "web3_inner.js"), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(request).encode()), 300)
    assert proc.returncode == 0, err.decode()[-3000:]
    answer = json.loads(out)
    parsed = answer["getParsedTransaction"]["ok"]["innerInstructions"]
    buy = next(g for g in parsed if g["index"] == 2)["instructions"]
    assert buy[-1]["program"] == "spl-token-2022"
    assert buy[-1]["parsed"]["type"] == "transferChecked"
    assert buy[0]["parsed"]["type"] == "transfer"
    compiled = answer["getTransaction"]["ok"]
    last = next(g for g in compiled["innerInstructions"] if g["index"] == 2)["instructions"][-1]
    assert compiled["keys"][last["programIdIndex"]] == str(tix.TOKEN_2022_PROGRAM_ID)
    simulated = answer["simulateTransaction"]["ok"]
    assert simulated["err"] is None
    sim_buy = next(g for g in simulated["innerInstructions"] if g["index"] == 2)["instructions"]
    assert sim_buy[-1]["parsed"]["type"] == "transferChecked"
