"""``ClusteredFeed``: one leader decodes the chain feed for every replica.

    feed = ClusteredFeed(manager, store, leadership, instance="host-1")
    detector = LaunchDetector(feed, [PumpFunListener(...), RaydiumV4Listener()], metrics)

It is the ``NotificationSource`` the ``LaunchDetector`` reads (it was the ``SubscriptionManager``
itself): subscriptions go to the local manager, ``notifications()`` yields what every replica
must decode, whatever its origin, once each.

* **Leader** (``Leadership.is_leader``): its own manager's notifications go to its own detector
  at once (no hop) and are published to ``cluster:events:<feed>`` through the fenced script
  (``ClusterStore.publish``): refused when the token is no longer the lease's, so a deposed
  leader's late writes never reach the stream. pump.fun creates also go to the launches stream
  (the work of ``execution.PartitionExecutor``).
* **Follower**: reads the stream from the last id it saw (``XREAD``) and yields each entry whose
  event id it did not yield yet (an id is a hash of the subscription key, slot and value: two
  leaders that saw the same notification give it the same id). Its own manager stays subscribed
  (warm standby) but is not decoded: its notifications of the last ``replay_s`` are kept, and
  on becoming leader it publishes them first (the fenced script drops ids already published),
  so what the dead leader saw last but never published is not lost, and nothing is doubled.
* **Redis unreachable** (a read or publish failed, leadership unknown): every replica yields its
  own manager's notifications, as without a cluster (today's behaviour); the PostgreSQL claims
  and durable nonces keep firing at most once. Once Redis answers again the stream is read from
  the last id; what was already yielded locally is dropped by event id.

``status()`` is what ``/health`` shows (leader, fencing token, stream lag).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

import structlog
from solders.pubkey import Pubkey

from sniper_bot.cache.redis import REDIS_ERRORS
from sniper_bot.chain.types import Commitment
from sniper_bot.chain.ws import Notification
from sniper_bot.cluster.leader import Leadership
from sniper_bot.cluster.store import ClusterStore, Entry
from sniper_bot.resilience.lru import LruCache
from sniper_bot.solana.pump_events import CREATE_INSTRUCTIONS

__all__ = [
    "ClusteredFeed",
    "LocalSource",
    "decode_note",
    "encode_note",
    "event_id",
    "is_pump_create",
]

log = structlog.get_logger(__name__)

_CREATE_LINES = tuple(f"Program log: Instruction: {name}" for name in CREATE_INSTRUCTIONS)


class LocalSource(Protocol):
    """``sniper_bot.chain.ws.SubscriptionManager`` fits."""

    async def logs_subscribe(
        self, key: str, mentions: Pubkey | None = None, commitment: Commitment = "confirmed"
    ) -> None: ...

    async def program_subscribe(
        self,
        key: str,
        program: Pubkey,
        filters: Sequence[dict[str, Any]] = (),
        commitment: Commitment = "confirmed",
    ) -> None: ...

    async def run(self) -> None: ...
    def notifications(self) -> AsyncIterator[Notification]: ...


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def event_id(note: Notification) -> str:
    """Content id: the same notification from any endpoint or any leader has the same id."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{note.key}|{note.kind}|{note.slot}|".encode())
    digest.update(_canonical(note.value))
    return digest.hexdigest()


def encode_note(note: Notification) -> bytes:
    return _canonical({"k": note.key, "n": note.kind, "e": note.endpoint, "s": note.slot,
                       "v": note.value})  # fmt: skip


def decode_note(payload: bytes) -> Notification:
    """The notification a stream entry carries; ``ValueError`` when it is not one."""
    data = json.loads(payload)
    if not isinstance(data, dict) or not isinstance(data.get("k"), str):
        raise ValueError("a stream entry's payload is not a notification")
    slot = data.get("s")
    return Notification(str(data["k"]), str(data.get("n", "")), str(data.get("e", "")),
                        slot if isinstance(slot, int) else None, data.get("v"))  # fmt: skip


def is_pump_create(note: Notification) -> bool:
    """A successful transaction whose logs name a pump.fun Create instruction (the hot path's
    launches; any program's Create line counts: the executor's decoder is the judge)."""
    value = note.value
    if note.kind != "logsNotification" or not isinstance(value, dict):
        return False
    if value.get("err") is not None:
        return False
    logs = value.get("logs")
    return isinstance(logs, list) and any(
        isinstance(line, str) and line.startswith(_CREATE_LINES) for line in logs
    )


class ClusteredFeed:
    def __init__(
        self,
        manager: LocalSource,
        store: ClusterStore,
        leadership: Leadership,
        *,
        replay_s: float = 10.0,
        batch: int = 200,
        block_ms: int = 200,
        remember: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        is_launch: Callable[[Notification], bool] = is_pump_create,
    ) -> None:
        self.manager = manager
        self.store = store
        self.leadership = leadership
        self.feed = leadership.feed
        self.replay_s = replay_s
        self.batch = batch
        self.block_ms = block_ms
        self.clock = clock
        self.wall = wall
        self.is_launch = is_launch
        self._queue: asyncio.Queue[Notification] = asyncio.Queue()
        self._yielded: LruCache[str, None] = LruCache(remember, clock)
        self._outbox: asyncio.Queue[tuple[str, Notification]] = asyncio.Queue()
        self._standby: deque[tuple[float, str, Notification]] = deque()
        self.stream_ok = False
        self.last_id: str | None = None
        self.lag_ms: int | None = None
        self.published = 0
        self.consumed = 0
        self.duplicates = 0
        self.fenced = 0
        self.local = 0  # yielded from the own manager (leader or fallback)
        self._max_token = 0
        self._stopped = asyncio.Event()
        leadership.on_change = self._leadership_changed

    # -- NotificationSource ----------------------------------------------------------------------
    async def logs_subscribe(
        self, key: str, mentions: Pubkey | None = None, commitment: Commitment = "confirmed"
    ) -> None:
        await self.manager.logs_subscribe(key, mentions=mentions, commitment=commitment)

    async def program_subscribe(
        self,
        key: str,
        program: Pubkey,
        filters: Sequence[dict[str, Any]] = (),
        commitment: Commitment = "confirmed",
    ) -> None:
        await self.manager.program_subscribe(key, program, filters, commitment)

    async def notifications(self) -> AsyncIterator[Notification]:
        while True:
            yield await self._queue.get()

    async def run(self) -> None:
        """Until cancelled: the local manager, the campaign, the publisher and the reader."""
        stop = self._stopped
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.manager.run(), name=f"cluster-{self.feed}-ws")
                group.create_task(self.leadership.run(stop), name=f"cluster-{self.feed}-lease")
                group.create_task(self._local(), name=f"cluster-{self.feed}-local")
                group.create_task(self._publisher(), name=f"cluster-{self.feed}-publish")
                group.create_task(self._reader(), name=f"cluster-{self.feed}-read")
        finally:
            stop.set()

    # -- state -----------------------------------------------------------------------------------
    @property
    def fallback(self) -> bool:
        """Redis is out of reach: every replica decodes its own feed."""
        return not self.stream_ok or not self.leadership.redis_ok

    def offer(self, note: Notification, eid: str | None = None) -> bool:
        """Yield ``note`` to the detector unless its event id was yielded before."""
        eid = eid or event_id(note)
        if eid in self._yielded:
            self.duplicates += 1
            return False
        self._yielded.set(eid, None)
        self._queue.put_nowait(note)
        return True

    def status(self) -> dict[str, Any]:
        lead = self.leadership
        return {
            "feed": self.feed,
            "leader": lead.is_leader,
            "fencing_token": lead.token if lead.is_leader else None,
            "holder_token_seen": self._max_token,
            "mode": "fallback" if self.fallback else ("leader" if lead.is_leader else "follower"),
            "stream_last_id": self.last_id,
            "stream_lag_ms": self.lag_ms,
            "published": self.published,
            "consumed": self.consumed,
            "fenced": self.fenced,
            "elections": lead.elections,
        }

    def _leadership_changed(self, leader: bool, token: int) -> None:
        if not leader:
            return
        # newly elected: publish what the standby saw recently, before anything live
        horizon = self.clock() - self.replay_s
        replay = [(eid, note) for at, eid, note in self._standby if at >= horizon]
        self._standby.clear()
        for eid, note in replay:
            self._outbox.put_nowait((eid, note))
            self.offer(note, eid)
        log.info("feed_leader_replay", feed=self.feed, token=token, replayed=len(replay))

    # -- loops -----------------------------------------------------------------------------------
    async def _local(self) -> None:
        async for note in self.manager.notifications():
            eid = event_id(note)
            if self.leadership.is_leader:
                self.local += self.offer(note, eid)
                self._outbox.put_nowait((eid, note))
            elif self.fallback:
                self.local += self.offer(note, eid)
            else:
                now = self.clock()
                self._standby.append((now, eid, note))
                horizon = now - self.replay_s
                while self._standby and self._standby[0][0] < horizon:
                    self._standby.popleft()

    async def _publisher(self) -> None:
        while True:
            first = await self._outbox.get()
            batch = [first]
            while len(batch) < self.batch and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            token = self.leadership.token
            if not token:
                self.fenced += len(batch)  # deposed before the write: the new leader replays
                continue
            events = [(eid, self.is_launch(note), encode_note(note)) for eid, note in batch]
            try:
                ids = await self.store.publish(self.feed, self.leadership.instance, token, events)
            except REDIS_ERRORS as exc:
                self.stream_ok = False
                log.warning("feed_publish_failed", feed=self.feed, events=len(batch),
                            error=type(exc).__name__)  # fmt: skip
                continue
            if ids is None:
                self.fenced += len(batch)
                log.warning("feed_publish_fenced", feed=self.feed, token=token,
                            events=len(batch))  # fmt: skip
                self.leadership.lost()
                continue
            self.published += sum(1 for i in ids if i)

    async def _reader(self) -> None:
        delay = 0.05
        while True:
            try:
                if self.last_id is None:
                    self.last_id = await self.store.last_id(self.feed)
                entries = await self.store.read(
                    self.feed, self.last_id, count=self.batch, block_ms=self.block_ms
                )
                if not self.stream_ok:
                    log.info("feed_stream_ok", feed=self.feed, last_id=self.last_id)
                self.stream_ok, delay = True, 0.05
            except REDIS_ERRORS as exc:
                if self.stream_ok:
                    log.warning(
                        "feed_stream_unreachable", feed=self.feed, error=type(exc).__name__,
                        action="decoding the local feed",
                    )  # fmt: skip
                self.stream_ok = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            for entry in entries:
                self._take(entry)

    def _take(self, entry: Entry) -> None:
        self.last_id = entry.id
        self.lag_ms = max(0, int(self.wall() * 1000) - entry.ms)
        if entry.token < self._max_token:
            self.fenced += 1  # cannot happen through the script; never trust an old token
            return
        self._max_token = entry.token
        try:
            note = decode_note(entry.payload)
        except (ValueError, TypeError) as exc:
            log.warning("feed_entry_malformed", feed=self.feed, id=entry.id, error=repr(exc))
            return
        if self.offer(note, entry.event_id):
            self.consumed += 1

    async def close(self) -> None:
        self._stopped.set()
        with contextlib.suppress(Exception):
            await self.leadership.resign()
