"""``LaunchDetector``: runs listeners over one ``SubscriptionManager`` and emits each pool once.

    detector = LaunchDetector(manager, [PumpFunListener(), RaydiumV4Listener()], metrics)
    await detector.run(sink)          # sink(event) awaited for every new pool; cancel to stop

* The manager already drops the second endpoint's copy of the same notification; the detector
  also drops the same pool seen again (another source, a later write to the pool account) for
  ``dedup_ttl_s``. One event per pool (mint + pool address): a coin's bonding curve and, when it
  graduates, its PumpSwap pool (the ``migrate``) are two launches of the same mint, so a snipe
  waiting for the PumpSwap pool fires within the hour of the curve's create.
* A notification that does not decode is counted (``ws_messages{kind="launch_malformed"}``) and
  skipped; a sink that raises is logged; neither stops the loop.
* Metrics (existing collectors): ``ws_messages{endpoint, kind="launch_<source>"}`` per event,
  ``kind="launch_duplicate"`` / ``"launch_malformed"``; ``swap_stage_duration_seconds{stage=
  "launch_decode"}`` for the time from dequeuing a notification to its event.
  The manager must be dedicated to detection: its notification queue is consumed here.
* Other feeds (``feeds``: the Yellowstone gRPC ``GeyserListener``) run beside the manager and
  hand their events to the same de-duplication: the first source to see a pool wins, later
  sightings from another source are dropped and timed. ``launch_first_seen_total{source}``
  counts the winner (``websocket`` or the feed's ``source``), ``launch_first_seen_gap_seconds
  {source}`` how much later the losing source saw the same pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Final, Protocol

import structlog

from sniper_bot.chain.ws import Notification
from sniper_bot.detection.base import DecodeError, LaunchListener, Subscriptions
from sniper_bot.domain.launch import LaunchEvent
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.lru import LruCache

__all__ = ["WEBSOCKET", "LaunchDetector", "LaunchSink", "NotificationSource", "SourcedFeed"]

log = structlog.get_logger(__name__)

LaunchSink = Callable[[LaunchEvent], Awaitable[None]]


WEBSOCKET: Final = "websocket"  # the manager's notifications, in launch_first_seen{source}


class SourcedFeed(Protocol):
    """A feed of already decoded launches (``detection.geyser.GeyserListener``)."""

    @property
    def source(self) -> str: ...

    async def run(self, sink: LaunchSink) -> None: ...


class NotificationSource(Subscriptions, Protocol):
    """``sniper_bot.chain.ws.SubscriptionManager`` fits."""

    async def run(self) -> None: ...
    def notifications(self) -> AsyncIterator[Notification]: ...


class LaunchDetector:
    def __init__(
        self,
        manager: NotificationSource,
        listeners: Sequence[LaunchListener],
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        dedup_ttl_s: float = 3_600.0,
        max_mints: int = 200_000,
        feeds: Sequence[SourcedFeed] = (),
    ) -> None:
        keys = [listener.key for listener in listeners]
        if len(set(keys)) != len(keys):
            raise ValueError(f"listener keys must be unique, got {keys}")
        self._manager = manager
        self._listeners = {listener.key: listener for listener in listeners}
        self._metrics = metrics
        self._clock = clock
        self._dedup_ttl_s = dedup_ttl_s
        # (mint, pool) -> (first seen at, first source); ``max_mints`` bounds the pools kept
        self._seen: LruCache[tuple[str, str], tuple[float, str]] = LruCache(max_mints, clock)
        self._feeds = list(feeds)
        self.events = 0
        self.duplicates = 0
        self.malformed = 0

    async def subscribe(self) -> None:
        for listener in self._listeners.values():
            await listener.subscribe(self._manager)

    async def run(self, sink: LaunchSink) -> None:
        """Subscribe, connect and feed ``sink`` until cancelled."""
        await self.subscribe()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._manager.run(), name="launch-ws")
            group.create_task(self.consume(self._manager.notifications(), sink))
            for feed in self._feeds:
                group.create_task(feed.run(self._feed_sink(feed.source, sink)),
                                  name=f"launch-{feed.source}")  # fmt: skip

    def _feed_sink(self, source: str, sink: LaunchSink) -> LaunchSink:
        async def offer(event: LaunchEvent) -> None:
            if self.offer(event, source, self._clock()) is None:
                return
            try:
                await sink(event)
            except Exception as exc:  # the consumer's failure must not stop detection
                log.error("launch_sink_failed", mint=event.mint, error=repr(exc))

        return offer

    async def consume(self, notes: AsyncIterator[Notification], sink: LaunchSink) -> None:
        async for note in notes:
            event = self.handle(note)
            if event is None:
                continue
            try:
                await sink(event)
            except Exception as exc:  # the consumer's failure must not stop detection
                log.error("launch_sink_failed", mint=event.mint, error=repr(exc))

    def handle(self, note: Notification) -> LaunchEvent | None:
        """Decode one notification; the event if it is a pool not seen before, else ``None``."""
        listener = self._listeners.get(note.key)
        if listener is None:
            return None
        started = self._clock()
        try:
            event = listener.decode(note, started)
        except (DecodeError, ValueError, TypeError, KeyError, IndexError) as exc:
            self.malformed += 1
            self._count(note.endpoint, "launch_malformed")
            log.warning("launch_malformed", source=listener.source, endpoint=note.endpoint,
                        reason=str(exc)[:200])  # fmt: skip
            return None
        if event is None:
            return None
        if self.offer(event, WEBSOCKET, started) is None:
            return None
        self._metrics.swap_stage_duration_seconds.labels(stage="launch_decode").observe(
            max(0.0, self._clock() - started)
        )
        return event

    def offer(self, event: LaunchEvent, source: str, at: float) -> LaunchEvent | None:
        """``event`` if its pool (mint + pool address) was not seen before (by any source), else
        ``None``; a repeat from another source than the first is timed into the gap histogram.
        Another pool of a seen mint (its graduation's PumpSwap pool) is a new launch."""
        key = (event.mint, event.pool)
        first = self._seen.get(key)
        if first is not None:
            self.duplicates += 1
            if source == WEBSOCKET:
                self._count(event.endpoint, "launch_duplicate")
            first_at, first_source = first
            if first_source != source:
                self._metrics.launch_first_seen_gap_seconds.labels(source=source).observe(
                    max(0.0, at - first_at)
                )
            return None
        self._seen.set(key, (at, source), self._dedup_ttl_s)
        self.events += 1
        if source == WEBSOCKET:  # ws_messages counts WebSocket notifications only
            self._count(event.endpoint, f"launch_{event.source}")
        self._metrics.launch_first_seen.labels(source=source).inc()
        log.info("launch_detected", source=event.source, mint=event.mint, pool=event.pool,
                 slot=event.slot, endpoint=event.endpoint, feed=source)  # fmt: skip
        return event

    def _count(self, endpoint: str, kind: str) -> None:
        self._metrics.ws_messages.labels(endpoint=endpoint, kind=kind).inc()
