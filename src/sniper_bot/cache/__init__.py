"""Cache port, Redis connection manager with in-process fallback, and the Redis key builder."""

from sniper_bot.cache.base import Cache, JsonCodec
from sniper_bot.cache.fallback import FallbackCache
from sniper_bot.cache.memory import MemoryCache
from sniper_bot.cache.redis import RedisManager, RedisStatus

__all__ = ["Cache", "FallbackCache", "JsonCodec", "MemoryCache", "RedisManager", "RedisStatus"]
