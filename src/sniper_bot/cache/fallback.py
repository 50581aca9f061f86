"""``FallbackCache``: Redis while it answers, the in-process LRU otherwise.

A Redis error in the middle of a call is absorbed: the manager is told (``mark_failed``), the call
is answered from memory, and no exception reaches the caller. Writes that reach Redis drop the
memory copy, so an older value cannot resurface during the next outage.
"""

from __future__ import annotations

from sniper_bot.cache.base import JsonCodec
from sniper_bot.cache.memory import MemoryCache
from sniper_bot.cache.redis import REDIS_ERRORS, RedisManager
from sniper_bot.observability.metrics import Metrics

__all__ = ["FallbackCache"]


class FallbackCache(JsonCodec):
    def __init__(
        self, redis: RedisManager, memory: MemoryCache, metrics: Metrics | None = None
    ) -> None:
        self.redis = redis
        self.memory = memory
        self._metrics = metrics

    def _count(self, backend: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.cache_requests.labels(backend=backend, result=result).inc()

    async def get(self, key: str) -> bytes | None:
        client = self.redis.client if self.redis.available else None
        if client is not None:
            try:
                raw = await client.get(key)
            except REDIS_ERRORS as exc:
                self.redis.mark_failed(exc)
                self._count("redis", "error")
            else:
                value = raw.encode() if isinstance(raw, str) else raw
                self._count("redis", "hit" if value is not None else "miss")
                return value
        found = await self.memory.get(key)
        self._count("memory", "hit" if found is not None else "miss")
        return found

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        client = self.redis.client if self.redis.available else None
        if client is not None:
            try:
                if ttl_s is not None and ttl_s <= 0:
                    await client.delete(key)
                elif ttl_s is None:
                    await client.set(key, value)
                else:
                    await client.set(key, value, px=max(1, round(ttl_s * 1000)))
            except REDIS_ERRORS as exc:
                self.redis.mark_failed(exc)
            else:
                await self.memory.delete(key)
                return
        await self.memory.set(key, value, ttl_s)

    async def delete(self, key: str) -> None:
        await self.memory.delete(key)
        client = self.redis.client if self.redis.available else None
        if client is not None:
            try:
                await client.delete(key)
            except REDIS_ERRORS as exc:
                self.redis.mark_failed(exc)
