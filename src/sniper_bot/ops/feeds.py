"""``sniper-bot feeds``: every configured launch feed side by side for a few seconds.

    stats = await probe_feeds(ws_endpoints, geyser_config, duration_s=10, metrics=Metrics())
    console.print(render_feeds_table(stats, 10))

Each WebSocket endpoint gets its own connection (``logsSubscribe`` pump.fun, ``programSubscribe``
Raydium v4 pools, ``slotSubscribe``), the Geyser endpoint its own ``GeyserListener`` stream; all
decode with the bot's own listeners. Per feed: launches seen, how many it saw first (first seen
wins, as in ``LaunchDetector``), how much later it saw the others (time gap), and its slot lag at
the end (newest slot any feed reported minus this feed's). A feed that cannot be reached gets a
one-line reason (never its URL: provider URLs carry keys).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rich.table import Table

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.ws import SubscriptionManager
from sniper_bot.detection.base import DecodeError, LaunchListener
from sniper_bot.detection.pumpfun import PumpFunListener
from sniper_bot.detection.raydium import RaydiumV4Listener
from sniper_bot.domain.launch import LaunchEvent
from sniper_bot.observability.metrics import Metrics

__all__ = ["FeedStats", "probe_feeds", "render_feeds_table"]

_SLOTS_KEY = "feeds:slots"


@dataclass
class FeedStats:
    name: str
    kind: str  # "websocket" | "geyser"
    events: int = 0
    first: int = 0  # launches this feed saw before any other feed
    gaps_s: list[float] = field(default_factory=list)  # behind the first sighting, per launch
    last_slot: int | None = None
    slot_lag: int | None = None
    error: str | None = None
    malformed: int = 0

    @property
    def reachable(self) -> bool:
        return self.error is None


class _Race:
    """First seen wins across feeds (per mint)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._first: dict[str, float] = {}

    def saw(self, stats: FeedStats, event: LaunchEvent) -> None:
        now = self._clock()
        stats.events += 1
        first = self._first.get(event.mint)
        if first is None:
            self._first[event.mint] = now
            stats.first += 1
        else:
            stats.gaps_s.append(max(0.0, now - first))
        if event.slot is not None and (stats.last_slot is None or event.slot > stats.last_slot):
            stats.last_slot = event.slot


def _connect_error(exc: BaseException, timeout_s: float) -> str:
    """Why a connection failed, without the URL (it may carry a provider key)."""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"unreachable: WebSocket handshake refused (HTTP {exc.status})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"unreachable: cannot connect ({reason})"
    if isinstance(exc, TimeoutError):
        return f"unreachable: no answer within {timeout_s:g} s"
    return f"unreachable: {type(exc).__name__}"


async def _websocket(
    ep: EndpointConfig, stats: FeedStats, race: _Race, session: aiohttp.ClientSession,
    metrics: Metrics, connect_timeout_s: float, clock: Callable[[], float],
) -> None:  # fmt: skip
    try:
        async with asyncio.timeout(connect_timeout_s):
            ws = await session.ws_connect(ep.ws_url or "", headers=dict(ep.headers))
            await ws.close()
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        stats.error = _connect_error(exc, connect_timeout_s)
        return
    listeners: list[LaunchListener] = [PumpFunListener(), RaydiumV4Listener()]
    by_key = {listener.key: listener for listener in listeners}
    manager = SubscriptionManager([ep], metrics, session=session, redundancy=1)
    for listener in listeners:
        await listener.subscribe(manager)
    await manager.subscribe(_SLOTS_KEY, "slotSubscribe", [])
    runner = asyncio.create_task(manager.run(), name=f"feeds:{ep.name}")
    try:
        async for note in manager.notifications():
            if note.key == _SLOTS_KEY:
                slot = note.value.get("slot") if isinstance(note.value, dict) else None
                if isinstance(slot, int) and (stats.last_slot is None or slot > stats.last_slot):
                    stats.last_slot = slot
                continue
            decoder = by_key.get(note.key)
            if decoder is None:
                continue
            try:
                event = decoder.decode(note, clock())
            except (DecodeError, ValueError, TypeError, KeyError, IndexError):
                stats.malformed += 1
                continue
            if event is not None:
                race.saw(stats, event)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def _geyser(
    config: Any, stats: FeedStats, race: _Race, metrics: Metrics, duration_s: float,
) -> None:  # fmt: skip
    from sniper_bot.detection.geyser import GeyserListener

    listener = GeyserListener(config, metrics)

    async def sink(event: LaunchEvent) -> None:
        race.saw(stats, event)

    runner = asyncio.create_task(listener.run(sink), name="feeds:geyser")
    try:
        await listener.connected.wait()
        await asyncio.Event().wait()  # until the probe's deadline cancels us
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        if listener.last_slot is None and stats.events == 0:  # never streamed anything
            reasons = sorted(
                s.labels["reason"]
                for m in metrics.geyser_reconnects.collect()
                for s in m.samples
                if s.name.endswith("_total") and s.value > 0
            )
            hint = " (check GEYSER_X_TOKEN)" if "unauthenticated" in reasons else ""
            why = f" ({', '.join(reasons)})" if reasons else ""
            stats.error = f"unreachable: no Geyser stream within {duration_s:g} s{why}{hint}"
        if listener.last_slot is not None:
            stats.last_slot = max(stats.last_slot or 0, listener.last_slot)
        stats.malformed += listener.malformed


async def probe_feeds(
    ws_endpoints: Sequence[EndpointConfig],
    geyser: Any | None,
    duration_s: float,
    metrics: Metrics,
    *,
    connect_timeout_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> list[FeedStats]:
    """Watch every feed for ``duration_s``; ``geyser``: a ``GeyserConfig`` or ``None``."""
    race = _Race(clock)
    stats: list[FeedStats] = []
    connect_s = min(connect_timeout_s, duration_s)
    async with aiohttp.ClientSession() as session:
        tasks = []
        for ep in ws_endpoints:
            if not ep.ws_url:
                continue
            s = FeedStats(ep.name, "websocket")
            stats.append(s)
            tasks.append(_websocket(ep, s, race, session, metrics, connect_s, clock))
        if geyser is not None:
            s = FeedStats("geyser", "geyser")
            stats.append(s)
            tasks.append(_geyser(geyser, s, race, metrics, duration_s))
        running = [asyncio.ensure_future(t) for t in tasks]
        try:
            await asyncio.wait(running, timeout=duration_s)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
    newest = max((s.last_slot for s in stats if s.last_slot is not None), default=None)
    for s in stats:
        if newest is not None and s.last_slot is not None:
            s.slot_lag = newest - s.last_slot
    return stats


def _ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def render_feeds_table(stats: Sequence[FeedStats], duration_s: float) -> Table:
    table = Table(title=f"Launch feeds over {duration_s:g} s (first seen wins)")
    for column in ("feed", "kind", "launches", "first seen", "gap p50 ms", "gap max ms",
                   "last slot", "slot lag", "status"):  # fmt: skip
        left = column in ("feed", "kind", "status")
        table.add_column(column, justify="left" if left else "right")
    for s in stats:
        gaps = s.gaps_s
        table.add_row(
            s.name, s.kind, str(s.events), str(s.first),
            _ms(statistics.median(gaps)) if gaps else "-", _ms(max(gaps)) if gaps else "-",
            "-" if s.last_slot is None else str(s.last_slot),
            "-" if s.slot_lag is None else str(s.slot_lag),
            "[green]ok[/]" if s.reachable else f"[red]{s.error}[/]",
        )  # fmt: skip
    return table
