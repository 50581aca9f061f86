"""FSM storage: conversation state that survives Redis vanishing and never goes back in time.

The ``"Session"`` table is the source of truth; Redis holds a copy that is read instead of the
table only while it is provably level with it.

Writes: the database row first, by compare-and-set, with a new version (a hybrid timestamp, see
``SessionRepository``), then the Redis copy, carrying the same version, through a Lua script that
keeps whichever version is higher (so a write that was sent to a paused Redis and runs after it
resumes can never overwrite a newer copy). Clearing a conversation is a write like any other: it
leaves a versioned tombstone (``state`` None, ``data`` {}) that expires with the row, so an old
copy cannot come back.

Reads: one Redis round trip (``MGET`` of the copy and the Redis epoch) while the *primary mode*,
shared through one ``"Session"`` row (``fsm-meta:primary``), says ``redis`` and this process's
lease on that answer is fresh; otherwise the database row.

The mode protocol (every replica runs it; Redis is never trusted on its own word):

- ``db``: Redis may be behind; everyone reads the database.
- ``redis``: every write since the last resync reached Redis, and Redis holds the epoch token the
  resync wrote. A reader trusts Redis for ``lease_s`` after the mode read that showed it, and
  re-reads the mode (one small database read) when half the lease is used, on the read that
  notices: about two database reads a second per process, not one per message.
- A write whose Redis half fails (error, timeout, this process thinks Redis is down) flips the mode
  to ``db`` by compare-and-set and only then returns, after waiting until every lease granted
  before the flip has run out (``lease_s`` after this process first saw the flip; once per
  outage). So no reader anywhere, on any replica, reads a Redis copy older than a completed write.
- A Redis that answers without the epoch (it restarted empty, or was flushed) is not read: the
  database answers and the mode flips to ``db``.
- Resync (in the background, at most every ``resync_interval_s`` per process while Redis answers
  and the mode is not ``redis``): mode ``sync`` with a new epoch token, copy every live database
  row into Redis (higher version wins), write the epoch into Redis, then ``sync`` -> ``redis`` by
  compare-and-set; a write that missed Redis meanwhile flipped the mode to ``db`` and the final
  compare-and-set fails, so the resync is retried later.

Cost: a healthy read is one Redis round trip plus the amortised lease read; a write is a database
read and compare-and-set plus one Redis script call; during an outage reads and writes cost the
database only, and the first write after a flip waits up to ``lease_s``. Assumptions: clocks of
the replicas run at the same rate (leases are measured on each process's monotonic clock, never
compared across machines), every replica that serves Telegram gets a Redis client when any does
(a replica without one writes the database only and cannot flip the mode), and a Redis restored
from an older snapshot of the same epoch is not detected (run it without persistence, or flush).
When the database is unreachable, reads fail rather than trust a Redis copy that may be stale.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey

__all__ = ["REDIS_WRITE_SCRIPT", "FallbackStorage", "RedisDocStore", "SessionStore"]

log = structlog.get_logger(__name__)

META_KEY = "fsm-meta:primary"
META_TTL_S = 10 * 365 * 86_400.0
FSM_PREFIX = "fsm:"
REDIS_PREFIX = "fsmv:"
REDIS_EPOCH_KEY = "fsmv-epoch"
_CAS_ATTEMPTS = 16
_STUCK_SYNC_S = 30.0

# KEYS[1] the copy; ARGV: version, JSON document, absolute expiry (ms). Keeps the higher version.
REDIS_WRITE_SCRIPT = """
local old = redis.call('GET', KEYS[1])
if old then
  local ok, doc = pcall(cjson.decode, old)
  if ok and type(doc) == 'table' and tonumber(doc['v']) and
      tonumber(doc['v']) >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
"""


class _SessionRecord(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def version(self) -> int: ...


class SessionStore(Protocol):
    """The slice of the session repository this storage needs."""

    async def load(self, key: str) -> tuple[_SessionRecord | None, int]: ...

    async def swap(
        self, key: str, expected_version: int, data: Mapping[str, Any], ttl_s: float
    ) -> _SessionRecord | None: ...

    async def scan(self, prefix: str) -> list[Any]: ...


class RedisDocStore:
    """The Redis copy: one JSON document ``{"v", "state", "data"}`` per conversation."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def read(self, key: str) -> tuple[str | None, dict[str, Any] | None]:
        """``(epoch, document)`` in one round trip."""
        epoch, raw = await self._client.mget(REDIS_EPOCH_KEY, REDIS_PREFIX + key)
        doc = json.loads(raw) if raw is not None else None
        return (epoch.decode() if isinstance(epoch, bytes) else epoch), doc

    async def write(self, key: str, doc: Mapping[str, Any], expires_at: datetime) -> None:
        pxat = int(expires_at.timestamp() * 1000)
        payload = json.dumps(dict(doc), separators=(",", ":"))
        await self._client.eval(REDIS_WRITE_SCRIPT, 1, REDIS_PREFIX + key, doc["v"], payload, pxat)

    async def set_epoch(self, token: str) -> None:
        await self._client.set(REDIS_EPOCH_KEY, token)


@dataclass(frozen=True, slots=True)
class _Meta:
    mode: str = "db"  # db | sync | redis
    epoch: str | None = None
    period: int = 0  # how many times Redis became trusted; a lease belongs to one period
    at: str = ""

    @classmethod
    def parse(cls, record: _SessionRecord | None) -> _Meta:
        if record is None:
            return cls()
        d = record.data
        mode, period = str(d.get("mode", "db")), int(d.get("period", 0))
        return cls(mode, d.get("epoch"), period, str(d.get("at", "")))

    def dump(self) -> dict[str, Any]:
        return {"mode": self.mode, "epoch": self.epoch, "period": self.period, "at": self.at}


@dataclass(frozen=True, slots=True)
class _View:
    meta: _Meta
    checked_at: float  # monotonic time the mode read was sent: the lease starts here


def _content(data: Mapping[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
    if not data:
        return None, {}
    state = data.get("state")
    return (str(state) if state is not None else None), dict(data.get("data") or {})


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class FallbackStorage(BaseStorage):
    def __init__(
        self,
        primary: RedisDocStore | None,
        sessions: SessionStore,
        is_available: Callable[[], bool],
        on_failure: Callable[[Exception], None] | None = None,
        *,
        ttl_s: float = 86_400.0,
        lease_s: float = 2.0,
        resync_interval_s: float | None = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._primary = primary
        self._sessions = sessions
        self._is_available = is_available
        self._on_failure = on_failure
        self._ttl_s = ttl_s
        self._lease_s = lease_s
        self._resync_interval_s = resync_interval_s
        self._clock = clock
        self._sleep = sleep
        self._view: _View | None = None
        self._exit_period = 0  # the newest period whose end this process has seen...
        self._exit_seen_at = 0.0  # ...and when it first saw it
        self._refresh_lock = asyncio.Lock()
        self._resync_task: asyncio.Task[None] | None = None
        self._next_resync = float("-inf")

    # --- keys ------------------------------------------------------------------------------
    @staticmethod
    def _key(key: StorageKey) -> str:
        return (
            f"{FSM_PREFIX}{key.bot_id}:{key.chat_id}:{key.user_id}:{key.thread_id or 0}:"
            f"{key.business_connection_id or ''}:{key.destiny}"
        )

    # --- aiogram's interface ---------------------------------------------------------------
    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._update(key, lambda _state, data: (value, data))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        new = dict(data)
        await self._update(key, lambda state, _data: (state, new))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return (await self._read(key))[1]

    async def close(self) -> None:
        task, self._resync_task = self._resync_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # --- reads and writes ------------------------------------------------------------------
    async def _read(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        skey = self._key(key)
        view = await self._trusted_view()
        if view is not None and self._primary is not None:
            try:
                epoch, doc = await self._primary.read(skey)
            except Exception as exc:  # Redis went away mid-call: the database answers
                self._failed(exc)
            else:
                if epoch is not None and epoch == view.meta.epoch:
                    return _content(doc)
                if epoch is None:  # restarted empty or flushed: resync before trusting it again
                    log.warning("fsm_redis_lost_its_data")
                    await self._demote(wait=False)
        record, _ = await self._sessions.load(skey)
        return _content(record.data if record is not None else None)

    async def _update(
        self,
        key: StorageKey,
        change: Callable[[str | None, dict[str, Any]], tuple[str | None, dict[str, Any]]],
    ) -> None:
        skey = self._key(key)
        for _ in range(_CAS_ATTEMPTS):
            record, version = await self._sessions.load(skey)
            state, data = change(*_content(record.data if record is not None else None))
            saved = await self._sessions.swap(
                skey, version, {"state": state, "data": data}, self._ttl_s
            )
            if saved is not None:
                break
        else:
            raise RuntimeError("conversation state kept changing under concurrent writes")
        if self._primary is None:
            return
        if self._is_available():
            doc = {"v": saved.version, "state": state, "data": data}
            try:
                await self._primary.write(skey, doc, saved.expires_at)
                return
            except Exception as exc:  # the copy may be behind now: stop everyone trusting it
                self._failed(exc)
        await self._demote(wait=True)

    # --- the mode protocol -----------------------------------------------------------------
    async def _trusted_view(self) -> _View | None:
        """The current view when Redis may answer this read, else None."""
        if self._primary is None or not self._is_available():
            return None
        view = self._view
        if view is None or self._clock() - view.checked_at >= self._lease_s / 2:
            async with self._refresh_lock:
                view = self._view
                if view is None or self._clock() - view.checked_at >= self._lease_s / 2:
                    view = await self._refresh()
        if view.meta.mode == "redis" and self._clock() < view.checked_at + self._lease_s:
            return view
        self._maybe_resync(view)
        return None

    async def _refresh(self) -> _View:
        sent = self._clock()
        record, _ = await self._sessions.load(META_KEY)
        return self._observe(_Meta.parse(record), sent)

    def _observe(self, meta: _Meta, sent: float) -> _View:
        """Remember the mode as read (or written) by a call sent at ``sent``, which returned now."""
        if meta.mode != "redis" and meta.period > self._exit_period:
            self._exit_period, self._exit_seen_at = meta.period, self._clock()
        view = _View(meta, sent)
        if self._view is None or sent >= self._view.checked_at:
            self._view = view
        return view

    async def _demote(self, *, wait: bool) -> None:
        """Mode ``db`` for every replica; with ``wait``, return once no lease on Redis is left."""
        for _ in range(_CAS_ATTEMPTS):
            sent = self._clock()
            record, version = await self._sessions.load(META_KEY)
            meta = _Meta.parse(record)
            if meta.mode == "db":
                self._observe(meta, sent)
                break
            demoted = _Meta("db", meta.epoch, meta.period, _now_iso())
            if await self._sessions.swap(META_KEY, version, demoted.dump(), META_TTL_S):
                log.warning("fsm_redis_untrusted", was=meta.mode)
                self._observe(demoted, sent)
                break
        else:
            raise RuntimeError("the FSM primary mode kept changing under 16 attempts")
        if wait and self._exit_period > 0:
            delay = self._exit_seen_at + self._lease_s - self._clock()
            if delay > 0:
                await self._sleep(delay)

    def _maybe_resync(self, view: _View) -> None:
        if self._resync_interval_s is None:
            return
        if self._resync_task is not None and not self._resync_task.done():
            return
        now = self._clock()
        if now < self._next_resync:
            return
        if view.meta.mode == "sync" and view.meta.at:
            started = datetime.fromisoformat(view.meta.at)
            if (datetime.now(UTC) - started).total_seconds() < _STUCK_SYNC_S:
                return  # another process is resyncing
        self._next_resync = now + self._resync_interval_s
        self._resync_task = asyncio.get_running_loop().create_task(
            self._resync_quietly(), name="fsm-redis-resync"
        )

    async def _resync_quietly(self) -> None:
        try:
            await self.resync()
        except Exception:  # the database hiccuped: the next read schedules another attempt
            log.warning("fsm_redis_resync_failed", exc_info=True)

    async def resync(self) -> bool:
        """Copy the database into Redis and trust Redis again; True when it is trusted."""
        if self._primary is None or not self._is_available():
            return False
        sent = self._clock()
        record, version = await self._sessions.load(META_KEY)
        meta = _Meta.parse(record)
        if meta.mode == "redis":
            self._observe(meta, sent)
            return True
        syncing = _Meta("sync", uuid.uuid4().hex, meta.period, _now_iso())
        claimed = await self._sessions.swap(META_KEY, version, syncing.dump(), META_TTL_S)
        if claimed is None:
            return False
        copied = 0
        try:
            for row in await self._sessions.scan(FSM_PREFIX):
                state, data = _content(row.data)
                doc = {"v": row.version, "state": state, "data": data}
                await self._primary.write(row.key, doc, row.expires_at)
                copied += 1
            assert syncing.epoch is not None
            await self._primary.set_epoch(syncing.epoch)
        except Exception as exc:
            self._failed(exc)
            return False
        trusted = _Meta("redis", syncing.epoch, meta.period + 1, _now_iso())
        sent = self._clock()
        if await self._sessions.swap(META_KEY, claimed.version, trusted.dump(), META_TTL_S):
            self._observe(trusted, sent)
            log.info("fsm_redis_trusted", copied=copied, period=trusted.period)
            return True
        return False  # a write missed Redis meanwhile (mode flipped): try again later

    def _failed(self, exc: Exception) -> None:
        log.warning("fsm_storage_fallback", error=type(exc).__name__)
        if self._on_failure is not None:
            self._on_failure(exc)
