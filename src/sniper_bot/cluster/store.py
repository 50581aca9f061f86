"""The cluster's Redis primitives: fenced leases, the fenced publish, streams, groups, members.

Every write that must not come from a deposed leader is one Lua script that first compares the
lease value with the caller's ``instance|token`` (``token`` a fencing token from ``INCR``: it only
grows, so a leader that lost its lease and was replaced can never write with an old token again,
even when its lease key expired and nobody holds one). The scripts run on one Redis server (the
dynamic ``seen`` keys are not declared in ``KEYS``: not for Redis Cluster).

Keys for a feed ``F`` (prefix ``cluster:``):

    cluster:lease:F        "instance|token", PX = lease
    cluster:token:F        the fencing counter (INCR)
    cluster:events:F       the stream every replica reads (fields e=event id, t=token, i=leader,
                           p=payload, l=1 for a launch)
    cluster:launches:F     pump.fun creates only (the work of partitioned execution), one
                           consumer group per partition ("p0".."pN-1")
    cluster:seen:F:<id>    an event id already published (dedup across leaders), PX
    cluster:members        sorted set: instance -> expiry (server milliseconds)

The Redis client is ``cache.RedisManager.client`` (this package never imports ``redis``); every
method raises the client's errors (``cache.redis.REDIS_ERRORS``) for the caller to handle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ClusterStore", "Entry", "Pending"]

_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if not cur then
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
  return token
end
local sep = string.find(cur, '|', 1, true)
if sep and string.sub(cur, 1, sep - 1) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(cur, sep + 1))
end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: lease, events, launches. ARGV: holder, token, seen prefix, seen ttl ms, maxlen, then
# per event: id, launch flag, payload. Returns -1 when fenced, else one stream id or "" each.
_PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local out = {}
local n = 0
for i = 6, #ARGV, 3 do
  n = n + 1
  local eid, launch, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('SET', ARGV[3] .. eid, '1', 'NX', 'PX', ARGV[4]) then
    out[n] = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
      'e', eid, 't', ARGV[2], 'i', ARGV[1], 'l', launch, 'p', payload)
    if launch == '1' then
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'e', eid, 't', ARGV[2], 'p', payload)
    end
  else
    out[n] = ''
  end
end
return out
"""

# KEYS: members. ARGV: instance, ttl ms. Returns the live members (server time).
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry: its id, the event id, the leader's fencing token, the payload."""

    id: str
    event_id: str
    token: int
    payload: bytes
    launch: bool = False

    @property
    def ms(self) -> int:
        """Redis server milliseconds when the entry was added (the id's first part)."""
        return int(self.id.split("-", 1)[0])


@dataclass(frozen=True, slots=True)
class Pending:
    id: str
    consumer: str
    idle_ms: int
    deliveries: int


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry(raw_id: Any, fields: Any) -> Entry:
    data = {_text(k): v for k, v in dict(fields).items()}
    payload = data.get("p", b"")
    return Entry(
        _text(raw_id),
        _text(data.get("e", b"")),
        int(_text(data.get("t", b"0")) or 0),
        payload if isinstance(payload, bytes) else str(payload).encode(),
        _text(data.get("l", b"0")) == "1",
    )


class ClusterStore:
    """The scripts and commands of the cluster over one Redis client."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "cluster",
        maxlen: int = 100_000,
        seen_ttl_ms: int = 600_000,
    ) -> None:
        if maxlen <= 0 or seen_ttl_ms <= 0:
            raise ValueError(f"maxlen and seen_ttl_ms must be > 0, got {maxlen}, {seen_ttl_ms}")
        self.client = client
        self.prefix = prefix
        self.maxlen = maxlen
        self.seen_ttl_ms = seen_ttl_ms
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._publish = client.register_script(_PUBLISH)
        self._heartbeat = client.register_script(_HEARTBEAT)

    # -- key names ---------------------------------------------------------------------------
    def lease_key(self, feed: str) -> str:
        return f"{self.prefix}:lease:{feed}"

    def token_key(self, feed: str) -> str:
        return f"{self.prefix}:token:{feed}"

    def events_key(self, feed: str) -> str:
        return f"{self.prefix}:events:{feed}"

    def launches_key(self, feed: str) -> str:
        return f"{self.prefix}:launches:{feed}"

    @property
    def members_key(self) -> str:
        return f"{self.prefix}:members"

    # -- leases --------------------------------------------------------------------------------
    async def acquire(self, feed: str, instance: str, ttl_ms: int) -> int:
        """The fencing token when ``instance`` holds (or now took) the lease, else 0."""
        keys = [self.lease_key(feed), self.token_key(feed)]
        return int(await self._acquire(keys=keys, args=[instance, ttl_ms]))

    async def renew(self, feed: str, instance: str, token: int, ttl_ms: int) -> bool:
        holder = f"{instance}|{token}"
        return bool(await self._renew(keys=[self.lease_key(feed)], args=[holder, ttl_ms]))

    async def release(self, feed: str, instance: str, token: int) -> bool:
        holder = f"{instance}|{token}"
        return bool(await self._release(keys=[self.lease_key(feed)], args=[holder]))

    async def holder(self, feed: str) -> tuple[str, int] | None:
        raw = await self.client.get(self.lease_key(feed))
        if raw is None:
            return None
        instance, _, token = _text(raw).rpartition("|")
        return instance, int(token)

    # -- the fenced publish ----------------------------------------------------------------------
    async def publish(
        self, feed: str, instance: str, token: int, events: Sequence[tuple[str, bool, bytes]]
    ) -> list[str] | None:
        """XADD each ``(event id, is launch, payload)`` not published before, only while
        ``instance|token`` is the lease's value. ``None``: refused (fenced), nothing written;
        else one stream id per event (``""``: a duplicate, dropped)."""
        args: list[Any] = [
            f"{instance}|{token}", token, f"{self.prefix}:seen:{feed}:", self.seen_ttl_ms,
            self.maxlen,
        ]  # fmt: skip
        for event_id, launch, payload in events:
            args += [event_id, "1" if launch else "0", payload]
        keys = [self.lease_key(feed), self.events_key(feed), self.launches_key(feed)]
        result = await self._publish(keys=keys, args=args)
        if isinstance(result, int):
            return None
        return [_text(r) for r in result]

    # -- reading -------------------------------------------------------------------------------
    async def read(
        self, feed: str, after: str, *, count: int = 500, block_ms: int = 200
    ) -> list[Entry]:
        """Entries of the events stream after id ``after`` (``"$"``: only new ones)."""
        answer = await self.client.xread(
            {self.events_key(feed): after}, count=count, block=block_ms
        )
        return [_entry(i, f) for _, entries in answer or [] for i, f in entries]

    async def last_id(self, feed: str) -> str:
        """The newest entry id of the events stream (``0-0`` when empty)."""
        newest = await self.client.xrevrange(self.events_key(feed), count=1)
        return _text(newest[0][0]) if newest else "0-0"

    async def length(self, feed: str) -> int:
        return int(await self.client.xlen(self.events_key(feed)))

    # -- consumer groups (partitioned execution) ---------------------------------------------
    async def ensure_groups(self, feed: str, partitions: int) -> None:
        """One group per partition on the launches stream, created at its beginning."""
        key = self.launches_key(feed)
        existing = {
            _text(g.get("name", b"") if isinstance(g, dict) else g[1])
            for g in await self._groups(key)
        }
        for p in range(partitions):
            name = f"p{p}"
            if name in existing:
                continue
            try:
                await self.client.xgroup_create(key, name, id="0", mkstream=True)
            except Exception as exc:  # another replica created it first
                if "BUSYGROUP" not in str(exc):
                    raise

    async def _groups(self, key: str) -> list[Any]:
        try:
            return list(await self.client.xinfo_groups(key))
        except Exception as exc:  # no stream yet
            if "no such key" in str(exc).lower():
                return []
            raise

    async def read_group(
        self, feed: str, partition: int, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Entry]:
        """New entries of partition ``partition``'s group for ``consumer`` (they become pending
        for it until acknowledged)."""
        answer = await self.client.xreadgroup(
            f"p{partition}", consumer, {self.launches_key(feed): ">"}, count=count,
            block=block_ms or None,
        )  # fmt: skip
        return [_entry(i, f) for _, entries in answer or [] for i, f in entries]

    async def ack(self, feed: str, partition: int, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        return int(await self.client.xack(self.launches_key(feed), f"p{partition}", *ids))

    async def pending(self, feed: str, partition: int, count: int = 100) -> list[Pending]:
        rows = await self.client.xpending_range(
            self.launches_key(feed), f"p{partition}", min="-", max="+", count=count
        )
        return [
            Pending(
                _text(r["message_id"]),
                _text(r["consumer"]),
                int(r["time_since_delivered"]),
                int(r["times_delivered"]),
            )
            for r in rows
        ]

    async def claim(
        self, feed: str, partition: int, consumer: str, ids: Sequence[str], min_idle_ms: int
    ) -> list[Entry]:
        """Take pending entries over (XCLAIM: only those still idle ``min_idle_ms``, so two
        claimers never both get one)."""
        if not ids:
            return []
        got = await self.client.xclaim(
            self.launches_key(feed), f"p{partition}", consumer, min_idle_ms, list(ids)
        )
        return [_entry(i, f) for i, f in got if f is not None]

    async def pending_count(self, feed: str, partition: int) -> int:
        summary = await self.client.xpending(self.launches_key(feed), f"p{partition}")
        return int(summary.get("pending", 0)) if isinstance(summary, dict) else 0

    # -- members -----------------------------------------------------------------------------
    async def heartbeat(self, instance: str, ttl_ms: int) -> list[str]:
        """Refresh ``instance``'s membership; every live member (sorted)."""
        live = await self._heartbeat(keys=[self.members_key], args=[instance, ttl_ms])
        return sorted(_text(m) for m in live)

    async def leave(self, instance: str) -> None:
        await self.client.zrem(self.members_key, instance)
