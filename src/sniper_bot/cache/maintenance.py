"""The maintenance flag: while it is on, new orders (buys, new snipes) are refused.

Shared by every replica through the Redis key ``maintenance`` (``redis-cli -u "$REDIS_URL" GET
maintenance`` shows who set it and when); each process caches what it read for ``ttl_s`` so a
buy costs no Redis round trip, and a change is seen by every replica within that time. Without
Redis (``REDIS_URL=""``, or Redis unreachable) the flag lives in this process: the last value
this process read or set, so a Redis outage never turns maintenance off by itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis

from sniper_bot.cache.redis import REDIS_ERRORS, RedisManager

__all__ = ["MAINTENANCE_KEY", "MaintenanceFlag", "MaintenanceState"]

log = structlog.get_logger(__name__)

MAINTENANCE_KEY = "maintenance"
DEFAULT_TTL_S = 1.0


@dataclass(frozen=True, slots=True)
class MaintenanceState:
    on: bool
    by: int | None = None  # the admin's Telegram id
    since_ms: int | None = None  # epoch milliseconds
    shared: bool = False  # read from (or written to) Redis, i.e. every replica sees it


class MaintenanceFlag:
    def __init__(
        self,
        redis: RedisManager | None,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._clock = clock
        self._wall_ms = wall_ms
        self._local = MaintenanceState(False)
        self._read_at: float | None = None

    def _client(self) -> Redis | None:
        redis = self._redis
        if redis is None or redis.client is None or not redis.available:
            return None
        return redis.client

    async def state(self) -> MaintenanceState:
        """The flag as every replica sees it (cached ``ttl_s``); the local value without Redis."""
        now = self._clock()
        if self._read_at is not None and now - self._read_at < self._ttl_s:
            return self._local
        client = self._client()
        if client is None or self._redis is None:
            return self._local
        try:
            raw = await client.get(MAINTENANCE_KEY)
        except REDIS_ERRORS as exc:
            self._redis.mark_failed(exc)
            return self._local
        self._local = _decode(raw)
        self._read_at = now
        return self._local

    async def is_on(self) -> bool:
        return (await self.state()).on

    async def set(self, on: bool, *, by: int | None = None) -> MaintenanceState:
        """Turn maintenance on or off for every replica (this process only without Redis)."""
        state = MaintenanceState(on, by, self._wall_ms() if on else None)
        shared = False
        client = self._client()
        if client is not None and self._redis is not None:
            try:
                if on:
                    await client.set(
                        MAINTENANCE_KEY, json.dumps({"by": by, "since_ms": state.since_ms})
                    )
                else:
                    await client.delete(MAINTENANCE_KEY)
                shared = True
            except REDIS_ERRORS as exc:
                self._redis.mark_failed(exc)
        self._local = MaintenanceState(state.on, state.by, state.since_ms, shared)
        self._read_at = self._clock() if shared else None
        log.warning("maintenance_mode", on=on, by=by, shared=shared)
        return self._local


def _decode(raw: object) -> MaintenanceState:
    if raw is None:
        return MaintenanceState(False, shared=True)
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    try:
        data = json.loads(text)
    except ValueError:  # set by hand (`redis-cli SET maintenance 1`): still on
        return MaintenanceState(True, shared=True)
    if not isinstance(data, dict):
        return MaintenanceState(True, shared=True)
    by, since = data.get("by"), data.get("since_ms")
    return MaintenanceState(
        True,
        by if isinstance(by, int) else None,
        since if isinstance(since, int) else None,
        shared=True,
    )
