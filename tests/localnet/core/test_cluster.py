"""Cluster behaviour: blockhash window, statuses, history, fees, guards, notifications."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from solders.account import Account
from solders.compute_budget import set_compute_unit_price
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.cluster import BLOCKHASH_WINDOW, Cluster, GuardFailure
from localnet.history import FINALITY_DEPTH
from localnet.pubsub import ProgramFilter

from .helpers import sol_transfer

SOL = 1_000_000_000


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(seed=1, slot_ms=None, wall_clock=lambda: 1_700_000_000.0)


@pytest.fixture
def payer(cluster: Cluster) -> Keypair:
    kp = Keypair()
    cluster.airdrop(kp.pubkey(), 10 * SOL)
    return kp


def test_blockhash_stays_valid_for_150_blocks_then_expires(
    cluster: Cluster, payer: Keypair
) -> None:
    old = cluster.latest_blockhash()
    last_valid = cluster.last_valid_block_height()
    cluster.advance_slots(BLOCKHASH_WINDOW)
    assert cluster.block_height == last_valid
    assert cluster.send_transaction(sol_transfer(payer, Pubkey.new_unique(), SOL, old)).ok
    cluster.advance_slots(1)
    outcome = cluster.send_transaction(sol_transfer(payer, Pubkey.new_unique(), SOL, old))
    assert not outcome.landed
    assert outcome.err == "BlockhashNotFound"
    assert cluster.history.get(outcome.signature) is None


def test_every_slot_has_a_new_blockhash(cluster: Cluster) -> None:
    seen = {cluster.latest_blockhash()}
    for _ in range(5):
        cluster.advance_slots()
        seen.add(cluster.latest_blockhash())
    assert len(seen) == 6


def test_status_goes_processed_confirmed_finalized(cluster: Cluster, payer: Keypair) -> None:
    tx = sol_transfer(payer, Pubkey.new_unique(), SOL, cluster.latest_blockhash())
    sig = cluster.send_transaction(tx).signature
    statuses = []
    for step in (0, 1, FINALITY_DEPTH - 1):
        cluster.advance_slots(step)
        status = cluster.history.status_json(sig, cluster.slot)
        assert status is not None
        statuses.append((status["confirmationStatus"], status["confirmations"]))
    assert statuses == [("processed", 0), ("confirmed", 1), ("finalized", None)]


def test_failed_transaction_lands_with_fee_and_logs(cluster: Cluster, payer: Keypair) -> None:
    before = cluster.get_balance(payer.pubkey())
    tx = sol_transfer(payer, Pubkey.new_unique(), 1_000 * SOL, cluster.latest_blockhash())
    outcome = cluster.send_transaction(tx)
    assert outcome.landed
    assert outcome.err == {"InstructionError": [0, {"Custom": 1}]}
    assert outcome.fee == 5000
    assert cluster.get_balance(payer.pubkey()) == before - 5000
    assert any("insufficient lamports" in line for line in outcome.logs)
    status = cluster.history.status_json(outcome.signature, cluster.slot)
    assert status is not None
    assert status["status"] == {"Err": outcome.err}


def test_resending_a_landed_transaction_changes_nothing(cluster: Cluster, payer: Keypair) -> None:
    to = Pubkey.new_unique()
    tx = sol_transfer(payer, to, SOL, cluster.latest_blockhash())
    first = cluster.send_transaction(tx)
    again = cluster.send_transaction(tx)
    assert again == first
    assert cluster.get_balance(to) == SOL
    assert cluster.simulate_transaction(tx).err == "AlreadyProcessed"


def test_unfunded_payer_is_dropped_not_recorded(cluster: Cluster) -> None:
    ghost = Keypair()
    outcome = cluster.send_transaction(
        sol_transfer(ghost, Pubkey.new_unique(), 1, cluster.latest_blockhash())
    )
    assert not outcome.landed
    assert outcome.err == "AccountNotFound"
    assert cluster.history.get(outcome.signature) is None


def test_guard_failure_charges_fee_and_records_custom_error(
    cluster: Cluster, payer: Keypair
) -> None:
    to = Pubkey.new_unique()
    cluster.add_transaction_guard(lambda tx: GuardFailure(0, 6001, ("Program log: slippage",)))
    tx = sol_transfer(payer, to, SOL, cluster.latest_blockhash())
    sim = cluster.simulate_transaction(tx)
    assert sim.err == {"InstructionError": [0, {"Custom": 6001}]}
    before = cluster.get_balance(payer.pubkey())
    outcome = cluster.send_transaction(tx)
    assert outcome.landed
    assert outcome.err == {"InstructionError": [0, {"Custom": 6001}]}
    assert outcome.logs == ("Program log: slippage",)
    assert cluster.get_balance(payer.pubkey()) == before - outcome.fee
    assert cluster.get_balance(to) == 0


def test_simulation_changes_nothing_and_can_skip_signatures(
    cluster: Cluster, payer: Keypair
) -> None:
    to = Pubkey.new_unique()
    tx = sol_transfer(payer, to, SOL, cluster.latest_blockhash())
    unsigned = type(tx).populate(tx.message, [type(tx.signatures[0]).default()])
    assert cluster.simulate_transaction(unsigned).err == "SignatureFailure"
    sim = cluster.simulate_transaction(unsigned, sig_verify=False)
    assert sim.err is None
    assert sim.post_balances[1] == SOL
    assert cluster.get_balance(to) == 0


def test_replace_recent_blockhash_rescues_an_expired_simulation(
    cluster: Cluster, payer: Keypair
) -> None:
    tx = sol_transfer(payer, Pubkey.new_unique(), SOL, cluster.latest_blockhash())
    cluster.advance_slots(BLOCKHASH_WINDOW + 1)
    assert cluster.simulate_transaction(tx).err == "BlockhashNotFound"
    sim = cluster.simulate_transaction(tx, replace_recent_blockhash=True)
    assert sim.err is None
    assert sim.replacement_blockhash == (
        str(cluster.latest_blockhash()),
        cluster.last_valid_block_height(),
    )


def test_repeated_airdrops_are_distinct_transactions(cluster: Cluster) -> None:
    who = Pubkey.new_unique()
    first = cluster.airdrop(who, SOL)
    second = cluster.airdrop(who, SOL)
    assert first != second
    assert cluster.get_balance(who) == 2 * SOL


@pytest.mark.parametrize("lamports", [0, -1, 10**15 + 1])
def test_airdrop_rejects_impossible_amounts(cluster: Cluster, lamports: int) -> None:
    with pytest.raises(ValueError, match="airdrop amount"):
        cluster.airdrop(Pubkey.new_unique(), lamports)


def test_account_and_program_subscribers_see_set_account(cluster: Cluster) -> None:
    seen: list[tuple[str, int, Any]] = []
    key, owner = Pubkey.new_unique(), Pubkey.new_unique()
    sub = cluster.hub.subscribe_account(
        key, encoding="base64", depth=0, sink=lambda *a: seen.append(a)
    )
    cluster.hub.subscribe_program(
        owner,
        encoding="base64",
        filters=ProgramFilter(data_size=3),
        depth=0,
        sink=lambda *a: seen.append(a),
    )
    cluster.set_account(key, Account(lamports=5, data=b"abc", owner=owner))
    cluster.set_account(Pubkey.new_unique(), Account(lamports=5, data=b"abcd", owner=owner))
    assert [(m, s) for m, s, _ in seen] == [
        ("accountNotification", sub),
        ("programNotification", 2),
    ]
    assert seen[1][2]["value"]["pubkey"] == str(key)
    assert seen[1][2]["value"]["account"]["data"] == ["YWJj", "base64"]


def test_confirmed_logs_arrive_one_slot_later(cluster: Cluster, payer: Keypair) -> None:
    seen: list[Any] = []
    cluster.hub.subscribe_logs(None, depth=1, sink=lambda *a: seen.append(a))
    outcome = cluster.send_transaction(
        sol_transfer(payer, Pubkey.new_unique(), SOL, cluster.latest_blockhash())
    )
    assert seen == []
    cluster.advance_slots()
    assert seen[0][2]["value"]["signature"] == str(outcome.signature)
    assert seen[0][2]["context"]["slot"] == outcome.slot


def test_synthetic_transaction_reaches_mentions_and_history(cluster: Cluster) -> None:
    program = Pubkey.new_unique()
    signer = Keypair()
    seen: list[Any] = []
    cluster.hub.subscribe_logs(program, depth=0, sink=lambda *a: seen.append(a))
    cluster.hub.subscribe_logs(Pubkey.new_unique(), depth=0, sink=lambda *a: seen.append(a))
    logs = [f"Program {program} invoke [1]", "Program data: AAAA", f"Program {program} success"]
    sig = cluster.record_synthetic_transaction(
        signer=signer, logs=logs, account_keys=[program], mentions=[program]
    )
    assert len(seen) == 1
    assert seen[0][2]["value"] == {"signature": str(sig), "err": None, "logs": logs}
    recorded = cluster.history.get(sig)
    assert recorded is not None
    assert recorded.transaction is not None
    assert recorded.transaction.verify_with_results() == [True]


def test_prioritization_fees_follow_landed_transactions(cluster: Cluster, payer: Keypair) -> None:
    to = Pubkey.new_unique()
    ixs = [
        set_compute_unit_price(7_000),
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=SOL)),
    ]
    msg = MessageV0.try_compile(payer.pubkey(), ixs, [], cluster.latest_blockhash())
    assert cluster.send_transaction(VersionedTransaction(msg, [payer])).ok
    slot = cluster.slot
    cluster.advance_slots(2)
    fees = cluster.history.prioritization_fees(cluster.slot, [to])
    assert len(fees) == 150
    assert {"slot": slot, "prioritizationFee": 7_000} in fees
    unrelated = cluster.history.prioritization_fees(cluster.slot, [Pubkey.new_unique()])
    assert all(f["prioritizationFee"] == 0 for f in unrelated)


async def test_slot_clock_advances_on_its_own() -> None:
    cluster = Cluster(slot_ms=5)
    start = cluster.slot
    await cluster.start()
    try:
        for _ in range(200):
            await asyncio.sleep(0.005)
            if cluster.slot >= start + 3:
                break
    finally:
        await cluster.stop()
    assert cluster.slot >= start + 3
