"""The admin side of the facade (``AdminOps``): /status, the maintenance flag and /memory."""

from __future__ import annotations

import asyncio
import gc
import resource
import sys
import tracemalloc
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path

from sniper_bot.cache.maintenance import MaintenanceFlag
from sniper_bot.control.facade import AdminStatusView, AllocationSite, MemoryView
from sniper_bot.observability.health import HealthRegistry

__all__ = ["AdminService", "MemoryDiagnostics", "package_version"]

TOP_SITES = 10  # allocation sites /memory lists while tracing (and as many growth lines)


def package_version() -> str:
    try:
        return metadata.version("sniper-bot")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


class AdminService:
    def __init__(
        self,
        admin_ids: frozenset[int],
        health: HealthRegistry,
        maintenance_flag: MaintenanceFlag,
        *,
        breakers: Callable[[], dict[str, str]],
        queues: Callable[[], Awaitable[dict[str, int]]],
        caches: Callable[[], dict[str, tuple[int, int]]] = dict,
        version: str | None = None,
    ) -> None:
        self._admin_ids = admin_ids
        self._health = health
        self._flag = maintenance_flag
        self._breakers = breakers
        self._queues = queues
        self._version = version or package_version()
        self._memory = MemoryDiagnostics(caches)

    def is_admin(self, telegram_id: int) -> bool:
        return telegram_id in self._admin_ids

    async def maintenance(self) -> bool:
        return await self._flag.is_on()

    async def set_maintenance(self, on: bool, *, by: int) -> AdminStatusView:
        await self._flag.set(on, by=by)
        return await self.status()

    async def status(self) -> AdminStatusView:
        report = await self._health.report()
        components = {
            name: c.status.value + (f": {c.detail}" if c.detail else "")
            for name, c in report.components.items()
        }
        try:
            queues = await self._queues()
        except Exception as exc:  # the database is away: say so instead of failing /status
            queues = {}
            components["queues"] = f"down: {type(exc).__name__}"
        flag = await self._flag.state()
        return AdminStatusView(
            status=report.status.value,
            components=components,
            breakers=self._breakers(),
            queues=queues,
            version=self._version,
            maintenance=flag.on,
            maintenance_shared=flag.shared,
        )

    async def memory(self, trace: bool | None = None) -> MemoryView:
        """/memory (``trace`` None) or /memory trace on|off (True/False), then the view."""
        if trace is not None:
            self._memory.set_tracing(trace)
        return await self._memory.view()


def _status_kib() -> dict[str, int]:
    """VmRSS / VmHWM of /proc/self/status in KiB (empty where there is no procfs)."""
    found: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return found


def _short(filename: str) -> str:
    """A source file relative to the longest ``sys.path`` entry holding it (no install paths)."""
    best = ""
    for entry in sys.path:
        if entry and filename.startswith(entry.rstrip("/") + "/") and len(entry) > len(best):
            best = entry.rstrip("/") + "/"
    return filename[len(best) :] if best else Path(filename).name


class MemoryDiagnostics:
    """Process memory for the runbook's "High Memory Usage": RSS and peak, gc counts, cache sizes
    and, while tracing (``tracemalloc``), the top allocation sites and their growth since the
    previous look. Tracing is process-wide and costs CPU and memory: stop it when done."""

    _IGNORED = (
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
        tracemalloc.Filter(False, "<unknown>"),
    )

    def __init__(self, caches: Callable[[], dict[str, tuple[int, int]]] = dict) -> None:
        self._caches = caches
        self._previous: tracemalloc.Snapshot | None = None

    def set_tracing(self, on: bool) -> None:
        if on and not tracemalloc.is_tracing():
            tracemalloc.start()
            self._previous = None
        elif not on:
            tracemalloc.stop()  # no-op when not tracing; frees the traces
            self._previous = None

    def _snapshot(self) -> tuple[list[AllocationSite], list[AllocationSite]]:
        snapshot = tracemalloc.take_snapshot().filter_traces(self._IGNORED)

        def site(frame: tracemalloc.Frame, size: int, count: int) -> AllocationSite:
            return AllocationSite(_short(frame.filename), frame.lineno, size, count)

        top = [
            site(s.traceback[0], s.size, s.count) for s in snapshot.statistics("lineno")[:TOP_SITES]
        ]
        growth: list[AllocationSite] = []
        if self._previous is not None:
            diffs = [d for d in snapshot.compare_to(self._previous, "lineno") if d.size_diff > 0]
            growth = [site(d.traceback[0], d.size_diff, d.count_diff) for d in diffs[:TOP_SITES]]
        self._previous = snapshot
        return top, growth

    async def view(self) -> MemoryView:
        kib = _status_kib()
        peak = kib.get("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
        stats = gc.get_stats()
        tracing = tracemalloc.is_tracing()
        top: list[AllocationSite] = []
        growth: list[AllocationSite] = []
        traced = (0, 0)
        compared = self._previous is not None
        if tracing:
            # grouping the traces is Python code: off the event loop so other updates go on
            top, growth = await asyncio.to_thread(self._snapshot)
            traced = tracemalloc.get_traced_memory()
        return MemoryView(
            rss_kib=kib.get("VmRSS"),
            peak_kib=peak,
            gc_collections=tuple(int(g.get("collections", 0)) for g in stats),
            gc_pending=gc.get_count(),
            caches=self._caches(),
            tracing=tracing,
            traced_bytes=traced[0],
            traced_peak_bytes=traced[1],
            top=tuple(top),
            growth=tuple(growth) if compared else None,
        )
