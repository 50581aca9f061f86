"""The official Node client (@triton-one/yellowstone-grpc 7.0.1, tests/oracle/geyser_subscribe.js)
and a Python grpc.aio client subscribe with the same filters and receive the same updates;
the client's own Rust decoders (txEncode, txErrDecode) read localnet's transactions; a pump.fun
create decodes from the Geyser transaction alone; a wrong x-token is refused."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import base58
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.geyser.convert import (
    INSTRUCTION_ERRORS,
    TRANSACTION_ERRORS,
    transaction_error_bincode,
)
from localnet.pump.state import PUMP_PROGRAM_ID
from yellowstone_proto import geyser_pb2 as pb

from .conftest import (
    ORACLE_DIR,
    SOL,
    TOKEN,
    Geyser,
    NodeStarter,
    ensure_oracle,
    read_updates,
    sol_transfer,
)


def _python_summary(update: pb.SubscribeUpdate) -> tuple[Any, ...]:
    kind = update.WhichOneof("update_oneof")
    filters = tuple(sorted(update.filters))
    if kind == "transaction":
        tx = update.transaction
        return (kind, filters, tx.slot, base58.b58encode(tx.transaction.signature).decode())
    if kind == "account":
        acc = update.account
        return (kind, filters, acc.slot, str(Pubkey.from_bytes(acc.account.pubkey)))
    if kind == "slot":
        return (kind, filters, update.slot.slot, int(update.slot.status))
    return (kind, filters)


def _node_summary(line: dict[str, Any]) -> tuple[Any, ...]:
    kind, filters = line["kind"], tuple(sorted(line["filters"]))
    if kind == "transaction":
        return (kind, filters, line["slot"], line["signature"])
    if kind == "account":
        return (kind, filters, line["slot"], line["pubkey"])
    if kind == "slot":
        return (kind, filters, line["slot"], line["status"])
    return (kind, filters)


async def test_official_client_receives_what_a_python_client_receives(
    geyser: Geyser, node_subscriber: NodeStarter
) -> None:
    cluster = geyser.cluster
    creator = Keypair()
    key = str(creator.pubkey())
    stop_slot = cluster.slot + 1
    node = await node_subscriber({
        "endpoint": geyser.url, "x_token": TOKEN, "unary": True, "count": 1000,
        "until_slot": stop_slot, "timeout_ms": 30_000,
        "request": {
            "transactions": {"creator": {"accountInclude": [key], "vote": False}},
            "accounts": {"creator": {"account": [key]}},
            "slots": {"slots": {"filterByCommitment": True}},
            "commitment": 0,
        },
    })  # fmt: skip
    unary = await node.until("unary", "error")
    assert unary["event"] == "unary", unary
    assert unary["ping"] == 7
    assert unary["slot"] == cluster.slot
    assert unary["confirmedSlot"] == cluster.slot_at(1)
    assert unary["blockHeight"] == cluster.block_height
    assert unary["latest"]["blockhash"] == str(cluster.block_hashes(cluster.slot_at(1))[0])  # type: ignore[index]
    assert unary["valid"] is True
    assert "localnet-geyser" in unary["version"]
    subscribed = await node.until("subscribed", "error")
    assert subscribed["event"] == "subscribed", subscribed
    python = await geyser.subscribe(
        pb.SubscribeRequest(
            transactions={
                "creator": pb.SubscribeRequestFilterTransactions(account_include=[key], vote=False)
            },
            accounts={"creator": pb.SubscribeRequestFilterAccounts(account=[key])},
            slots={"slots": pb.SubscribeRequestFilterSlots(filter_by_commitment=True)},
            commitment=pb.PROCESSED,
        )
    )
    await geyser.wait_subscriptions(2)

    airdrop = cluster.airdrop(creator.pubkey(), 10 * SOL)
    bh = cluster.latest_blockhash()
    cluster.send_transaction(sol_transfer(creator, Keypair().pubkey(), SOL, bh))
    failed = cluster.send_transaction(sol_transfer(creator, Keypair().pubkey(), 1000 * SOL, bh))
    assert failed.err is not None
    launch = geyser.net.launchpad.launch(creator, name="Geyser Coin", symbol="GEYS")
    cluster.advance_slots(1)

    done = await node.until("done", "error", "ended", "timeout")
    assert done["event"] == "done", (done, node.lines[-5:])
    node_updates = [u for u in node.updates() if u["kind"] not in ("ping", "pong")]
    python_updates = await read_updates(python, len(node_updates))
    assert [_node_summary(u) for u in node_updates] == [_python_summary(u) for u in python_updates]
    kinds = [u["kind"] for u in node_updates]
    assert kinds.count("transaction") == 4  # airdrop, transfer, failed transfer, create
    assert kinds[-1] == "slot"

    txs = {u["signature"]: u for u in node_updates if u["kind"] == "transaction"}
    assert txs[str(airdrop)]["err"] is None
    assert txs[str(airdrop)]["uiErr"] is None
    assert txs[str(failed.signature)]["uiErr"] == failed.err  # the client's own bincode decoding
    assert txs[str(failed.signature)]["err"] is not None
    for u in txs.values():
        record = cluster.history.get(base58_sig(u["signature"]))
        assert record is not None
        assert record.transaction is not None
        assert u["accountKeys"] == [str(k) for k in record.transaction.message.account_keys]
        assert u["uiSignatures"] == [str(s) for s in record.transaction.signatures]
        assert u["logs"] == list(record.logs)
        assert u["fee"] == record.fee
        assert u["preBalances"] == list(record.pre_balances)
        assert u["postBalances"] == list(record.post_balances)
        assert u["loadedAddresses"] == {"writable": [], "readonly": []}

    # the pump.fun create, from the Geyser transaction alone: the create_v2 instruction (program,
    # accounts, data) and the CreateEvent in the logs
    (create,) = [
        u for u in python_updates
        if u.WhichOneof("update_oneof") == "transaction"
        and bytes(PUMP_PROGRAM_ID) in u.transaction.transaction.transaction.message.account_keys
    ]  # fmt: skip
    message = create.transaction.transaction.transaction.message
    keys = [Pubkey.from_bytes(k) for k in message.account_keys]
    pump_ixs = [ix for ix in message.instructions if keys[ix.program_id_index] == PUMP_PROGRAM_ID]
    assert pump_ixs
    assert base58.b58encode(create.transaction.transaction.signature).decode() == (
        launch.create_signature
    )
    assert launch.mint in [keys[i] for i in pump_ixs[0].accounts]
    logs = list(create.transaction.transaction.meta.log_messages)
    assert any(line.startswith("Program data: ") for line in logs)
    python.cancel()


def base58_sig(text: str) -> Any:
    from solders.signature import Signature

    return Signature.from_string(text)


async def test_official_client_with_a_wrong_token_is_refused(
    geyser: Geyser, node_subscriber: NodeStarter
) -> None:
    node = await node_subscriber({
        "endpoint": geyser.url, "x_token": "wrong", "unary": False, "count": 1,
        "timeout_ms": 20_000, "request": {"slots": {"s": {}}},
    })  # fmt: skip
    line = await node.until("error", "done", "timeout")
    assert line["event"] == "error"
    # the client's error wraps the gRPC status (UNAUTHENTICATED, "No valid auth token")
    assert "valid authentication credentials" in line["cause"], line
    assert "No valid auth token" in line["cause"], line
    assert geyser.endpoint.refused["unauthenticated"] >= 1


def test_error_bincode_is_what_the_client_decodes() -> None:
    """Every TransactionError/InstructionError variant localnet can encode, through the client's
    txErrDecode (agave's own bincode deserializer): the serde JSON comes back unchanged."""
    errors: list[Any] = [
        name for name in TRANSACTION_ERRORS
        if name not in ("InstructionError", "DuplicateInstruction", "InsufficientFundsForRent",
                        "ProgramExecutionTemporarilyRestricted")
    ]  # fmt: skip
    errors += [
        {"InstructionError": [2, name]}
        for name in INSTRUCTION_ERRORS
        if name not in ("Custom", "BorshIoError")
    ]
    errors += [
        {"InstructionError": [1, {"Custom": 6001}]},
        {"DuplicateInstruction": 3},
        {"InsufficientFundsForRent": {"account_index": 2}},
        {"ProgramExecutionTemporarilyRestricted": {"account_index": 4}},
    ]
    ensure_oracle()
    payload = {"decode_errors": [transaction_error_bincode(e).hex() for e in errors]}
    done = subprocess.run(
        ["node", str(ORACLE_DIR / "geyser_subscribe.js")], input=json.dumps(payload),
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout)["errors"] == errors
