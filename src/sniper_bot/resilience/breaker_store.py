"""Where breaker state lives: the ``BreakerStore`` port and its in-process implementation.

Every method applies one step of ``breaker_policy`` atomically and returns the resulting snapshot,
so a ``CircuitBreaker`` can keep a local copy and skip the store on its CLOSED fast path.
``RedisBreakerStore`` (``sniper_bot.cache.redis_breaker``) shares the state between processes.
"""

from __future__ import annotations

from typing import Protocol

from sniper_bot.resilience import breaker_policy as policy
from sniper_bot.resilience.breaker_policy import Admission, BreakerConfig, BreakerState, Snapshot

__all__ = ["BreakerStore", "MemoryBreakerStore"]


class BreakerStore(Protocol):
    """State of named breakers. Methods never raise backend errors (a store degrades instead)."""

    async def load(self, name: str, cfg: BreakerConfig, now_ms: int) -> Snapshot: ...

    async def acquire(
        self, name: str, cfg: BreakerConfig, now_ms: int
    ) -> tuple[Snapshot, Admission]: ...

    async def success(
        self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool
    ) -> Snapshot: ...

    async def failure(
        self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool
    ) -> Snapshot: ...

    async def release(
        self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool
    ) -> Snapshot: ...

    async def force(self, name: str, state: BreakerState, now_ms: int) -> Snapshot: ...

    async def close(self) -> None: ...


class MemoryBreakerStore:
    """Breaker state in this process only (``REDIS_URL=""``, or while Redis is down)."""

    def __init__(self) -> None:
        self._state: dict[str, Snapshot] = {}

    def peek(self, name: str) -> Snapshot | None:
        return self._state.get(name)

    def put(self, name: str, snapshot: Snapshot) -> None:
        self._state[name] = snapshot

    def discard(self, name: str) -> None:
        self._state.pop(name, None)

    def names(self) -> list[str]:
        return list(self._state)

    async def load(self, name: str, cfg: BreakerConfig, now_ms: int) -> Snapshot:
        return self._state.get(name, policy.CLOSED_SNAPSHOT)

    async def acquire(
        self, name: str, cfg: BreakerConfig, now_ms: int
    ) -> tuple[Snapshot, Admission]:
        snap, admission = policy.acquire(self._state.get(name, policy.CLOSED_SNAPSHOT), cfg, now_ms)
        self._state[name] = snap
        return snap, admission

    async def success(self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool) -> Snapshot:
        return self._step(name, policy.success(self._get(name), cfg, now_ms, probe))

    async def failure(self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool) -> Snapshot:
        return self._step(name, policy.failure(self._get(name), cfg, now_ms, probe))

    async def release(self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool) -> Snapshot:
        return self._step(name, policy.release(self._get(name), cfg, now_ms, probe))

    async def force(self, name: str, state: BreakerState, now_ms: int) -> Snapshot:
        return self._step(name, policy.force(state, now_ms))

    async def close(self) -> None:
        return None

    def _get(self, name: str) -> Snapshot:
        return self._state.get(name, policy.CLOSED_SNAPSHOT)

    def _step(self, name: str, snap: Snapshot) -> Snapshot:
        self._state[name] = snap
        return snap
