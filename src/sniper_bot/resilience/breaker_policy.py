"""The circuit breaker as a pure state machine: plain values in, plain values out, no I/O, no clock.

Times are integer milliseconds supplied by the caller, so the Redis store's Lua script can apply the
very same arithmetic (``redis_lua.py`` mirrors this module; the store contract tests and a
differential property test keep them equal).

    CLOSED ──(failure_threshold failures within monitoring_period)──► OPEN
    OPEN ──(timeout elapsed, noticed lazily by the next acquire)──► HALF_OPEN
    HALF_OPEN: at most half_open_max_calls probes in flight;
               success_threshold probe successes ──► CLOSED; any probe failure ──► OPEN
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

__all__ = [
    "Admission",
    "BreakerConfig",
    "BreakerState",
    "Snapshot",
    "acquire",
    "failure",
    "force",
    "release",
    "success",
]


class BreakerState(enum.StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failure_threshold: int = 5
    success_threshold: int = 2
    timeout_s: float = 30.0
    monitoring_period_s: float = 60.0
    half_open_max_calls: int = 1

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.success_threshold < 1:
            raise ValueError("breaker failure_threshold and success_threshold must be >= 1")
        if self.half_open_max_calls < 1:
            raise ValueError("breaker half_open_max_calls must be >= 1 or it could never close")
        if self.timeout_s < 0 or self.monitoring_period_s <= 0:
            raise ValueError("breaker timeout_s must be >= 0 and monitoring_period_s > 0 seconds")

    @property
    def timeout_ms(self) -> int:
        return round(self.timeout_s * 1000)

    @property
    def period_ms(self) -> int:
        return round(self.monitoring_period_s * 1000)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the policy needs. ``failures``: ms times of the counted failures, oldest first."""

    state: BreakerState = BreakerState.CLOSED
    failures: tuple[int, ...] = ()
    successes: int = 0
    opened_at: int = 0
    probes: int = 0

    @property
    def failure_count(self) -> int:
        return len(self.failures)


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    probe: bool = False
    retry_after_ms: int | None = None


CLOSED_SNAPSHOT = Snapshot()


def _tick(s: Snapshot, cfg: BreakerConfig, now: int) -> Snapshot:
    if s.state is BreakerState.OPEN and now - s.opened_at >= cfg.timeout_ms:
        return Snapshot(BreakerState.HALF_OPEN, opened_at=s.opened_at)
    return s


def acquire(s: Snapshot, cfg: BreakerConfig, now: int) -> tuple[Snapshot, Admission]:
    """May a call start now? In HALF_OPEN an admitted call holds one of the probe slots."""
    s = _tick(s, cfg, now)
    if s.state is BreakerState.CLOSED:
        return s, Admission(allowed=True)
    if s.state is BreakerState.OPEN:
        return s, Admission(allowed=False, retry_after_ms=s.opened_at + cfg.timeout_ms - now)
    if s.probes < cfg.half_open_max_calls:
        return replace(s, probes=s.probes + 1), Admission(allowed=True, probe=True)
    return s, Admission(allowed=False)


def _drop_probe(s: Snapshot, probe: bool) -> Snapshot:
    return replace(s, probes=max(0, s.probes - 1)) if probe and s.probes > 0 else s


def success(s: Snapshot, cfg: BreakerConfig, now: int, probe: bool) -> Snapshot:
    """A call ended well. Only probes count towards closing a HALF_OPEN breaker."""
    s = _drop_probe(s, probe)
    if s.state is BreakerState.HALF_OPEN and probe:
        if s.successes + 1 >= cfg.success_threshold:
            return CLOSED_SNAPSHOT
        return replace(s, successes=s.successes + 1)
    return s


def failure(s: Snapshot, cfg: BreakerConfig, now: int, probe: bool) -> Snapshot:
    """A call failed. CLOSED counts it in the window; a failed probe re-opens at once."""
    s = _drop_probe(s, probe)
    if s.state is BreakerState.HALF_OPEN:
        return Snapshot(BreakerState.OPEN, failures=(now,), opened_at=now) if probe else s
    if s.state is BreakerState.OPEN:
        return s
    recent = (*(t for t in s.failures if t > now - cfg.period_ms), now)
    recent = recent[-cfg.failure_threshold :]
    if len(recent) >= cfg.failure_threshold:
        return Snapshot(BreakerState.OPEN, failures=recent, opened_at=now)
    return replace(s, failures=recent)


def release(s: Snapshot, cfg: BreakerConfig, now: int, probe: bool) -> Snapshot:
    """A call ended neither well nor badly (e.g. the caller's own bad request): free its slot."""
    return _drop_probe(s, probe)


def force(state: BreakerState, now: int) -> Snapshot:
    """Operator action: put the breaker in ``state`` with clean counters."""
    if state is BreakerState.OPEN:
        return Snapshot(BreakerState.OPEN, opened_at=now)
    if state is BreakerState.HALF_OPEN:
        return Snapshot(BreakerState.HALF_OPEN, opened_at=now)
    return CLOSED_SNAPSHOT
