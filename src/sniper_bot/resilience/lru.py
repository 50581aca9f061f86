"""A bounded in-process LRU map with a TTL per item and stale reads.

``get`` answers only fresh items; ``get_stale`` also answers expired ones with their age, which is
what a degraded read (every RPC endpoint refused) wants: an old answer marked stale beats none.
Expired items stay until the LRU evicts them or they are overwritten; ``evictions`` counts the
items pushed out by the size bound.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["LruCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    stored_at: float
    expires_at: float | None


class LruCache(Generic[K, V]):
    def __init__(self, max_items: int, clock: Callable[[], float] = time.monotonic) -> None:
        if max_items < 1:
            raise ValueError("LruCache max_items must be >= 1 (see MAX_CACHE_ITEMS)")
        self.max_items = max_items
        self.evictions = 0
        self._clock = clock
        self._items: OrderedDict[K, _Entry[V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def set(self, key: K, value: V, ttl_s: float | None = None) -> None:
        """Store ``value``; ``ttl_s=None`` never expires, ``ttl_s <= 0`` is stored already stale."""
        now = self._clock()
        expires_at = None if ttl_s is None else now + ttl_s
        self._items[key] = _Entry(value, now, expires_at)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
            self.evictions += 1

    def get(self, key: K) -> V | None:
        """The value if present and not expired (and mark it recently used), else ``None``."""
        entry = self._items.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and self._clock() >= entry.expires_at:
            return None
        self._items.move_to_end(key)
        return entry.value

    def get_stale(self, key: K) -> tuple[V, float] | None:
        """The value even if expired, with its age in seconds; ``None`` only when absent."""
        entry = self._items.get(key)
        if entry is None:
            return None
        self._items.move_to_end(key)
        return entry.value, max(0.0, self._clock() - entry.stored_at)

    def ttl(self, key: K) -> float | None:
        """Seconds until ``key`` expires (<= 0 when stale); ``None`` when absent or without TTL."""
        entry = self._items.get(key)
        if entry is None or entry.expires_at is None:
            return None
        return entry.expires_at - self._clock()

    def delete(self, key: K) -> bool:
        return self._items.pop(key, None) is not None

    def clear(self) -> None:
        self._items.clear()
