"""In-process cache: an LRU bounded by ``MAX_CACHE_ITEMS`` with a TTL per item."""

from __future__ import annotations

import time
from collections.abc import Callable

from sniper_bot.cache.base import JsonCodec
from sniper_bot.resilience.lru import LruCache

__all__ = ["DEFAULT_MAX_CACHE_ITEMS", "MemoryCache"]

DEFAULT_MAX_CACHE_ITEMS = 10_000


class MemoryCache(JsonCodec):
    def __init__(
        self, max_items: int = DEFAULT_MAX_CACHE_ITEMS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lru: LruCache[str, bytes] = LruCache(max_items, clock)

    def __len__(self) -> int:
        return len(self.lru)

    @property
    def evictions(self) -> int:
        return self.lru.evictions

    async def get(self, key: str) -> bytes | None:
        return self.lru.get(key)

    async def get_stale(self, key: str) -> tuple[bytes, float] | None:
        """Value and age in seconds even when expired (degraded reads)."""
        return self.lru.get_stale(key)

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        if ttl_s is not None and ttl_s <= 0:
            self.lru.delete(key)
            return
        self.lru.set(key, bytes(value), ttl_s)

    async def delete(self, key: str) -> None:
        self.lru.delete(key)
