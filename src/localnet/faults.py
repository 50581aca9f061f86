"""Fault profiles for localnet RPC endpoints: data, plus the pure per-request decision.

A `FaultProfile` is plain data (JSON in and out through the control API). A `FaultInjector`
holds one profile, a seeded RNG and an injected clock, and answers `decide(method)` with a
`Decision`: which fault (if any) and how much latency to add.
The HTTP/WS servers carry the decision out.

Profile JSON (every field optional):
    {"latency_ms": 50, "latency_jitter_ms": 20, "latency_dist": "uniform",
     "http_429_rate": 0.1, "retry_after_s": 2, "http_503_rate": 0.05, "http_504_rate": 0.0,
     "hang_rate": 0.0, "hang_s": 30, "behind_rate": 0.0, "behind_slots": 120,
     "malformed_rate": 0.0, "ws_drop_rate": 0.0, "down": false,
     "outages": [{"start_s": 5, "duration_s": 10}],      # relative to when the profile was applied
     "rate_limit": {"requests_per_10s": 100, "per_method_per_10s": 40},
     "methods": ["sendTransaction"]}                       # faults only for these (empty = all)
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any

LATENCY_DISTS = ("constant", "uniform", "normal", "exponential")
WINDOW_S = 10.0


class Fault(Enum):
    NONE = "none"
    OUTAGE = "outage"  # connection closed without an answer
    RATE_LIMITED = "rate_limited"  # HTTP 429 + Retry-After from the rate limit
    HTTP_429 = "http_429"
    HTTP_503 = "http_503"
    HTTP_504 = "http_504"
    HANG = "hang"  # no answer for hang_s (past any sane client timeout)
    BEHIND = "behind"  # JSON-RPC -32005 Node is behind
    MALFORMED = "malformed"  # HTTP 200 with a body that is not JSON


@dataclass(frozen=True, slots=True)
class Outage:
    start_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Per-client limits over a 10 s sliding window (public mainnet: 100 total, 40 per method)."""

    requests_per_10s: int = 100
    per_method_per_10s: int = 40


@dataclass(frozen=True, slots=True)
class FaultProfile:
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    latency_dist: str = "constant"
    http_429_rate: float = 0.0
    retry_after_s: int = 1
    http_503_rate: float = 0.0
    http_504_rate: float = 0.0
    hang_rate: float = 0.0
    hang_s: float = 30.0
    behind_rate: float = 0.0
    behind_slots: int = 120
    malformed_rate: float = 0.0
    ws_drop_rate: float = 0.0
    down: bool = False
    outages: tuple[Outage, ...] = ()
    rate_limit: RateLimit | None = None
    methods: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.latency_dist not in LATENCY_DISTS:
            raise ValueError(f"latency_dist must be one of {LATENCY_DISTS}")
        rates = [
            self.http_429_rate,
            self.http_503_rate,
            self.http_504_rate,
            self.hang_rate,
            self.behind_rate,
            self.malformed_rate,
            self.ws_drop_rate,
        ]
        if any(not 0.0 <= r <= 1.0 for r in rates):
            raise ValueError("every *_rate must be between 0 and 1")
        if sum(rates[:-1]) > 1.0:
            raise ValueError("the request fault rates must add up to at most 1")
        if self.latency_ms < 0 or self.latency_jitter_ms < 0 or self.hang_s < 0:
            raise ValueError("latencies and hang_s must be >= 0")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultProfile:
        """Build from control-API JSON; unknown keys are an error (typos must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"unknown fault profile fields: {sorted(unknown)}; known: {sorted(known)}"
            )
        values = dict(data)
        try:
            if "outages" in values:
                values["outages"] = tuple(Outage(**o) for o in values["outages"])
            if values.get("rate_limit") is not None:
                values["rate_limit"] = RateLimit(**values["rate_limit"])
            if "methods" in values:
                values["methods"] = tuple(values["methods"])
            return cls(**values)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["outages"] = [asdict(o) for o in self.outages]
        out["methods"] = list(self.methods)
        return out


PRESETS: dict[str, FaultProfile] = {
    "none": FaultProfile(),
    "helius": FaultProfile(latency_ms=3, latency_jitter_ms=2, latency_dist="uniform"),
    "quicknode": FaultProfile(latency_ms=5, latency_jitter_ms=3, latency_dist="uniform"),
    "public": FaultProfile(
        latency_ms=20, latency_jitter_ms=10, latency_dist="exponential", rate_limit=RateLimit()
    ),
}


@dataclass(frozen=True, slots=True)
class Decision:
    fault: Fault = Fault.NONE
    latency_s: float = 0.0
    retry_after_s: int = 0


@dataclass(slots=True)
class _Window:
    stamps: deque[float] = field(default_factory=deque)


class FaultInjector:
    """Decides, per request, which fault an endpoint shows. Deterministic for a seed and clock."""

    def __init__(
        self,
        profile: FaultProfile | None = None,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rng = random.Random(seed)
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self.profile = FaultProfile()
        self._applied_at = clock()
        self.counts: dict[str, int] = {}
        self.set_profile(profile or FaultProfile())

    def set_profile(self, profile: FaultProfile) -> None:
        """Swap the profile at run time; outage windows count from now."""
        self.profile = profile
        self._applied_at = self._clock()
        self._windows.clear()

    def in_outage(self) -> bool:
        if self.profile.down:
            return True
        elapsed = self._clock() - self._applied_at
        return any(o.start_s <= elapsed < o.start_s + o.duration_s for o in self.profile.outages)

    def _latency(self) -> float:
        prof = self.profile
        base, jitter = prof.latency_ms, prof.latency_jitter_ms
        if prof.latency_dist == "uniform":
            ms = self._rng.uniform(base - jitter, base + jitter)
        elif prof.latency_dist == "normal":
            ms = self._rng.gauss(base, jitter)
        elif prof.latency_dist == "exponential":
            ms = base + (self._rng.expovariate(1.0 / jitter) if jitter > 0 else 0.0)
        else:
            ms = base
        return max(0.0, ms) / 1000.0

    def _count(self, fault: Fault | str) -> None:
        key = fault.value if isinstance(fault, Fault) else fault
        self.counts[key] = self.counts.get(key, 0) + 1

    def decide(self, method: str, client: str = "127.0.0.1") -> Decision:
        prof = self.profile
        if prof.methods and method not in prof.methods:
            return Decision()
        if self.in_outage():
            self._count(Fault.OUTAGE)
            return Decision(Fault.OUTAGE)
        if prof.rate_limit is not None:
            wait = self._rate_limited(method, client, prof.rate_limit)
            if wait is not None:
                self._count(Fault.RATE_LIMITED)
                return Decision(Fault.RATE_LIMITED, retry_after_s=max(1, int(wait + 0.999)))
        latency = self._latency()
        draw = self._rng.random()
        for fault, rate in (
            (Fault.HTTP_429, prof.http_429_rate),
            (Fault.HTTP_503, prof.http_503_rate),
            (Fault.HTTP_504, prof.http_504_rate),
            (Fault.HANG, prof.hang_rate),
            (Fault.BEHIND, prof.behind_rate),
            (Fault.MALFORMED, prof.malformed_rate),
        ):
            if draw < rate:
                self._count(fault)
                return Decision(fault, latency, prof.retry_after_s)
            draw -= rate
        return Decision(Fault.NONE, latency)

    def _rate_limited(self, method: str, client: str, limit: RateLimit) -> float | None:
        now = self._clock()
        total = self._windows.setdefault(("*", client), _Window())
        per_method = self._windows.setdefault((method, client), _Window())
        # Check both before recording either, so a refused request does not eat budget.
        for window, cap in (
            (total, limit.requests_per_10s),
            (per_method, limit.per_method_per_10s),
        ):
            while window.stamps and window.stamps[0] <= now - WINDOW_S:
                window.stamps.popleft()
            if len(window.stamps) >= cap:
                return window.stamps[0] + WINDOW_S - now
        total.stamps.append(now)
        per_method.stamps.append(now)
        return None

    def drop_ws(self) -> bool:
        """Whether to drop a WebSocket connection instead of sending this notification."""
        rate = self.profile.ws_drop_rate
        if self.in_outage():
            return True
        if rate > 0 and self._rng.random() < rate:
            self._count("ws_drop")
            return True
        return False
