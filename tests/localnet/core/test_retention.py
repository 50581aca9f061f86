"""Bounded history: old transactions are forgotten, recent ones (and resends) never are."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.cluster import Cluster
from localnet.history import MIN_KEEP_SLOTS, History, TxOutcome

from .helpers import sol_transfer

SOL = 1_000_000_000


def _outcome(n: int, slot: int) -> TxOutcome:
    signature = Signature(n.to_bytes(8, "little") * 8)
    return TxOutcome(signature, slot, True, None, (), 0, 5_000)


@settings(max_examples=60, deadline=None)
@given(
    max_transactions=st.integers(1, 20),
    keep_slots=st.integers(MIN_KEEP_SLOTS, MIN_KEEP_SLOTS + 30),
    per_slot=st.lists(st.integers(0, 6), min_size=1, max_size=400),
)
def test_history_keeps_the_newest_and_everything_inside_the_window(
    max_transactions: int, keep_slots: int, per_slot: list[int]
) -> None:
    history = History(max_transactions=max_transactions, keep_slots=keep_slots)
    added: list[TxOutcome] = []
    slot = 1_000
    for count in per_slot:
        slot += 1
        history.prune(slot)
        for _ in range(count):
            outcome = _outcome(len(added), slot)
            history.add(outcome, cu_price=0, writable=frozenset())
            added.append(outcome)
    kept = [o for o in added if history.get(o.signature) is not None]
    # the survivors are exactly a suffix of what landed: the oldest go first
    assert kept == added[len(added) - len(kept) :]
    assert history.evicted == len(added) - len(kept) == len(added) - len(history)
    in_window = [o for o in added if o.slot >= slot - keep_slots]
    assert all(history.get(o.signature) is not None for o in in_window)
    assert len(history) <= max(max_transactions, len(in_window))


def test_history_refuses_a_window_shorter_than_a_blockhash_lifetime() -> None:
    with pytest.raises(ValueError, match="blockhash window"):
        History(keep_slots=MIN_KEEP_SLOTS - 1)
    with pytest.raises(ValueError, match="max_transactions"):
        History(max_transactions=0)


def test_cluster_forgets_old_statuses_but_a_forgotten_transaction_never_runs_twice() -> None:
    cluster = Cluster(seed=2, slot_ms=None, max_transactions=5, status_slots=MIN_KEEP_SLOTS)
    payer = Keypair()
    cluster.airdrop(payer.pubkey(), 100 * SOL)
    to = Pubkey.new_unique()
    first = sol_transfer(payer, to, SOL, cluster.latest_blockhash())
    assert cluster.send_transaction(first).ok
    for _ in range(10):
        tx = sol_transfer(payer, Pubkey.new_unique(), SOL, cluster.latest_blockhash())
        assert cluster.send_transaction(tx).ok
    assert cluster.history.get(first.signatures[0]) is not None  # still inside the window
    cluster.advance_slots(MIN_KEEP_SLOTS + 1)
    assert cluster.history.get(first.signatures[0]) is None
    assert len(cluster.history) <= 5
    assert cluster.history.status_json(first.signatures[0], cluster.slot) is None
    resent = cluster.send_transaction(first)
    assert (resent.landed, resent.err) == (False, "BlockhashNotFound")
    assert cluster.get_balance(to) == SOL
