"""Ask every enabled source at once; keep the opinions, name the sources that gave none."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from sniper_bot.safety.external.client import ExternalSource
from sniper_bot.safety.snapshot import ExternalOpinion

__all__ = ["gather_opinions"]

log = structlog.get_logger(__name__)


async def gather_opinions(
    sources: Sequence[ExternalSource], mint: str
) -> tuple[tuple[ExternalOpinion, ...], tuple[str, ...]]:
    """(opinions, "<source> opinion" for each source without one). Never raises.

    Each source bounds itself (its own timeout and breaker); a source that breaks that contract
    by raising is logged and treated as silent.
    """
    results = await asyncio.gather(*(s.opinion(mint) for s in sources), return_exceptions=True)
    opinions: list[ExternalOpinion] = []
    missing: list[str] = []
    for source, result in zip(sources, results, strict=True):
        if isinstance(result, ExternalOpinion):
            opinions.append(result)
            continue
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result  # cancellation and friends are not ours to swallow
            log.warning("safety.external_source_raised", source=source.name, error=repr(result))
        missing.append(f"{source.name} opinion")
    return tuple(opinions), tuple(missing)
