"""Per-endpoint state of the pool and the small values it reports.

``Breaker``/``BreakerSource`` are the slice of ``resilience.BreakerRegistry`` the pool uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sniper_bot.chain.client import JsonRpcClient
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.errors import (
    PreflightFailure,
    RpcError,
    RpcMalformedResponse,
    RpcNodeBehind,
    RpcRateLimited,
    RpcTimeout,
)
from sniper_bot.resilience.ratelimit import TokenBucket

__all__ = ["Breaker", "BreakerSource", "EndpointState", "EndpointStatus", "Read", "outcome"]

T = TypeVar("T")
_LATENCY_ALPHA = 0.2


class Breaker(Protocol):
    """What the pool needs of ``resilience.CircuitBreaker``."""

    def state(self) -> Any: ...
    def allows_locally(self) -> bool: ...
    async def acquire(self) -> Any: ...  # raises CircuitOpenError (a TemporaryError) when refused
    async def record_success(self) -> None: ...
    async def record_failure(self) -> None: ...
    async def release(self) -> None: ...
    async def refresh(self) -> None: ...  # re-read the shared state now


class BreakerSource(Protocol):
    def get(self, name: str) -> Breaker: ...


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """A read's answer; ``stale`` when it came from the degraded cache, ``age_s`` old."""

    value: T
    stale: bool = False
    age_s: float = 0.0
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    name: str
    url: str
    priority: int
    breaker_state: str
    latency_ms: float | None
    slot: int | None
    behind: bool
    rate_limited_for_s: float


class EndpointState:
    __slots__ = ("behind", "breaker", "client", "config", "latency_s", "limiter", "slot")

    def __init__(self, config: EndpointConfig, breaker: Breaker, limiter: TokenBucket | None):
        self.config = config
        self.breaker = breaker
        self.limiter = limiter
        self.client: JsonRpcClient | None = None
        self.latency_s: float | None = None
        self.slot: int | None = None
        self.behind = False

    @property
    def name(self) -> str:
        return self.config.name

    def observe_latency(self, seconds: float) -> None:
        prev = self.latency_s
        self.latency_s = seconds if prev is None else prev + _LATENCY_ALPHA * (seconds - prev)


def outcome(exc: RpcError) -> str:
    if isinstance(exc, PreflightFailure):
        return "preflight"
    if isinstance(exc, RpcRateLimited):
        return "rate_limited"
    if isinstance(exc, RpcTimeout):
        return "timeout"
    if isinstance(exc, RpcNodeBehind):
        return "node_behind"
    if isinstance(exc, RpcMalformedResponse):
        return "malformed"
    return "transport" if exc.retryable else "rejected"


def state_name(breaker: Breaker) -> str:
    state = breaker.state()
    return str(getattr(state, "value", state))
