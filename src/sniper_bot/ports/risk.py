"""``RiskVerdict``: what a risk check answers, as the executor, the snipe engine and the facade
read it. ``sniper_bot.domain.risk.RiskReport`` (built by ``safety.service.RiskService``) is the
real one."""

from __future__ import annotations

from typing import Protocol

__all__ = ["RiskChecker", "RiskVerdict"]


class RiskVerdict(Protocol):
    @property
    def score(self) -> int: ...
    @property
    def is_honeypot(self) -> bool: ...


class RiskChecker(Protocol):
    """``safety.service.RiskService``: one check per mint, cached; ``force`` skips the cache."""

    async def check(self, mint: str, *, force: bool = False) -> RiskVerdict: ...
