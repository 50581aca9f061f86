"""Component health: each component reports ok / degraded / down; the worst required one wins.

``/health`` answers HTTP 503 only when the overall status is ``down``. Optional components (Redis,
a single RPC endpoint among several) can make the whole ``degraded`` but never ``down``.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sniper_bot.observability.metrics import Metrics

__all__ = ["ComponentHealth", "HealthRegistry", "HealthReport", "Status"]


class Status(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    DISABLED = "disabled"


_RANK = {Status.OK: 0, Status.DISABLED: 0, Status.DEGRADED: 1, Status.DOWN: 2}
_GAUGE = {Status.OK: 1.0, Status.DISABLED: 1.0, Status.DEGRADED: 0.5, Status.DOWN: 0.0}


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    status: Status
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


Check = Callable[[], Awaitable[ComponentHealth]]


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: Status
    components: dict[str, ComponentHealth]
    uptime_s: float
    instance: str = ""  # INSTANCE_ID: which replica answered (behind a load balancer)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "instance": self.instance,
            "uptime_s": round(self.uptime_s, 1),
            "components": {
                name: {"status": c.status.value, "detail": c.detail, **c.data}
                for name, c in self.components.items()
            },
        }


class HealthRegistry:
    """Named checks; ``required`` ones can make the service down, optional ones only degraded."""

    def __init__(
        self,
        metrics: Metrics | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = 2.0,
        instance: str = "",
    ) -> None:
        self.instance = instance
        self._checks: dict[str, tuple[Check, bool]] = {}
        self._metrics = metrics
        self._clock = clock
        self._started = clock()
        self._timeout_s = timeout_s

    def register(self, name: str, check: Check, *, required: bool = True) -> None:
        self._checks[name] = (check, required)

    async def _run(self, name: str, check: Check, required: bool) -> ComponentHealth:
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await check()
        except TimeoutError:
            result = ComponentHealth(Status.DOWN, f"check timed out after {self._timeout_s}s")
        except Exception as exc:  # a failing check is a finding, never a crash
            result = ComponentHealth(Status.DOWN, f"{type(exc).__name__}: {exc}")
        if not required and result.status is Status.DOWN:
            result = ComponentHealth(Status.DEGRADED, result.detail, result.data)
        return result

    async def report(self) -> HealthReport:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(n, *self._checks[n]) for n in names))
        components = dict(zip(names, results, strict=True))
        worst = max((c.status for c in components.values()), key=_RANK.__getitem__, default=None)
        overall = Status.OK if worst in (None, Status.DISABLED) else worst
        if self._metrics is not None:
            for name, c in components.items():
                self._metrics.component_up.labels(component=name).set(_GAUGE[c.status])
        return HealthReport(overall, components, self._clock() - self._started, self.instance)
