"""Localnet's RPC as strict as mainnet (issue 13, Solana RPC): what agave answers, localnet answers.

Each test here failed on the localnet before its fix: a failing transaction sent with
`skipPreflight` lands and pays its fee, the methods bots use exist with agave's shapes, the status
cache forgets, `getTransaction` speaks `jsonParsed`.
"""

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


# -- 2. methods bots use ------------------------------------------------------------------------
MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


def memo_transfer(
    payer: Keypair, to: Pubkey, lamports: int, memo: str, net: Localnet, price: int = 0
) -> VersionedTransaction:
    from solders.compute_budget import set_compute_unit_price
    from solders.system_program import TransferParams, transfer

    ixs = [
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports)),
        Instruction(MEMO, memo.encode(), []),
    ]
    if price:
        ixs.insert(0, set_compute_unit_price(price))
    return v0(payer, ixs, net)


async def test_get_signatures_for_address_newest_first_with_paging(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer, to = Keypair(), Pubkey.new_unique()
    net.cluster.airdrop(payer.pubkey(), 10 * SOL)
    sent = []
    for n, lamports in enumerate((SOL, 50 * SOL, SOL, SOL)):  # the second one fails
        sent.append(
            await send_skip(session, net, memo_transfer(payer, to, lamports, f"buy {n}", net))
        )
        net.cluster.advance_slots(1)
    net.cluster.advance_slots(1)  # the last one confirmed
    found = await result(
        session, net, "getSignaturesForAddress", str(to), {"commitment": "confirmed"}
    )
    assert [f["signature"] for f in found] == sent[::-1]
    newest = found[0]
    assert set(newest) == {"signature", "slot", "err", "memo", "blockTime", "confirmationStatus"}
    assert newest["memo"] == "[5] buy 3"
    assert newest["blockTime"] == net.cluster.block_time(newest["slot"])
    assert newest["confirmationStatus"] == "confirmed"
    assert [f["err"] for f in found] == [None, None, {"InstructionError": [0, {"Custom": 1}]}, None]
    # default commitment (finalized) sees none of them yet, then all
    assert await result(session, net, "getSignaturesForAddress", str(to)) == []
    net.cluster.advance_slots(32)
    final = await result(session, net, "getSignaturesForAddress", str(to))
    assert [f["confirmationStatus"] for f in final] == ["finalized"] * 4
    # the payer's history also holds its airdrop (memo "[9] airdrop N" from the faucet)
    of_payer = await result(session, net, "getSignaturesForAddress", str(payer.pubkey()))
    assert len(of_payer) == 5
    assert of_payer[-1]["memo"].startswith("[9] airdrop ")
    page = await result(session, net, "getSignaturesForAddress", str(to), {"limit": 2})
    assert [f["signature"] for f in page] == [sent[3], sent[2]]
    older = await result(
        session, net, "getSignaturesForAddress", str(to), {"limit": 2, "before": sent[2]}
    )
    assert [f["signature"] for f in older] == [sent[1], sent[0]]
    until = await result(session, net, "getSignaturesForAddress", str(to), {"until": sent[1]})
    assert [f["signature"] for f in until] == [sent[3], sent[2]]
    unknown = str(Keypair().sign_message(b"x"))
    assert await result(session, net, "getSignaturesForAddress", str(to), {"before": unknown}) == []
    below = "Invalid params: Method does not support commitment below `confirmed`"
    for cfg, message in (
        ({"limit": 1001}, "Invalid params: Invalid limit; max 1000"),
        ({"limit": 0}, "Invalid params: Invalid limit; max 1000"),
        ({"commitment": "processed"}, below),
    ):
        reply = await rpc(session, net, "getSignaturesForAddress", str(to), cfg)
        assert reply["error"] == {"code": -32602, "message": message}


async def test_block_time_fee_for_message_supply_and_transaction_count(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), 10 * SOL)
    net.cluster.advance_slots(40)
    counted = await result(session, net, "getTransactionCount", {"commitment": "processed"})
    tx = memo_transfer(payer, Pubkey.new_unique(), SOL, "priced", net, price=123_457)
    message = base64.b64encode(bytes(tx.message)).decode()
    quoted = await result(session, net, "getFeeForMessage", message, {"commitment": "processed"})
    signature = await send_skip(session, net, tx)
    net.cluster.advance_slots(2)
    got = await result(
        session, net, "getTransaction", signature,
        {"commitment": "confirmed", "maxSupportedTransactionVersion": 0},
    )  # fmt: skip
    assert quoted["value"] == got["meta"]["fee"]  # the quote is what the bank charged
    assert quoted["value"] > FEE
    assert set(quoted["context"]) == {"apiVersion", "slot"}
    net.cluster.advance_slots(151)  # its blockhash expired: agave answers null
    expired = await result(session, net, "getFeeForMessage", message)
    assert expired["value"] is None
    processed = await result(session, net, "getTransactionCount", {"commitment": "processed"})
    assert processed == counted + 1
    slot = got["slot"]
    assert await result(session, net, "getBlockTime", slot) == net.cluster.block_time(slot)
    assert got["blockTime"] == net.cluster.block_time(slot)
    future = await rpc(session, net, "getBlockTime", net.cluster.slot + 5)
    assert future["error"]["code"] == -32004
    supply = await result(session, net, "getSupply", {"excludeNonCirculatingAccountsList": True})
    value = supply["value"]
    assert set(value) == {"circulating", "nonCirculating", "nonCirculatingAccounts", "total"}
    assert value["total"] == value["circulating"] + value["nonCirculating"] > 0
    epoch = await result(session, net, "getEpochInfo", {"commitment": "processed"})
    assert epoch["transactionCount"] == processed


async def test_identity_epoch_schedule_and_leaders(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    identity = (await result(session, net, "getIdentity"))["identity"]
    Pubkey.from_string(identity)
    assert await result(session, net, "getEpochSchedule") == {
        "firstNormalEpoch": 0,
        "firstNormalSlot": 0,
        "leaderScheduleSlotOffset": 432_000,
        "slotsPerEpoch": 432_000,
        "warmup": False,
    }
    slot = net.cluster.slot
    assert await result(session, net, "getSlotLeaders", slot, 10) == [identity] * 10
    too_many = await rpc(session, net, "getSlotLeaders", slot, 5001)
    assert too_many["error"] == {
        "code": -32602,
        "message": "Invalid params: Invalid limit; max 5000",
    }
    schedule = await result(session, net, "getLeaderSchedule")
    assert list(schedule) == [identity]
    assert len(schedule[identity]) == 432_000
    assert (
        await result(
            session, net, "getLeaderSchedule", None, {"identity": str(Pubkey.new_unique())}
        )
        == {}
    )
    assert await result(session, net, "getLeaderSchedule", 432_000 * 50) is None


def token_account_data(mint: Pubkey, owner: Pubkey, amount: int, delegate: Pubkey | None) -> bytes:
    option = (b"\x01\x00\x00\x00" + bytes(delegate)) if delegate else bytes(36)
    delegated = amount if delegate else 0
    return (
        bytes(mint) + bytes(owner) + amount.to_bytes(8, "little") + option + b"\x01"
        + bytes(12) + delegated.to_bytes(8, "little") + bytes(36)
    )  # fmt: skip


async def test_get_token_accounts_by_delegate(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    from solders.account import Account

    cluster = net.cluster
    mint, owner, delegate = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    mint_data = bytes(36) + (10**9).to_bytes(8, "little") + b"\x06\x01" + bytes(36)
    rent = cluster.svm.minimum_balance_for_rent_exemption
    cluster.set_account(mint, Account(rent(82), mint_data, TOKEN_PROGRAM, False, 0))
    delegated, plain = Pubkey.new_unique(), Pubkey.new_unique()
    for address, who in ((delegated, delegate), (plain, None)):
        data = token_account_data(mint, owner, 5_000, who)
        cluster.set_account(address, Account(rent(165), data, TOKEN_PROGRAM, False, 0))
    for flt in ({"mint": str(mint)}, {"programId": str(TOKEN_PROGRAM)}):
        got = await result(
            session,
            net,
            "getTokenAccountsByDelegate",
            str(delegate),
            flt,
            {"encoding": "jsonParsed"},
        )
        assert [a["pubkey"] for a in got["value"]] == [str(delegated)]
        info = got["value"][0]["account"]["data"]["parsed"]["info"]
        assert info["delegate"] == str(delegate)
        assert info["delegatedAmount"]["amount"] == "5000"
    none = await result(session, net, "getTokenAccountsByDelegate", str(owner), {"mint": str(mint)})
    assert none["value"] == []
    bad = await rpc(
        session, net, "getTokenAccountsByDelegate", str(delegate), {"programId": str(owner)}
    )
    assert bad["error"]["code"] == -32602


async def test_priority_fee_estimate_on_helius_only(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer, to = Keypair(), Pubkey.new_unique()
    net.cluster.airdrop(payer.pubkey(), 10 * SOL)
    for n, price in enumerate((1_000, 2_000, 3_000, 4_000)):
        await send_skip(session, net, memo_transfer(payer, to, 1_000_000, f"p{n}", net, price))
    net.cluster.advance_slots(1)
    request = {"accountKeys": [str(to)], "options": {"includeAllPriorityFeeLevels": True}}
    levels = (await result(session, net, "getPriorityFeeEstimate", request))["priorityFeeLevels"]
    assert levels == {
        "min": 1000.0, "low": 1000.0, "medium": 2000.0, "high": 3000.0, "veryHigh": 4000.0,
        "unsafeMax": 4000.0,
    }  # fmt: skip
    high = await result(
        session, net, "getPriorityFeeEstimate",
        {"accountKeys": [str(to)], "options": {"priorityLevel": "High"}},
    )  # fmt: skip
    assert high == {"priorityFeeEstimate": 3000.0}
    elsewhere = await result(
        session, net, "getPriorityFeeEstimate", {"accountKeys": [str(Pubkey.new_unique())]}
    )
    assert elsewhere == {"priorityFeeEstimate": 0.0}
    both = await rpc(
        session, net, "getPriorityFeeEstimate", {"accountKeys": [], "transaction": "x"}
    )
    assert both["error"]["code"] == -32602
    for endpoint in ("quicknode", "public"):
        reply = await rpc(session, net, "getPriorityFeeEstimate", request, endpoint=endpoint)
        assert reply["error"] == {"code": -32601, "message": "Method not found"}


# -- 3. the status cache forgets after 300 slots; searchTransactionHistory still finds it ---------
async def test_signature_status_leaves_the_status_cache_after_300_slots(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer = Keypair()
    net.cluster.airdrop(payer.pubkey(), SOL)
    signature = await send_skip(
        session, net, memo_transfer(payer, Pubkey.new_unique(), SOL // 2, "old", net)
    )
    net.cluster.advance_slots(1)
    landed = (await result(session, net, "getSignatureStatuses", [signature]))["value"][0]
    net.cluster.advance_slots(300)  # still within the cache: landed exactly 300 slots ago
    cached = (await result(session, net, "getSignatureStatuses", [signature]))["value"][0]
    assert cached["slot"] == landed["slot"]
    assert cached["confirmationStatus"] == "finalized"
    net.cluster.advance_slots(1)
    forgotten = await result(session, net, "getSignatureStatuses", [signature])
    assert forgotten["value"] == [None]
    searched = await result(
        session, net, "getSignatureStatuses", [signature], {"searchTransactionHistory": True}
    )
    assert searched["value"][0] == {
        "slot": landed["slot"],
        "confirmations": None,
        "err": None,
        "status": {"Ok": None},
        "confirmationStatus": "finalized",
    }


# -- 4. getTransaction with encoding jsonParsed ----------------------------------------------------
async def test_get_transaction_json_parsed(net: Localnet, session: aiohttp.ClientSession) -> None:
    from solders.compute_budget import set_compute_unit_price
    from solders.system_program import CreateAccountParams, create_account
    from spl.token import instructions as spl
    from spl.token import models

    payer, mint, friend = Keypair(), Keypair(), Pubkey.new_unique()
    net.cluster.airdrop(payer.pubkey(), 10 * SOL)
    rent = net.cluster.svm.minimum_balance_for_rent_exemption(82)
    mine = spl.get_associated_token_address(payer.pubkey(), mint.pubkey())
    theirs = spl.get_associated_token_address(friend, mint.pubkey())
    mint_key = mint.pubkey()
    ixs = [
        set_compute_unit_price(1),
        create_account(
            CreateAccountParams(
                from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent, space=82,
                owner=TOKEN_PROGRAM,
            )
        ),
        spl.initialize_mint(
            models.InitializeMintParams(
                decimals=6, mint=mint.pubkey(), mint_authority=payer.pubkey(),
                program_id=TOKEN_PROGRAM, freeze_authority=None,
            )
        ),
        spl.create_idempotent_associated_token_account(payer.pubkey(), payer.pubkey(), mint_key),
        spl.create_idempotent_associated_token_account(payer.pubkey(), friend, mint_key),
        spl.mint_to_checked(
            models.MintToCheckedParams(
                program_id=TOKEN_PROGRAM, mint=mint.pubkey(), dest=mine,
                mint_authority=payer.pubkey(), amount=5_000_000, decimals=6,
            )
        ),
        spl.transfer_checked(
            models.TransferCheckedParams(
                program_id=TOKEN_PROGRAM, source=mine, mint=mint.pubkey(), dest=theirs,
                owner=payer.pubkey(), amount=1_250_000, decimals=6,
            )
        ),
        Instruction(MEMO, b"gm", []),
    ]  # fmt: skip
    message = MessageV0.try_compile(payer.pubkey(), ixs, [], net.cluster.latest_blockhash())
    tx = VersionedTransaction(message, [payer, mint])
    signature = await send_skip(session, net, tx)
    net.cluster.advance_slots(2)
    cfg = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0, "encoding": "jsonParsed"}
    got = await result(session, net, "getTransaction", signature, cfg)
    assert got["meta"]["err"] is None
    assert "loadedAddresses" not in got["meta"]
    msg = got["transaction"]["message"]
    keys = {k["pubkey"]: k for k in msg["accountKeys"]}
    assert keys[str(payer.pubkey())] == {
        "pubkey": str(payer.pubkey()), "signer": True, "source": "transaction", "writable": True
    }  # fmt: skip
    assert keys[str(mint.pubkey())]["signer"] is True
    assert keys[str(TOKEN_PROGRAM)]["writable"] is False
    assert keys[str(friend)] == {
        "pubkey": str(friend), "signer": False, "source": "transaction", "writable": False
    }  # fmt: skip
    budget, create, init, ata_mine, ata_theirs, mint_to, move, memo = msg["instructions"]
    assert set(budget) == {"accounts", "data", "programId", "stackHeight"}  # not parsed by agave
    assert create["program"] == "system"
    assert create["parsed"] == {
        "info": {
            "lamports": rent, "newAccount": str(mint.pubkey()), "owner": str(TOKEN_PROGRAM),
            "source": str(payer.pubkey()), "space": 82,
        },
        "type": "createAccount",
    }  # fmt: skip
    assert init["program"] == "spl-token"
    assert init["parsed"]["type"] == "initializeMint"
    assert init["parsed"]["info"]["decimals"] == 6
    assert init["parsed"]["info"]["mintAuthority"] == str(payer.pubkey())
    assert ata_theirs["program"] == "spl-associated-token-account"
    assert ata_theirs["parsed"] == {
        "info": {
            "account": str(theirs), "mint": str(mint.pubkey()), "source": str(payer.pubkey()),
            "systemProgram": "11111111111111111111111111111111",
            "tokenProgram": str(TOKEN_PROGRAM), "wallet": str(friend),
        },
        "type": "createIdempotent",
    }  # fmt: skip
    assert ata_mine["parsed"]["info"]["wallet"] == str(payer.pubkey())
    assert mint_to["parsed"]["type"] == "mintToChecked"
    assert move["parsed"] == {
        "info": {
            "authority": str(payer.pubkey()), "destination": str(theirs),
            "mint": str(mint.pubkey()), "source": str(mine),
            "tokenAmount": {
                "amount": "1250000", "decimals": 6, "uiAmount": 1.25, "uiAmountString": "1.25"
            },
        },
        "type": "transferChecked",
    }  # fmt: skip
    assert memo == {
        "parsed": "gm", "program": "spl-memo", "programId": str(MEMO), "stackHeight": None
    }  # fmt: skip
    # json keeps the compiled form, and getBlock speaks jsonParsed too
    plain = await result(session, net, "getTransaction", signature, {**cfg, "encoding": "json"})
    assert plain["transaction"]["message"]["accountKeys"][0] == str(payer.pubkey())
    block = await result(session, net, "getBlock", got["slot"], {**cfg, "rewards": False})
    entry = next(t for t in block["transactions"] if t["transaction"]["signatures"][0] == signature)
    assert entry["transaction"]["message"]["instructions"][7]["program"] == "spl-memo"


# -- independent check: @solana/web3.js 1.x Connection parses what localnet answers ---------------
ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracle"


async def web3(request: dict[str, Any]) -> dict[str, Any]:
    """tests/oracle/web3_rpc.js: each method through web3.js, `{"ok": parsed}` or `{"error"}`."""
    if shutil.which("node") is None or not (ORACLE_DIR / "node_modules/@solana/web3.js").is_dir():
        pytest.fail(
            "node and tests/oracle/node_modules (npm ci --prefix tests/oracle) are required"
        )
    proc = await asyncio.create_subprocess_exec(
        "node", str(ORACLE_DIR / "web3_rpc.js"), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(request).encode()), 300)
    assert proc.returncode == 0, err.decode()[-3000:]
    answer: dict[str, Any] = json.loads(out)
    return answer


async def test_web3js_connection_parses_the_new_methods(
    net: Localnet, session: aiohttp.ClientSession
) -> None:
    payer, to = Keypair(), Pubkey.new_unique()
    net.cluster.airdrop(payer.pubkey(), 10 * SOL)
    old = await send_skip(session, net, memo_transfer(payer, to, SOL, "old", net))
    net.cluster.advance_slots(301)  # out of the status cache
    failed = await send_skip(session, net, memo_transfer(payer, to, 50 * SOL, "too much", net))
    net.cluster.advance_slots(1)
    parsed_tx = memo_transfer(payer, to, SOL, "gm", net, price=7)
    newest = await send_skip(session, net, parsed_tx)
    net.cluster.advance_slots(2)
    landed = await result(
        session, net, "getTransaction", newest,
        {"commitment": "confirmed", "maxSupportedTransactionVersion": 0},
    )  # fmt: skip
    slot = landed["slot"]
    assert net.urls is not None
    answer = await web3(
        {
            "rpc": net.urls.rpc["helius"]["http"],
            "address": str(to),
            "signature": newest,
            "before": newest,
            "slot": slot,
            "message": base64.b64encode(bytes(parsed_tx.message)).decode(),
            "statuses": [old, newest],
        }
    )
    errors = {name: a["error"] for name, a in answer.items() if "error" in a}
    assert errors == {}
    got = {name: a["ok"] for name, a in answer.items()}
    history = got["getSignaturesForAddress"]
    assert [h["signature"] for h in history] == [newest, failed, old]
    assert history[0] == {
        "signature": newest, "slot": slot, "err": None, "memo": "[2] gm",
        "blockTime": net.cluster.block_time(slot), "confirmationStatus": "confirmed",
    }  # fmt: skip
    assert history[1]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert history[2]["confirmationStatus"] == "finalized"
    assert [h["signature"] for h in got["getSignaturesForAddressBefore"]] == [failed, old]
    assert got["getBlockTime"] == net.cluster.block_time(slot)
    assert got["getFeeForMessage"]["value"] == landed["meta"]["fee"]
    supply = got["getSupply"]["value"]
    assert supply["total"] == supply["circulating"] > 0
    assert supply["nonCirculatingAccounts"] == []
    assert got["getTransactionCount"] == net.cluster.history.transaction_count
    assert got["getEpochSchedule"]["slotsPerEpoch"] == 432_000
    identity = (await result(session, net, "getIdentity"))["identity"]
    assert got["getSlotLeaders"] == [identity] * 3
    assert got["getLeaderScheduleSize"] == {identity: 432_000}
    parsed = got["getParsedTransaction"]
    assert parsed["slot"] == slot
    assert parsed["meta"]["err"] is None
    keys = parsed["transaction"]["message"]["accountKeys"]
    assert keys[0] == {
        "pubkey": str(payer.pubkey()), "signer": True, "writable": True, "source": "transaction"
    }  # fmt: skip
    budget, move, memo = parsed["transaction"]["message"]["instructions"]
    assert budget["programId"] == "ComputeBudget111111111111111111111111111111"
    assert set(budget) >= {"accounts", "data"}  # web3.js PartiallyDecodedInstruction
    assert move["program"] == "system"
    assert move["parsed"] == {
        "info": {"destination": str(to), "lamports": SOL, "source": str(payer.pubkey())},
        "type": "transfer",
    }
    assert memo["program"] == "spl-memo"
    assert memo["parsed"] == "gm"
    searched = got["getSignatureStatusesSearch"]["value"]
    assert [s["slot"] for s in searched] == [history[2]["slot"], slot]
    assert got["getSignatureStatuses"]["value"][0] is None  # forgotten by the status cache
    assert got["getSignatureStatuses"]["value"][1]["confirmationStatus"] == "confirmed"
    block = got["getParsedBlock"]
    assert block["blockTime"] == net.cluster.block_time(slot)
    assert block["signatures"] == [newest]
    assert block["programs"] == [[None, "system", "spl-memo"]]
