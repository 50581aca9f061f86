"""``RiskService``: one risk check per mint, cached, shared by every caller, persisted.

* TTL cache per mint (``ttl_s``, default 300 s) in process: a hit costs a dict lookup.
* Single flight: concurrent ``check(mint)`` calls share one in-flight fetch.
* Authority change forces a re-check: a cached report older than ``authority_recheck_s`` is
  revalidated by reading only the mint account (one call); if its authorities/extensions changed
  (fingerprint differs), the full check runs again. ``note_mint_account`` lets a subscription push
  the change without waiting.
* Every full check is saved to ``"HoneypotCheck"`` (``details`` = ``RiskReport.to_json()``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from solders.pubkey import Pubkey

from sniper_bot.cache import keys as cache_keys
from sniper_bot.domain.risk import DEFAULT_RISK_BLOCK_THRESHOLD, RiskReport
from sniper_bot.observability.metrics import Metrics
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.layers import run_layers
from sniper_bot.safety.scoring import build_report
from sniper_bot.solana.layouts import ParseError
from sniper_bot.solana.layouts.token import MintState, parse_mint

__all__ = ["HoneypotCheckSink", "RiskService", "authority_fingerprint"]

log = structlog.get_logger(__name__)


class SharedCache(Protocol):
    """The cache port (``sniper_bot.cache``): Redis shared by replicas, memory when it is gone."""

    async def get_json(self, key: str) -> Any: ...

    async def set_json(self, key: str, value: Any, ttl_s: float | None = None) -> None: ...


class HoneypotCheckSink(Protocol):
    """``sniper_bot.storage.HoneypotCheckRepository`` (only ``save`` is used)."""

    async def save(
        self, mint: str, score: int, is_honeypot: bool, details: Mapping[str, Any]
    ) -> object: ...


def authority_fingerprint(mint: MintState) -> str:
    """Changes whenever an authority or an extension (fee, hook, pause...) of the mint changes."""
    digest = hashlib.sha256()
    for key in (mint.mint_authority, mint.freeze_authority):
        digest.update(b"\x00" if key is None else bytes(key))
    for ext_type, value in mint.extensions:
        digest.update(ext_type.to_bytes(2, "little") + len(value).to_bytes(4, "little") + value)
    return digest.hexdigest()[:16]


@dataclass(slots=True)
class _Entry:
    report: RiskReport
    stored_at: float
    verified_at: float


class RiskService:
    def __init__(
        self,
        fetcher: SnapshotFetcher,
        repo: HoneypotCheckSink | None = None,
        *,
        threshold: int = DEFAULT_RISK_BLOCK_THRESHOLD,
        ttl_s: float = 300.0,
        authority_recheck_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: Metrics | None = None,
        max_entries: int = 10_000,
        shared: SharedCache | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.threshold = threshold
        self._repo = repo
        self._ttl_s = ttl_s
        self._recheck_s = authority_recheck_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._metrics = metrics
        self._max_entries = max_entries
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[RiskReport]] = {}
        # Reports other replicas computed (Redis with an in-process fallback): a hit is reused
        # after one mint read proves the authorities are the ones the report was built on.
        self._shared = shared

    def cached(self, mint: str) -> RiskReport | None:
        entry = self._cache.get(mint)
        if entry is None or self._clock() - entry.stored_at >= self._ttl_s:
            return None
        return entry.report

    def invalidate(self, mint: str) -> None:
        self._cache.pop(mint, None)

    def note_mint_account(self, mint: str, data: bytes) -> None:
        """Push path (e.g. accountSubscribe on the mint): drop the report if authorities changed."""
        entry = self._cache.get(mint)
        if entry is None:
            return
        try:
            changed = authority_fingerprint(parse_mint(data)) != entry.report.authority_fingerprint
        except ParseError:
            changed = True
        if changed:
            log.info("safety.authorities_changed", mint=mint)
            self.invalidate(mint)

    async def check(self, mint: str, *, force: bool = False) -> RiskReport:
        if not force:
            entry = self._cache.get(mint)
            now = self._clock()
            if entry is not None and now - entry.stored_at < self._ttl_s:
                if now - entry.verified_at < self._recheck_s:
                    self._count("cache", entry.report)
                    return entry.report
                if await self._authorities_unchanged(mint, entry):
                    entry.verified_at = now
                    self._count("cache", entry.report)
                    return entry.report
        return await self._single_flight(mint, lambda: self._shared_or_full_check(mint, force))

    async def _authorities_unchanged(self, mint: str, entry: _Entry) -> bool:
        accounts = await self.fetcher.rpc.get_multiple_accounts([Pubkey.from_string(mint)])
        account = accounts[0] if accounts else None
        if account is None:
            return False
        try:
            fingerprint = authority_fingerprint(parse_mint(bytes(account.data)))
        except ParseError:
            return False
        unchanged = fingerprint == entry.report.authority_fingerprint
        if not unchanged:
            log.info("safety.authorities_changed", mint=mint)
        return unchanged

    async def _single_flight(
        self, mint: str, run: Callable[[], Awaitable[RiskReport]]
    ) -> RiskReport:
        pending = self._inflight.get(mint)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RiskReport] = asyncio.get_running_loop().create_future()
        self._inflight[mint] = future
        try:
            report = await run()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(report)
            return report
        finally:
            del self._inflight[mint]

    async def _shared_or_full_check(self, mint: str, force: bool) -> RiskReport:
        if self._shared is not None and not force:
            data = await self._shared.get_json(cache_keys.risk(mint))
            if isinstance(data, dict):
                try:
                    report = RiskReport.from_json(data)
                except (KeyError, TypeError, ValueError):
                    report = None
                now = self._clock()
                if report is not None and report.mint == mint:
                    entry = _Entry(report, now, now)
                    if await self._authorities_unchanged(mint, entry):
                        self._remember(mint, entry)
                        self._count("shared", report)
                        return report
        report = await self._full_check(mint)
        if self._shared is not None:
            await self._shared.set_json(cache_keys.risk(mint), report.to_json(), ttl_s=self._ttl_s)
        return report

    def _remember(self, mint: str, entry: _Entry) -> None:
        if len(self._cache) >= self._max_entries:
            oldest = min(self._cache, key=lambda k: self._cache[k].stored_at)
            del self._cache[oldest]
        self._cache[mint] = entry

    async def _full_check(self, mint: str) -> RiskReport:
        started = self._clock()
        snapshot = await self.fetcher.fetch(Pubkey.from_string(mint))
        report = build_report(
            mint,
            run_layers(snapshot),
            checked_at=self._wall_clock(),
            inputs_slot=snapshot.slot,
            authority_fingerprint=authority_fingerprint(snapshot.mint_state),
        )
        now = self._clock()
        if self._metrics is not None:
            self._metrics.risk_check_duration_seconds.observe(max(0.0, now - started))
        self._count("chain", report)
        self._remember(mint, _Entry(report, now, now))
        if self._repo is not None:
            await self._repo.save(mint, report.score, report.is_honeypot, report.to_json())
        log.info(
            "safety.checked",
            mint=mint,
            score=report.score,
            is_honeypot=report.is_honeypot,
            decisive=report.decisive_finding.code if report.decisive_finding else None,
            unavailable=len(snapshot.unavailable),
        )
        return report

    def _count(self, source: str, report: RiskReport | None = None) -> None:
        if self._metrics is None:
            return
        verdict = "unknown"
        if report is not None:
            verdict = "blocked" if report.blocks(self.threshold) else "allowed"
        self._metrics.risk_checks.labels(verdict=verdict, source=source).inc()
