"""Optional third-party risk opinions (RugCheck, GoPlus): advisory, off by default, never required.

Enabled by ``EXTERNAL_RISK_APIS=true``; ``build_stack`` then hands ``external_sources(...)`` to the
``SnapshotFetcher``, which asks them concurrently with its on-chain rounds. A source that is slow,
down, rate limited or talks nonsense gives "no opinion" and the on-chain layers decide alone.
"""

from __future__ import annotations

from typing import Protocol

import aiohttp

from sniper_bot.safety.external.client import (
    DEFAULT_TIMEOUT_S,
    ExternalSource,
    GuardLike,
    JsonOpinionClient,
)
from sniper_bot.safety.external.goplus import DEFAULT_GOPLUS_URL, GoPlusClient
from sniper_bot.safety.external.mapping import GOPLUS, RUGCHECK
from sniper_bot.safety.external.opinions import gather_opinions
from sniper_bot.safety.external.rugcheck import DEFAULT_RUGCHECK_URL, RugCheckClient

__all__ = [
    "DEFAULT_GOPLUS_URL",
    "DEFAULT_RUGCHECK_URL",
    "DEFAULT_TIMEOUT_S",
    "GOPLUS",
    "RUGCHECK",
    "BreakerSource",
    "ExternalSource",
    "GoPlusClient",
    "GuardLike",
    "JsonOpinionClient",
    "RugCheckClient",
    "external_sources",
    "gather_opinions",
]


class BreakerSource(Protocol):
    """``sniper_bot.resilience.BreakerRegistry``: one named breaker per source."""

    def get(self, name: str) -> GuardLike: ...


def external_sources(
    session: aiohttp.ClientSession,
    breakers: BreakerSource,
    *,
    rugcheck_url: str = DEFAULT_RUGCHECK_URL,
    goplus_url: str = DEFAULT_GOPLUS_URL,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> tuple[ExternalSource, ...]:
    """Both clients, each behind its own breaker (``rugcheck``, ``goplus``)."""
    return (
        RugCheckClient(session, rugcheck_url, timeout_s=timeout_s, breaker=breakers.get(RUGCHECK)),
        GoPlusClient(session, goplus_url, timeout_s=timeout_s, breaker=breakers.get(GOPLUS)),
    )
