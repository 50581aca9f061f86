"""What localnet's Geyser endpoints stream: the cluster's slots, accounts and transactions.

`install(cluster)` puts a `GeyserTap` in place of the cluster's `SubscriptionHub` (the hub every
execution path already notifies: account writes, landed transactions, new slots), so PubSub and
Geyser see the same events. The `GeyserFeed` turns each event into its protobuf form at once (the
bank as it was then: loaded lookup-table addresses, account data), keeps the last
`replay_slots` slots of them for `from_slot`, and hands them to each `Subscription` whose filters
match, at its commitment: `processed` at once, `confirmed`/`finalized` when the cluster is
`CONFIRMATION_DEPTH`/`FINALITY_DEPTH` slots past the event's slot. Slot status updates go out
as they happen: a new slot `s` is CREATED_BANK, COMPLETED, PROCESSED; `s-1` becomes CONFIRMED
and the root `s-32` FINALIZED. Block metas describe `s-1` once `s` exists.
Everything runs on the event loop, synchronously, like the cluster.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.cluster import Cluster
from localnet.encoding import DecimalsLookup
from localnet.geyser.convert import account_info, loaded_addresses, transaction_info
from localnet.geyser.filters import FilterError, Filters
from localnet.history import CONFIRMATION_DEPTH, FINALITY_DEPTH
from localnet.pubsub import SubscriptionHub
from yellowstone_proto import geyser_pb2 as pb
from yellowstone_proto import solana_storage_pb2 as storage

log = structlog.get_logger(__name__)

REPLAY_SLOTS = 300  # slots kept for from_slot
MAX_EVENTS = 100_000  # events kept for from_slot, whatever the slots
DEFAULT_QUEUE_LIMIT = 10_000  # updates a subscriber may have waiting before it is disconnected


@dataclass(slots=True)
class _Event:
    kind: str  # "slot" | "account" | "transaction" | "block_meta"
    payload: Any
    status: int = 0  # slot events: the SlotStatus
    keys: frozenset[Pubkey] = frozenset()  # transactions: static keys + loaded addresses
    failed: bool = False


class Subscription:
    """One Subscribe stream's filters and the updates waiting for it (the server drains them).

    A subscriber with more than `queue_limit` updates waiting is `lagged`: it gets nothing more
    and the server ends its stream saying so."""

    def __init__(self, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.filters = Filters()
        self.queue: deque[pb.SubscribeUpdate] = deque()
        self.queue_limit = queue_limit
        self.lagged = False
        self.wakeup: Callable[[], None] = lambda: None

    def push(self, update: pb.SubscribeUpdate) -> None:
        if self.lagged:
            return
        if len(self.queue) >= self.queue_limit:
            self.lagged = True
            self.queue.clear()
        else:
            update.created_at.GetCurrentTime()
            self.queue.append(update)
        self.wakeup()


@dataclass(slots=True)
class _Slot:
    events: list[_Event] = field(default_factory=list)
    transactions: int = 0


class GeyserFeed:
    def __init__(
        self,
        cluster: Cluster,
        *,
        replay_slots: int = REPLAY_SLOTS,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.cluster = cluster
        self.replay_slots = replay_slots
        self.max_events = max_events
        self._slots: OrderedDict[int, _Slot] = OrderedDict()
        self._events = 0
        self._write_version = itertools.count(1)
        self.subscriptions: set[Subscription] = set()
        self.counts: dict[str, int] = {}

    # -- events from the cluster ---------------------------------------------------------------
    def _at(self, slot: int) -> _Slot:
        entry = self._slots.get(slot)
        if entry is None:
            entry = self._slots[slot] = _Slot()
            self._slots.move_to_end(slot)
        return entry

    def _record(self, slot: int, event: _Event) -> None:
        self._at(slot).events.append(event)
        self._events += 1
        self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
        newest = self.cluster.slot
        while self._slots and (
            next(iter(self._slots)) < newest - self.replay_slots or self._events > self.max_events
        ):
            _, dropped = self._slots.popitem(last=False)
            self._events -= len(dropped.events)

    def first_available(self) -> int | None:
        return next(iter(self._slots), None)

    def on_account(self, slot: int, pubkey: Pubkey, account: Account) -> None:
        event = _Event("account", account_info(pubkey, account, next(self._write_version)))
        self._record(slot, event)
        self._deliver(event, slot, live_depth=0)

    def on_transaction(self, slot: int, signature: Signature) -> None:
        outcome = self.cluster.history.get(signature)
        if outcome is None or outcome.transaction is None:
            return
        entry = self._at(slot)
        loaded = loaded_addresses(outcome.transaction, self.cluster.get_account)
        info = transaction_info(outcome, entry.transactions, loaded)
        entry.transactions += 1
        keys = frozenset([*outcome.transaction.message.account_keys, *loaded[0], *loaded[1]])
        event = _Event("transaction", info, keys=keys, failed=outcome.err is not None)
        self._record(slot, event)
        self._deliver(event, slot, live_depth=0)

    def on_slot(self, slot: int, parent: int, root: int) -> None:
        # what reached confirmed/finalized with this slot goes out first, then the statuses
        for sub in tuple(self.subscriptions):
            depth = sub.filters.depth
            if depth > 0:
                entry = self._slots.get(slot - depth)
                for event in entry.events if entry is not None else ():
                    if event.kind != "slot":
                        self._send(sub, event, slot - depth)
        statuses = [
            (slot, parent, pb.SLOT_CREATED_BANK),
            (slot, parent, pb.SLOT_COMPLETED),
            (slot, parent, pb.SLOT_PROCESSED),
            (slot - CONFIRMATION_DEPTH, slot - CONFIRMATION_DEPTH - 1, pb.SLOT_CONFIRMED),
        ]
        if root == slot - FINALITY_DEPTH:
            statuses.append((root, root - 1, pb.SLOT_FINALIZED))
        for s, p, status in statuses:
            update = pb.SubscribeUpdateSlot(slot=s, parent=p, status=status)
            event = _Event("slot", update, status=status)
            self._record(slot, event)
            self._deliver(event, slot, live_depth=None)
        self._block_meta(slot - 1, slot)

    def _block_meta(self, slot: int, newest: int) -> None:
        hashes = self.cluster.block_hashes(slot)
        if hashes is None:
            return
        entry = self._slots.get(slot)
        meta = pb.SubscribeUpdateBlockMeta(
            slot=slot,
            blockhash=str(hashes[0]),
            parent_slot=slot - 1,
            parent_blockhash=str(hashes[1]),
            executed_transaction_count=entry.transactions if entry is not None else 0,
            block_time=storage.UnixTimestamp(timestamp=self.cluster.block_time(slot)),
            block_height=storage.BlockHeight(
                block_height=self.cluster.block_height - (self.cluster.slot - slot)
            ),
        )
        event = _Event("block_meta", meta)
        self._record(slot, event)
        self._deliver(event, slot, live_depth=0)

    # -- delivery --------------------------------------------------------------------------------
    def _deliver(self, event: _Event, slot: int, *, live_depth: int | None) -> None:
        """Send to every subscription at `live_depth` (None: every one: slot statuses)."""
        for sub in tuple(self.subscriptions):
            if live_depth is None or sub.filters.depth == live_depth:
                self._send(sub, event, slot)

    def _send(self, sub: Subscription, event: _Event, slot: int) -> None:
        f = sub.filters
        if event.kind == "slot":
            names = f.wants_slot(event.status)
            if names:
                sub.push(pb.SubscribeUpdate(filters=names, slot=event.payload))
        elif event.kind == "account":
            info: pb.SubscribeUpdateAccountInfo = event.payload
            names = [n for n, af in f.accounts.items() if af.matches(info)]
            if names:
                if f.data_slices:
                    info = pb.SubscribeUpdateAccountInfo()
                    info.CopyFrom(event.payload)
                    info.data = f.slice(info.data)
                account = pb.SubscribeUpdateAccount(account=info, slot=slot, is_startup=False)
                sub.push(pb.SubscribeUpdate(filters=names, account=account))
        elif event.kind == "transaction":
            tx: pb.SubscribeUpdateTransactionInfo = event.payload
            args = (tx.is_vote, event.failed, tx.signature, event.keys)
            names = [n for n, tf in f.transactions.items() if tf.matches(*args)]
            if names:
                update = pb.SubscribeUpdateTransaction(transaction=tx, slot=slot)
                sub.push(pb.SubscribeUpdate(filters=names, transaction=update))
            names = [n for n, tf in f.transactions_status.items() if tf.matches(*args)]
            if names:
                status = pb.SubscribeUpdateTransactionStatus(
                    slot=slot, signature=tx.signature, is_vote=tx.is_vote, index=tx.index
                )
                if tx.meta.HasField("err"):
                    status.err.CopyFrom(tx.meta.err)
                sub.push(pb.SubscribeUpdate(filters=names, transaction_status=status))
        elif event.kind == "block_meta" and f.blocks_meta:
            sub.push(pb.SubscribeUpdate(filters=list(f.blocks_meta), block_meta=event.payload))

    # -- subscriptions ---------------------------------------------------------------------------
    def subscribe(self, sub: Subscription, filters: Filters, from_slot: int | None) -> None:
        """Set (or replace) a subscription's filters; with `from_slot`, first send what the
        window still holds from that slot on (FilterError when it no longer does)."""
        first = self.first_available()
        if from_slot is not None and (first is None or from_slot < first):
            raise FilterError(f"from_slot {from_slot} is not available, first available: {first}")
        sub.filters = filters
        self.subscriptions.add(sub)
        if from_slot is None:
            return
        newest, depth = self.cluster.slot, filters.depth
        for slot, entry in tuple(self._slots.items()):
            if slot < from_slot:
                continue
            for event in tuple(entry.events):
                if event.kind == "slot" or slot + depth <= newest:
                    self._send(sub, event, slot)

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscriptions.discard(sub)


class GeyserTap(SubscriptionHub):
    """The cluster's subscription hub, also feeding a `GeyserFeed` (installed by `install`)."""

    def __init__(self, decimals_of: DecimalsLookup, feed: GeyserFeed) -> None:
        super().__init__(decimals_of)
        self.feed = feed

    def _safely(self, what: str, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # Geyser must never break the cluster's execution path
            log.exception("localnet.geyser.feed_failed", event=what)

    def publish_account(self, slot: int, pubkey: Pubkey, account: Account) -> None:
        super().publish_account(slot, pubkey, account)
        self._safely("account", lambda: self.feed.on_account(slot, pubkey, account))

    def publish_logs(
        self, slot: int, signature: Signature, err: Any, logs: list[str], mentions: set[Pubkey]
    ) -> None:
        super().publish_logs(slot, signature, err, logs, mentions)
        self._safely("transaction", lambda: self.feed.on_transaction(slot, signature))

    def on_slot(self, slot: int, parent: int, root: int) -> None:
        super().on_slot(slot, parent, root)
        self._safely("slot", lambda: self.feed.on_slot(slot, parent, root))


def install(cluster: Cluster, **feed_options: Any) -> GeyserFeed:
    """Feed Geyser from `cluster` (idempotent); before anyone subscribed to its hub."""
    if isinstance(cluster.hub, GeyserTap):
        return cluster.hub.feed
    if len(cluster.hub):
        raise RuntimeError("install the Geyser feed before anything subscribes to the cluster hub")
    feed = GeyserFeed(cluster, **feed_options)
    cluster.hub = GeyserTap(cluster.decimals_of, feed)
    return feed
