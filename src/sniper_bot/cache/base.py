"""The ``Cache`` port: bytes in, bytes out, optional TTL. Backends never raise their own errors.

``MemoryCache`` (in-process LRU) and ``FallbackCache`` (Redis, falling back to memory) implement it;
one contract suite (``tests/cache/test_cache_contract.py``) runs against all of them.
``JsonCodec`` adds ``get_json``/``set_json`` on top of the three primitives.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

__all__ = ["Cache", "JsonCodec"]


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def get_json(self, key: str) -> Any: ...

    async def set_json(self, key: str, value: Any, ttl_s: float | None = None) -> None: ...


class JsonCodec:
    """Mixin: JSON helpers over ``get``/``set``. A value that is not valid JSON reads as absent."""

    async def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        raise NotImplementedError

    async def get_json(self, key: str) -> Any:
        raw = await self.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    async def set_json(self, key: str, value: Any, ttl_s: float | None = None) -> None:
        await self.set(key, json.dumps(value, separators=(",", ":")).encode(), ttl_s)
