"""The shared shell of the external opinion clients: one GET, bounded, guarded, never raising.

    opinion = await source.opinion(mint)      # ExternalOpinion, or None ("no opinion")

Every way an external API can let us down ends in ``None`` plus one structured log line
(``safety.external_no_opinion`` with ``source`` and ``reason``), never an exception:

* the breaker is OPEN (refused without a request);
* no answer within ``timeout_s`` (the bound covers the breaker's store I/O too);
* HTTP 429 / 5xx / connection error;
* 4xx (e.g. 404: the service has not analysed this mint);
* a body that is not JSON or carries no verdict (``MalformedOpinion``).

Timeouts, 429, 5xx, connection errors and malformed bodies count as breaker failures; other 4xx
answers prove the service is up and count as successes. Cancellation releases a HALF_OPEN probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import structlog

from sniper_bot.resilience.breaker import CircuitOpenError
from sniper_bot.safety.external.mapping import MalformedOpinion
from sniper_bot.safety.snapshot import ExternalOpinion

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "STORE_GRACE_S",
    "ExternalSource",
    "GuardLike",
    "JsonOpinionClient",
    "NoOpinion",
    "normalize_base_url",
]

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT_S = 1.5
STORE_GRACE_S = 0.25  # extra bound for a hung breaker store (Redis) around the request deadline
_HEADERS = {"Accept": "application/json", "User-Agent": "sniper-bot risk check"}


class ExternalSource(Protocol):
    """What ``SnapshotFetcher`` needs from an opinion provider."""

    @property
    def name(self) -> str: ...

    async def opinion(self, mint: str) -> ExternalOpinion | None: ...


class GuardLike(Protocol):
    """``sniper_bot.resilience.CircuitBreaker``: ``guard()`` raises when OPEN, records outcomes."""

    def guard(self) -> AbstractAsyncContextManager[None]: ...


class NoOpinion(Exception):
    """Internal: why this call yields no opinion. ``failure``: counts against the breaker."""

    def __init__(self, reason: str, *, failure: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure = failure


def normalize_base_url(url: str, setting: str) -> str:
    """``https://api.rugcheck.xyz/`` -> ``https://api.rugcheck.xyz`` (http(s) only)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{setting} {url!r} is not an http(s) URL, e.g. https://host")
    return url.strip().rstrip("/")


class JsonOpinionClient:
    """GET a JSON document and parse it into an opinion; subclasses give the URL and parser."""

    def __init__(
        self,
        name: str,
        session: aiohttp.ClientSession,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        breaker: GuardLike | None = None,
    ) -> None:
        self._name = name
        self._session = session
        self._timeout_s = timeout_s
        self._breaker = breaker

    @property
    def name(self) -> str:
        return self._name

    def request(self, mint: str) -> tuple[str, Mapping[str, str]]:
        """(url, query params) for ``mint``."""
        raise NotImplementedError

    def parse(self, body: Any, mint: str) -> ExternalOpinion:
        raise NotImplementedError

    async def opinion(self, mint: str) -> ExternalOpinion | None:
        """The provider's opinion of ``mint``, or None with a logged reason. Never raises."""
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        try:
            # The hard cap also bounds the breaker's store I/O; the request's own deadline
            # (inside the guard) fires first, so a slow answer counts as a breaker failure.
            async with asyncio.timeout_at(deadline + STORE_GRACE_S):
                return await self._guarded(mint, deadline)
        except NoOpinion as exc:
            reason = exc.reason
        except CircuitOpenError:
            reason = "circuit breaker open"
        except TimeoutError:
            reason = f"no answer within {self._timeout_s:g} s"
        except Exception as exc:  # an advisory source must never fail a check
            reason = f"{type(exc).__name__}: {exc}"
        log.info("safety.external_no_opinion", source=self._name, mint=mint, reason=reason)
        return None

    async def _guarded(self, mint: str, deadline: float) -> ExternalOpinion:
        if self._breaker is None:
            return await self._call(mint, deadline)
        answered: NoOpinion | None = None
        async with self._breaker.guard():
            try:
                return await self._call(mint, deadline)
            except NoOpinion as exc:
                if exc.failure:
                    raise
                answered = exc  # the service answered (e.g. 404): a success for the breaker
        assert answered is not None
        raise answered

    async def _call(self, mint: str, deadline: float) -> ExternalOpinion:
        url, params = self.request(mint)
        try:
            async with (
                asyncio.timeout_at(deadline),
                self._session.get(url, params=params, headers=_HEADERS) as resp,
            ):
                status = resp.status
                if status == 429 or status >= 500:
                    raise NoOpinion(f"HTTP {status}", failure=True)
                if status >= 400:
                    raise NoOpinion(f"HTTP {status} (not analysed)", failure=False)
                try:
                    body = await resp.json(content_type=None)
                except ValueError as exc:
                    raise NoOpinion("body is not JSON", failure=True) from exc
        except aiohttp.ClientError as exc:
            raise NoOpinion(f"connection failed: {type(exc).__name__}", failure=True) from exc
        try:
            return self.parse(body, mint)
        except MalformedOpinion as exc:
            raise NoOpinion(f"malformed body: {exc}", failure=True) from exc
