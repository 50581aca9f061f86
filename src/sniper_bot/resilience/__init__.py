"""Resilience: circuit breakers (pure policy + the memory store; the Redis store is the Redis
adapter's: ``sniper_bot.cache.redis_breaker``), backoff, rate limiting, LRU."""

from sniper_bot.resilience.backoff import Backoff
from sniper_bot.resilience.breaker import (
    BreakerConfig,
    BreakerRegistry,
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    CircuitOpenError,
    MemoryBreakerStore,
)
from sniper_bot.resilience.lru import LruCache
from sniper_bot.resilience.ratelimit import TokenBucket

__all__ = [
    "Backoff",
    "BreakerConfig",
    "BreakerRegistry",
    "BreakerState",
    "BreakerStore",
    "CircuitBreaker",
    "CircuitOpenError",
    "LruCache",
    "MemoryBreakerStore",
    "TokenBucket",
]
