"""Durable-nonce transactions through the real RPC server: valid at any age while their
`recent_blockhash` is the nonce account's stored nonce, advanced by landing (ok or failed), a
replay refused (AlreadyProcessed while remembered, afterwards BlockhashNotFound), and the nonce
account rendered as agave's `jsonParsed` shape."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import (
    AdvanceNonceAccountParams,
    TransferParams,
    advance_nonce_account,
    create_nonce_account,
    transfer,
)
from solders.transaction import Transaction, VersionedTransaction

from localnet.encoding import TOKEN_2022_PROGRAM_ID as TOKEN_2022
from localnet.execution import durable_nonce, nonce_state
from localnet.jito import TIP_ACCOUNTS
from localnet.market import instructions as tix
from localnet.node import Localnet
from localnet.pump.launchpad import PumpLaunchpad, trade_v2_instruction
from localnet.pump.state import BUYBACK_FEE_RECIPIENTS, FEE_RECIPIENTS
from localnet.testing import running_localnet

SOL = 1_000_000_000
NONCE_RENT = 1_447_680  # rent-exempt minimum of 80 bytes


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=15) as localnet:
        yield localnet


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def rpc(session: aiohttp.ClientSession, net: Localnet, method: str, *params: Any) -> Any:
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with session.post(net.urls.rpc["helius"]["http"], json=body) as response:
        assert response.status == 200
        return await response.json()


def b64(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


async def send(
    session: aiohttp.ClientSession, net: Localnet, tx: VersionedTransaction, **cfg: Any
) -> Any:
    return await rpc(session, net, "sendTransaction", b64(tx), {"encoding": "base64", **cfg})


def make_nonce(net: Localnet, payer: Keypair) -> Pubkey:
    """A nonce account with `payer` as authority, created by a real System transaction."""
    nonce = Keypair()
    ixs = create_nonce_account(payer.pubkey(), nonce.pubkey(), payer.pubkey(), NONCE_RENT)
    tx = Transaction.new_signed_with_payer(
        ixs, payer.pubkey(), [payer, nonce], net.cluster.latest_blockhash()
    )
    assert net.cluster.send_transaction(tx).ok
    return nonce.pubkey()


def stored_nonce(net: Localnet, nonce: Pubkey) -> Hash:
    state = nonce_state(net.cluster.get_account(nonce))
    assert state is not None
    return state.durable_nonce


def nonce_tx(
    payer: Keypair,
    nonce: Pubkey,
    blockhash: Hash,
    rest: list[Instruction],
    *,
    authority: Keypair | None = None,
) -> VersionedTransaction:
    signer = authority or payer
    advance = advance_nonce_account(
        AdvanceNonceAccountParams(nonce_pubkey=nonce, authorized_pubkey=signer.pubkey())
    )
    message = MessageV0.try_compile(payer.pubkey(), [advance, *rest], [], blockhash)
    signers = [payer] if authority is None else [payer, authority]
    return VersionedTransaction(message, signers)


def pay(payer: Keypair, to: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))


@pytest.fixture
def payer(net: Localnet) -> Keypair:
    keypair = Keypair()
    net.cluster.airdrop(keypair.pubkey(), 10 * SOL)
    return keypair


async def test_nonce_tx_lands_after_its_blockhash_window_and_advances(
    net: Localnet, session: aiohttp.ClientSession, payer: Keypair
) -> None:
    nonce = make_nonce(net, payer)
    value = stored_nonce(net, nonce)
    net.cluster.advance_slots(200)  # far past the 150-block window of any blockhash of then
    dest = Pubkey.new_unique()
    tx = nonce_tx(payer, nonce, value, [pay(payer, dest, 1_000_000)])
    assert not net.cluster.blockhash_valid(value)

    sim = await rpc(session, net, "simulateTransaction", b64(tx), {"encoding": "base64"})
    assert sim["result"]["value"]["err"] is None
    sent = await send(session, net, tx)
    assert sent["result"] == str(tx.signatures[0])
    net.cluster.advance_slots(1)

    assert net.cluster.get_balance(dest) == 1_000_000
    # advanced to the durable nonce of the blockhash the block executed under
    advanced = stored_nonce(net, nonce)
    assert advanced != value
    assert advanced == durable_nonce(net.cluster._slot_hashes[net.cluster.slot - 1])

    statuses = await rpc(session, net, "getSignatureStatuses", [str(tx.signatures[0])])
    assert statuses["result"]["value"][0]["err"] is None
    net.cluster.advance_slots(1)
    got = await rpc(
        session,
        net,
        "getTransaction",
        str(tx.signatures[0]),
        {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0, "commitment": "confirmed"},
    )
    first = got["result"]["transaction"]["message"]["instructions"][0]
    assert first["parsed"] == {
        "type": "advanceNonce",
        "info": {
            "nonceAccount": str(nonce),
            "nonceAuthority": str(payer.pubkey()),
            "recentBlockhashesSysvar": "SysvarRecentB1ockHashes11111111111111111111",
        },
    }
    by_nonce = await rpc(
        session, net, "getSignaturesForAddress", str(nonce), {"commitment": "confirmed"}
    )
    assert by_nonce["result"][0]["signature"] == str(tx.signatures[0])

    # the same bytes again: agave checks the age before the status cache, and the nonce has
    # moved on, so the preflight answers BlockhashNotFound; with skipPreflight it is a no-op
    again = await send(session, net, tx)
    assert again["error"]["code"] == -32002
    assert again["error"]["data"]["err"] == "BlockhashNotFound"
    assert (await send(session, net, tx, skipPreflight=True))["result"] == str(tx.signatures[0])
    net.cluster.advance_slots(1)
    assert net.cluster.get_balance(dest) == 1_000_000


async def test_wrong_nonce_value_is_refused_like_an_expired_blockhash(
    net: Localnet, session: aiohttp.ClientSession, payer: Keypair
) -> None:
    nonce = make_nonce(net, payer)
    net.cluster.advance_slots(3)
    stale = nonce_tx(
        payer, nonce, Hash.new_unique(), [pay(payer, Pubkey.new_unique(), 1_000_000 + 5)]
    )
    refused = await send(session, net, stale)
    assert refused["error"]["code"] == -32002
    assert refused["error"]["data"]["err"] == "BlockhashNotFound"
    sim = await rpc(session, net, "simulateTransaction", b64(stale), {"encoding": "base64"})
    assert sim["result"]["value"]["err"] == "BlockhashNotFound"
    # signed by someone who is not the nonce authority: refused too
    intruder = Keypair()
    net.cluster.airdrop(intruder.pubkey(), SOL)
    foreign = nonce_tx(
        payer,
        nonce,
        stored_nonce(net, nonce),
        [pay(payer, Pubkey.new_unique(), 1_000_000 + 5)],
        authority=intruder,
    )
    assert (await send(session, net, foreign))["error"]["data"]["err"] == "BlockhashNotFound"


async def test_failed_nonce_tx_still_advances_and_pays_the_fee(
    net: Localnet, session: aiohttp.ClientSession, payer: Keypair
) -> None:
    nonce = make_nonce(net, payer)
    value = stored_nonce(net, nonce)
    net.cluster.advance_slots(2)
    before = net.cluster.get_balance(payer.pubkey())
    too_much = nonce_tx(payer, nonce, value, [pay(payer, Pubkey.new_unique(), 100 * SOL)])
    assert (await send(session, net, too_much, skipPreflight=True))["result"]
    net.cluster.advance_slots(1)

    outcome = net.cluster.history.get(too_much.signatures[0])
    assert outcome is not None
    assert outcome.landed
    assert outcome.err == {"InstructionError": [1, {"Custom": 1}]}
    assert net.cluster.get_balance(payer.pubkey()) == before - outcome.fee > 0
    assert stored_nonce(net, nonce) != value
    # a new transaction on the old value is now refused
    late = nonce_tx(payer, nonce, value, [pay(payer, Pubkey.new_unique(), 1_000_000 + 5)])
    assert (await send(session, net, late))["error"]["data"]["err"] == "BlockhashNotFound"


async def test_one_nonce_value_lands_once_and_advances_once_per_blockhash(
    net: Localnet, session: aiohttp.ClientSession, payer: Keypair
) -> None:
    """Two different transactions on the same nonce: only the first of the block lands. A
    transaction on the freshly advanced value waits for the next blockhash (not advanceable)."""
    nonce = make_nonce(net, payer)
    value = stored_nonce(net, nonce)
    net.cluster.advance_slots(1)
    first = nonce_tx(payer, nonce, value, [pay(payer, Pubkey.new_unique(), 1_000_000 + 10)])
    second = nonce_tx(payer, nonce, value, [pay(payer, Pubkey.new_unique(), 1_000_000 + 20)])
    for tx in (first, second):
        answer = await send(session, net, tx)
        assert answer.get("result") == str(tx.signatures[0]), answer
    net.cluster.advance_slots(1)
    landed = [net.cluster.history.get(tx.signatures[0]) for tx in (first, second)]
    assert landed[0] is not None
    assert landed[0].ok
    assert landed[1] is None

    # a transaction signed on the value the next advance will store, sent into the same block
    # as that advance: still the blockhash it was advanced under, the runtime refuses it
    value = stored_nonce(net, nonce)
    predicted = durable_nonce(net.cluster.latest_blockhash())
    lead = nonce_tx(payer, nonce, value, [pay(payer, Pubkey.new_unique(), 1_000_040)])
    follow = nonce_tx(payer, nonce, predicted, [pay(payer, Pubkey.new_unique(), 1_000_030)])
    assert (await send(session, net, lead))["result"]
    assert (await send(session, net, follow, skipPreflight=True))["result"]
    net.cluster.advance_slots(1)
    assert stored_nonce(net, nonce) == predicted
    lead_outcome = net.cluster.history.get(lead.signatures[0])
    assert lead_outcome is not None
    assert lead_outcome.ok
    assert net.cluster.history.get(follow.signatures[0]) is None
    # one block later the stored value is usable
    assert net.cluster.nonce_for(follow.message) == nonce
    assert (await send(session, net, follow))["result"]
    net.cluster.advance_slots(1)
    follow_outcome = net.cluster.history.get(follow.signatures[0])
    assert follow_outcome is not None
    assert follow_outcome.ok


async def test_replay_after_the_status_cache_forgot_it_is_blockhash_not_found(
    session: aiohttp.ClientSession,
) -> None:
    async with running_localnet(seed=16, max_transactions=1, status_slots=151) as net:
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), SOL)
        nonce = make_nonce(net, payer)
        net.cluster.advance_slots(1)  # created under the latest blockhash: usable from the next
        tx = nonce_tx(
            payer, nonce, stored_nonce(net, nonce), [pay(payer, Pubkey.new_unique(), 1_000_000 + 7)]
        )
        answer = await send(session, net, tx)
        assert answer.get("result"), answer
        net.cluster.advance_slots(1)
        assert net.cluster.history.get(tx.signatures[0]) is not None
        net.cluster.advance_slots(160)
        net.cluster.airdrop(Pubkey.new_unique(), SOL)  # pushes the old transaction out
        assert net.cluster.history.get(tx.signatures[0]) is None
        replay = await send(session, net, tx)
        assert replay["error"]["data"]["err"] == "BlockhashNotFound"


async def test_nonce_account_json_parsed_has_agave_shape(
    net: Localnet, session: aiohttp.ClientSession, payer: Keypair
) -> None:
    nonce = make_nonce(net, payer)
    value = stored_nonce(net, nonce)
    got = await rpc(session, net, "getAccountInfo", str(nonce), {"encoding": "jsonParsed"})
    data = got["result"]["value"]["data"]
    assert data == {
        "program": "nonce",
        "parsed": {
            "type": "initialized",
            "info": {
                "authority": str(payer.pubkey()),
                "blockhash": str(value),
                "feeCalculator": {"lamportsPerSignature": "5000"},
            },
        },
        "space": 80,
    }
    # a plain wallet (System-owned, no data) still falls back to base64
    wallet = await rpc(
        session, net, "getAccountInfo", str(payer.pubkey()), {"encoding": "jsonParsed"}
    )
    assert wallet["result"]["value"]["data"] == ["", "base64"]


async def test_nonce_tx_in_a_jito_bundle_lands_after_the_window(
    net: Localnet, session: aiohttp.ClientSession, payer: Keypair
) -> None:
    nonce = make_nonce(net, payer)
    value = stored_nonce(net, nonce)
    net.cluster.advance_slots(155)
    tx = nonce_tx(payer, nonce, value, [pay(payer, TIP_ACCOUNTS[0], 10_000)])
    assert net.urls is not None
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "sendBundle",
        "params": [[b64(tx)], {"encoding": "base64"}],
    }
    async with session.post(f"{net.urls.jito}/api/v1/bundles", json=body) as response:
        answer = await response.json()
    assert response.status == 200, answer
    net.cluster.advance_slots(1)
    record = net.block_engine.record(answer["result"])
    assert record is not None
    assert record.status == "Landed"
    assert stored_nonce(net, nonce) != value


async def test_nonce_pump_buy_runs_through_the_hosted_program(
    net: Localnet, session: aiohttp.ClientSession, payer: Keypair
) -> None:
    """The snipe path: a pump.fun buy_v2 (hosted in Python) signed on a durable nonce."""
    pad = PumpLaunchpad(net.cluster)
    creator = Keypair()
    net.cluster.airdrop(creator.pubkey(), 10 * SOL)
    launch = pad.launch(creator, name="Nonce", symbol="NONCE")
    nonce = make_nonce(net, payer)
    value = stored_nonce(net, nonce)
    net.cluster.advance_slots(160)
    tokens = pad.quote_buy(launch.mint, SOL // 10)
    user = payer.pubkey()
    ixs = [
        set_compute_unit_limit(250_000),
        tix.create_associated_token_account_idempotent(user, user, launch.mint, TOKEN_2022),
        trade_v2_instruction(
            "buy", launch.mint, creator.pubkey(), user, tokens, SOL // 5,
            FEE_RECIPIENTS[0], BUYBACK_FEE_RECIPIENTS[0],
        ),
    ]  # fmt: skip
    tx = nonce_tx(payer, nonce, value, ixs)
    answer = await send(session, net, tx)
    assert answer.get("result") == str(tx.signatures[0]), answer
    net.cluster.advance_slots(1)
    outcome = net.cluster.history.get(tx.signatures[0])
    assert outcome is not None
    assert outcome.err is None
    assert pad.token_balance(launch.mint, user) == tokens
    assert stored_nonce(net, nonce) != value
    # failing buy (slippage: max 1 lamport) on the new value: lands failed, nonce advanced anyway
    value = stored_nonce(net, nonce)
    ixs[-1] = trade_v2_instruction(
        "buy", launch.mint, creator.pubkey(), user, tokens, 1,
        FEE_RECIPIENTS[0], BUYBACK_FEE_RECIPIENTS[0],
    )  # fmt: skip
    failing = nonce_tx(payer, nonce, value, ixs)
    assert (await send(session, net, failing, skipPreflight=True))["result"]
    net.cluster.advance_slots(1)
    failed = net.cluster.history.get(failing.signatures[0])
    assert failed is not None
    assert failed.err is not None
    assert failed.fee > 0
    assert stored_nonce(net, nonce) != value
