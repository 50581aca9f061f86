"""``RedisBreakerStore``: breaker state shared by every process through Redis.

State lives in the runbook's hash ``circuit_breaker:<name>`` (``state``, ``failureCount``,
``successCount``, ``openedAt``, ``lastFailureTime`` in ms, plus ``failureTimes``), the HALF_OPEN
probe counter in ``{circuit_breaker:<name>}:probes`` (with a TTL so a crashed process cannot hold a
slot forever). Each step is one atomic Lua call (``breaker_lua.py``).

Operator actions honoured: ``HSET ... state CLOSED`` / ``failureCount 0`` /
``HDEL ... lastFailureTime`` and ``DEL circuit_breaker:<name>`` are read as they are; the string key
``SET circuit_breaker:<name>:state CLOSED|OPEN|HALF_OPEN`` is applied on the next load and deleted.

While Redis is unavailable the store answers from a ``MemoryBreakerStore`` seeded with the last
state seen in Redis, so behaviour is unchanged and nothing blocks. When Redis answers again, each
breaker's local state is merged back on its next step: written if Redis lost the hash (restart
without persistence), or if we saw it OPEN while Redis still says CLOSED; otherwise Redis wins.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import structlog

from sniper_bot.cache import keys
from sniper_bot.cache.redis import REDIS_ERRORS, RedisManager
from sniper_bot.resilience import breaker_policy as policy
from sniper_bot.resilience.breaker_lua import BREAKER_LUA
from sniper_bot.resilience.breaker_policy import Admission, BreakerConfig, BreakerState, Snapshot
from sniper_bot.resilience.breaker_store import MemoryBreakerStore

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["RedisBreakerStore"]

log = structlog.get_logger(__name__)

_MIN_PROBE_TTL_MS = 10_000
_FORCE_CONFIG = BreakerConfig()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse(reply: list[object]) -> tuple[Snapshot, Admission]:
    state = BreakerState(_text(reply[0]))
    csv = _text(reply[1])
    failures = tuple(int(t) for t in csv.split(",") if t)
    snap = Snapshot(
        state=state,
        failures=failures,
        successes=int(_text(reply[2])),
        opened_at=int(_text(reply[3])),
        probes=int(_text(reply[4])),
    )
    retry = int(_text(reply[7]))
    admission = Admission(
        allowed=_text(reply[5]) == "1",
        probe=_text(reply[6]) == "1",
        retry_after_ms=None if retry < 0 else retry,
    )
    return snap, admission


class RedisBreakerStore:
    def __init__(self, redis: RedisManager, fallback: MemoryBreakerStore | None = None) -> None:
        self.redis = redis
        self.memory = fallback if fallback is not None else MemoryBreakerStore()
        self._script: AsyncScript | None = None
        self._script_client: Redis | None = None
        self._last: dict[str, Snapshot] = {}

    # --- BreakerStore ----------------------------------------------------------------------
    async def load(self, name: str, cfg: BreakerConfig, now_ms: int) -> Snapshot:
        client = self._client()
        if client is not None:
            try:
                override = await client.get(keys.breaker_override(name))
            except REDIS_ERRORS as exc:
                self.redis.mark_failed(exc)
            else:
                if override is not None:
                    forced = self._parse_override(name, override)
                    snap = await self.force(name, forced, now_ms) if forced else None
                    await self._delete_override(name)
                    if snap is not None:
                        return snap
        result = await self._run(name, "load", cfg, now_ms)
        if result is not None:
            return result[0]
        return await self._fallback(name).load(name, cfg, now_ms)

    async def acquire(
        self, name: str, cfg: BreakerConfig, now_ms: int
    ) -> tuple[Snapshot, Admission]:
        result = await self._run(name, "acquire", cfg, now_ms)
        if result is not None:
            return result
        return await self._fallback(name).acquire(name, cfg, now_ms)

    async def success(self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool) -> Snapshot:
        result = await self._run(name, "success", cfg, now_ms, probe)
        if result is not None:
            return result[0]
        return await self._fallback(name).success(name, cfg, now_ms, probe)

    async def failure(self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool) -> Snapshot:
        result = await self._run(name, "failure", cfg, now_ms, probe)
        if result is not None:
            return result[0]
        return await self._fallback(name).failure(name, cfg, now_ms, probe)

    async def release(self, name: str, cfg: BreakerConfig, now_ms: int, probe: bool) -> Snapshot:
        result = await self._run(name, "release", cfg, now_ms, probe)
        if result is not None:
            return result[0]
        return await self._fallback(name).release(name, cfg, now_ms, probe)

    async def force(self, name: str, state: BreakerState, now_ms: int) -> Snapshot:
        target = policy.force(state, now_ms)
        result = await self._run(name, "force", _FORCE_CONFIG, now_ms, extra=target)
        if result is not None:
            return result[0]
        return await self._fallback(name).force(name, state, now_ms)

    async def close(self) -> None:
        self._script = None
        self._script_client = None

    # --- internals -------------------------------------------------------------------------
    def _client(self) -> Redis | None:
        return self.redis.client if self.redis.available else None

    def _fallback(self, name: str) -> MemoryBreakerStore:
        if self.memory.peek(name) is None:
            seed = self._last.get(name, policy.CLOSED_SNAPSHOT)
            self.memory.put(name, replace(seed, probes=0))
        return self.memory

    def _script_for(self, client: Redis) -> AsyncScript:
        if self._script is None or self._script_client is not client:
            self._script = client.register_script(BREAKER_LUA)
            self._script_client = client
        return self._script

    @staticmethod
    def _args(
        op: str, cfg: BreakerConfig, now_ms: int, probe: bool, extra: Snapshot | None
    ) -> list[str | int]:
        args: list[str | int] = [
            op,
            now_ms,
            cfg.failure_threshold,
            cfg.success_threshold,
            cfg.timeout_ms,
            cfg.period_ms,
            cfg.half_open_max_calls,
            1 if probe else 0,
            max(cfg.timeout_ms, _MIN_PROBE_TTL_MS),
        ]
        if extra is not None:
            args += [
                extra.state.value,
                ",".join(str(t) for t in extra.failures),
                extra.successes,
                extra.opened_at,
            ]
        return args

    async def _run(
        self,
        name: str,
        op: str,
        cfg: BreakerConfig,
        now_ms: int,
        probe: bool = False,
        extra: Snapshot | None = None,
    ) -> tuple[Snapshot, Admission] | None:
        """One atomic step in Redis; ``None`` when Redis is unavailable (use the fallback)."""
        client = self._client()
        if client is None:
            return None
        script = self._script_for(client)
        hkeys = [keys.breaker(name), keys.breaker_probes(name)]
        try:
            local = self.memory.peek(name)
            if local is not None:
                merged = await script(
                    keys=hkeys, args=self._args("merge", cfg, now_ms, False, local)
                )
                self.memory.discard(name)
                log.info("circuit_breaker_resynced", name=name, redis_state=_text(merged[0]))
            reply = await script(keys=hkeys, args=self._args(op, cfg, now_ms, probe, extra))
        except REDIS_ERRORS as exc:
            self.redis.mark_failed(exc)
            return None
        snap, admission = _parse(reply)
        self._last[name] = snap
        return snap, admission

    @staticmethod
    def _parse_override(name: str, raw: object) -> BreakerState | None:
        text = _text(raw).strip().upper()
        try:
            state = BreakerState(text)
        except ValueError:
            log.warning(
                "circuit_breaker_override_ignored",
                name=name,
                value=text[:32],
                action="SET it to CLOSED, OPEN or HALF_OPEN",
            )
            return None
        log.warning("circuit_breaker_operator_override", name=name, state=state.value)
        return state

    async def _delete_override(self, name: str) -> None:
        client = self._client()
        if client is None:
            return
        try:
            await client.delete(keys.breaker_override(name))
        except REDIS_ERRORS as exc:
            self.redis.mark_failed(exc)
