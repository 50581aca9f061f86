"""Partitioned order execution: each live replica fires the armed orders of its partitions.

    members = Membership(store, instance, partitions=16, ttl_ms=3_000)
    executor = PartitionExecutor(store, "ws", members, book, snipers=make_sniper)

* A user's orders live in partition ``user_id % partitions``. Partitions are assigned to the
  live members (a Redis sorted set of heartbeats, expiry in server time) by rendezvous hashing:
  every replica computes the same owner from the same member list, and a member leaving moves
  only its own partitions.
* Work: the feed leader adds every pump.fun create to ``cluster:launches:<feed>`` (in the same
  fenced script as the events stream); each partition is one consumer group on it (``p<k>``).
  A replica reads the groups of the partitions it owns (``XREADGROUP``, consumer = its
  instance), decodes the create with its own listener and hands it to a ``HotSniper`` whose book
  is the shared armed book seen through those partitions only: matching, building, signing and
  sending make no round trip, exactly as the local hot path. The entry is acknowledged once that
  sniper is idle (every order it fired on that launch sent, recorded and final).
* Crash: the dead replica's entries stay pending in its partitions' groups. Whoever owns a
  partition now looks at its pending entries every ``reclaim_s`` and ``XCLAIM``s those whose
  consumer is no longer a live member and that were idle ``claim_idle_ms`` (``XCLAIM`` with a
  minimum idle time: of two claimers, one gets the entry). It fires them through a fresh
  ``HotSniper`` over that partition's orders that are still in the book (an order the dead
  replica finished left every book when its ``ARMED -> FIRED`` compare-and-set won). Of two
  sends of one order only one can land (its durable nonce), and ``record_fired_snipe`` (idempotent
  on ``snipe:<id>``) plus the compare-and-set keep the order final once in PostgreSQL.
* A create older than ``max_age_s`` is acknowledged without firing (a snipe is for the launch,
  not a coin minutes old).
* Without Redis (or without a fresh membership) ``active`` is False: the app's detector fires
  the whole book itself, as a single replica does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import structlog

from sniper_bot.cache.redis import REDIS_ERRORS
from sniper_bot.chain.ws import Notification
from sniper_bot.cluster.feed import decode_note
from sniper_bot.cluster.store import ClusterStore, Entry
from sniper_bot.hotpath.book import ArmedBook, ArmedEntry

__all__ = [
    "Membership",
    "PartitionBook",
    "PartitionExecutor",
    "assign",
    "partition_of",
]

log = structlog.get_logger(__name__)


def partition_of(user_id: int, partitions: int) -> int:
    return user_id % partitions


def _weight(partition: int, member: str) -> bytes:
    return hashlib.blake2b(f"{partition}:{member}".encode(), digest_size=8).digest()


def assign(partitions: int, members: Iterable[str]) -> dict[int, str]:
    """Rendezvous hashing: each partition to the member of the highest weight."""
    live = sorted(set(members))
    if not live:
        return {}
    return {p: max(live, key=lambda m: _weight(p, m)) for p in range(partitions)}


class Membership:
    """This replica's heartbeat and the live member list (``heartbeat`` every ttl/3)."""

    def __init__(
        self,
        store: ClusterStore,
        instance: str,
        *,
        partitions: int = 16,
        ttl_ms: int = 3_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {partitions}")
        self.store = store
        self.instance = instance
        self.partitions = partitions
        self.ttl_ms = ttl_ms
        self.clock = clock
        self.members: list[str] = []
        self.owned: frozenset[int] = frozenset()
        self.fresh_until = 0.0

    @property
    def fresh(self) -> bool:
        return self.clock() < self.fresh_until

    def owner(self, partition: int) -> str | None:
        return assign(self.partitions, self.members).get(partition)

    async def beat(self) -> bool:
        sent = self.clock()
        try:
            members = await self.store.heartbeat(self.instance, self.ttl_ms)
        except REDIS_ERRORS:
            return False
        if members != self.members:
            log.info("cluster_members", members=members, instance=self.instance)
        self.members = members
        owners = assign(self.partitions, members)
        self.owned = frozenset(p for p, m in owners.items() if m == self.instance)
        self.fresh_until = sent + self.ttl_ms / 1000.0 * 0.8
        return True

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                ok = await self.beat()
                wait = self.ttl_ms / 3000.0 if ok else min(0.2, self.ttl_ms / 3000.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.store.leave(self.instance)


class PartitionBook(ArmedBook[Any]):
    """The shared armed book seen through some partitions: ``match`` keeps only their orders,
    everything else (``remove``, ``get``, arming) is the shared book's."""

    def __init__(self, inner: ArmedBook[Any], partitions: int) -> None:  # no super(): a view
        self._inner = inner
        self._count = partitions
        self.only: frozenset[int] = frozenset()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_inner", "_count", "only"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __len__(self) -> int:
        return len(self._inner)

    def __contains__(self, target_id: object) -> bool:
        return target_id in self._inner

    def match(self, *args: Any, **kwargs: Any) -> list[ArmedEntry[Any]]:
        only, count = self.only, self._count
        return [
            e for e in self._inner.match(*args, **kwargs)
            if partition_of(e.target.user_id, count) in only
        ]  # fmt: skip

    def remove(self, target_id: int) -> ArmedEntry[Any] | None:
        return self._inner.remove(target_id)


class Sniper(Protocol):
    """``hotpath.sniper.HotSniper`` fits."""

    def on_create(self, seen: Any) -> None: ...
    async def wait_idle(self, timeout_s: float | None = None) -> None: ...
    async def close(self, grace_s: float = 10.0) -> None: ...


# (the book the sniper matches) -> a sniper; (a sniper) -> a decoder of one notification
SniperFactory = Callable[[ArmedBook[Any]], Sniper]
DecoderFactory = Callable[[Sniper], Callable[[Notification], Any]]


class PartitionExecutor:
    def __init__(
        self,
        store: ClusterStore,
        feed: str,
        membership: Membership,
        book: ArmedBook[Any],
        *,
        snipers: SniperFactory,
        decoders: DecoderFactory,
        stream_ok: Callable[[], bool] = lambda: True,
        poll_s: float = 0.01,
        reclaim_s: float = 1.0,
        claim_idle_ms: int = 3_000,
        max_age_s: float = 30.0,
        idle_wait_s: float = 30.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.feed = feed
        self.membership = membership
        self.instance = membership.instance
        self.partitions = membership.partitions
        self.book = book
        self._view = PartitionBook(book, self.partitions)
        self._snipers = snipers
        self._decoders = decoders
        self.sniper = snipers(self._view)
        self._decode = decoders(self.sniper)
        self._stream_ok = stream_ok
        self.poll_s = poll_s
        self.reclaim_s = reclaim_s
        self.claim_idle_ms = claim_idle_ms
        self.max_age_s = max_age_s
        self.idle_wait_s = idle_wait_s
        self.wall = wall
        self._to_ack: list[tuple[int, str]] = []
        self._ack_wake = asyncio.Event()
        self.handled = 0
        self.reclaimed = 0
        self.stale = 0
        self.acked = 0
        self.redis_ok = False
        self._groups_ready = False

    @property
    def active(self) -> bool:
        """This replica's partitions are served through the groups (else: fire locally)."""
        return self._groups_ready and self.redis_ok and self.membership.fresh and self._stream_ok()

    def status(self) -> dict[str, Any]:
        return {
            "partitions": self.partitions,
            "owned": sorted(self.membership.owned),
            "members": list(self.membership.members),
            "active": self.active,
            "handled": self.handled,
            "reclaimed": self.reclaimed,
            "stale": self.stale,
            "awaiting_ack": len(self._to_ack),
        }

    async def run(self, stop: asyncio.Event) -> None:
        workers = [
            asyncio.create_task(self.membership.run(stop), name="cluster-members"),
            asyncio.create_task(self._acker(stop), name="cluster-acker"),
            asyncio.create_task(self._reclaimer(stop), name="cluster-reclaim"),
        ]
        try:
            await self._reader(stop)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self.sniper.close(5.0)

    async def _ensure_groups(self) -> None:
        if not self._groups_ready:
            await self.store.ensure_groups(self.feed, self.partitions)
            self._groups_ready = True

    # -- the live path ---------------------------------------------------------------------------
    async def _reader(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                got = await self.poll_once()
                self.redis_ok = True
            except REDIS_ERRORS as exc:
                if self.redis_ok:
                    log.warning("cluster_executor_unreachable", error=type(exc).__name__)
                self.redis_ok = False
                got = 0
                await asyncio.sleep(0.2)
            if not got:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_s)

    async def poll_once(self) -> int:
        """One read of every owned partition's group; fire what came. How many entries."""
        if not self.membership.fresh:
            return 0
        await self._ensure_groups()
        owned = sorted(self.membership.owned)
        reads = await asyncio.gather(
            *(self.store.read_group(self.feed, p, self.instance) for p in owned)
        )
        by_event: dict[str, tuple[Entry, set[int]]] = {}
        for p, entries in zip(owned, reads, strict=True):
            for entry in entries:
                by_event.setdefault(entry.event_id, (entry, set()))[1].add(p)
        for entry, parts in by_event.values():
            self._fire(self._decode, self._view, entry, parts)
            self._to_ack.extend((p, entry.id) for p in parts)
        if by_event:
            self._ack_wake.set()
        return sum(len(e) for e in reads)

    def _fire(
        self, decode: Callable[[Notification], Any], view: PartitionBook, entry: Entry,
        parts: set[int],
    ) -> None:  # fmt: skip
        if self.wall() - entry.ms / 1000.0 > self.max_age_s:
            self.stale += 1
            log.info("cluster_launch_stale", id=entry.id, partitions=sorted(parts))
            return
        try:
            note = decode_note(entry.payload)
        except (ValueError, TypeError) as exc:
            log.warning("cluster_launch_malformed", id=entry.id, error=repr(exc))
            return
        view.only = frozenset(parts)
        try:
            decode(note)  # on_create runs inside: match and spawn the sends, no I/O before
        except Exception as exc:
            log.warning("cluster_launch_decode_failed", id=entry.id, error=repr(exc))
        finally:
            view.only = frozenset()
        self.handled += 1

    async def _acker(self, stop: asyncio.Event) -> None:
        """Acknowledge what was fired once the sniper is idle (its orders are final)."""
        while not stop.is_set():
            await self._ack_wake.wait()
            self._ack_wake.clear()
            batch, self._to_ack = self._to_ack, []
            await self.sniper.wait_idle(self.idle_wait_s)
            await self._ack(batch)

    async def _ack(self, batch: list[tuple[int, str]]) -> None:
        by_part: dict[int, list[str]] = {}
        for p, entry_id in batch:
            by_part.setdefault(p, []).append(entry_id)
        for p, ids in by_part.items():
            try:
                self.acked += await self.store.ack(self.feed, p, ids)
            except REDIS_ERRORS:  # stays pending: this replica (or a reclaimer) sees it again
                log.info("cluster_ack_failed", partition=p, entries=len(ids))

    # -- reclaim after a crash ---------------------------------------------------------------
    async def _reclaimer(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.reclaim_s)
            if stop.is_set():
                return
            try:
                await self.reclaim_once()
            except REDIS_ERRORS as exc:
                log.info("cluster_reclaim_unreachable", error=type(exc).__name__)

    async def reclaim_once(self) -> int:
        """Claim and finish the pending entries of dead members in the owned partitions."""
        if not self.membership.fresh:
            return 0
        await self._ensure_groups()
        live = set(self.membership.members)
        done = 0
        for p in sorted(self.membership.owned):
            pending = await self.store.pending(self.feed, p)
            dead = [
                x.id for x in pending
                if x.consumer not in live and x.idle_ms >= self.claim_idle_ms
            ]  # fmt: skip
            if not dead:
                continue
            claimed = await self.store.claim(self.feed, p, self.instance, dead, self.claim_idle_ms)
            if not claimed:
                continue
            view = PartitionBook(self.book, self.partitions)
            sniper = self._snipers(view)
            decode = self._decoders(sniper)
            for entry in claimed:
                log.warning("cluster_reclaim", partition=p, id=entry.id, event_id=entry.event_id)
                self._fire(decode, view, entry, {p})
            await sniper.close(self.idle_wait_s)  # waits for its orders to be final
            await self._ack([(p, entry.id) for entry in claimed])
            self.reclaimed += len(claimed)
            done += len(claimed)
        return done
