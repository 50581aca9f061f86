"""How long each stage of a swap takes (``swap_stage_duration_seconds``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sniper_bot.observability.metrics import Metrics

__all__ = ["StageTimer"]

_T = TypeVar("_T")


class StageTimer:
    def __init__(self, metrics: Metrics, monotonic: Callable[[], float]) -> None:
        self._metrics = metrics
        self._monotonic = monotonic

    def stage(self, stage: str, started: float) -> None:
        self._metrics.swap_stage_duration_seconds.labels(stage=stage).observe(
            self._monotonic() - started
        )

    async def timed(self, stage: str, awaitable: Awaitable[_T]) -> _T:
        t = self._monotonic()
        try:
            return await awaitable
        finally:
            self.stage(stage, t)
