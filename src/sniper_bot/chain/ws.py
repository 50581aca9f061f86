"""PubSub subscriptions that survive bad providers.

``SubscriptionManager`` keeps a registry of subscriptions (logs, program, account, signature) and
one connection loop per chosen endpoint (``redundancy`` endpoints at once). Each loop connects with
an aiohttp heartbeat, (re)subscribes everything registered, reads notifications, and on any drop
reconnects with jittered exponential backoff. A malformed message is counted and skipped; it never
kills the connection. With two endpoints the same event arrives twice: the first copy wins and is
queued, later copies are counted as duplicates with their lag (``lag_s`` per endpoint).

    manager.logs_subscribe("pump", mentions=PUMP_PROGRAM)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(manager.run())
        async for note in manager.notifications(): ...
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog
from solders.pubkey import Pubkey
from solders.signature import Signature

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.types import Commitment
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff
from sniper_bot.resilience.lru import LruCache

__all__ = ["Notification", "SubscriptionManager"]

log = structlog.get_logger(__name__)

_DEDUP_TTL_S = 120.0


@dataclass(frozen=True, slots=True)
class Notification:
    key: str  # the caller's name for the subscription
    kind: str  # "logsNotification", "programNotification", ...
    endpoint: str
    slot: int | None
    value: Any


@dataclass
class _Conn:
    ws: aiohttp.ClientWebSocketResponse
    pending: dict[int, str] = field(default_factory=dict)  # request id -> key
    subs: dict[int, str] = field(default_factory=dict)  # subscription id -> key
    ids: dict[str, int] = field(default_factory=dict)  # key -> subscription id


def _identity(kind: str, key: str, slot: int | None, value: Any) -> Hashable:
    if kind == "logsNotification" and isinstance(value, dict):
        return (key, value.get("signature"))
    if kind == "programNotification" and isinstance(value, dict):
        return (key, value.get("pubkey"), slot)
    if kind == "signatureNotification":
        return (key,)
    return (key, slot, json.dumps(value, sort_keys=True, default=str))


class SubscriptionManager:
    def __init__(
        self,
        endpoints: Sequence[EndpointConfig],
        metrics: Metrics,
        session: aiohttp.ClientSession | None = None,
        *,
        redundancy: int = 1,
        heartbeat_s: float = 15.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        queue_size: int = 10_000,
    ) -> None:
        usable = [e for e in sorted(endpoints, key=lambda e: e.priority) if e.ws_url]
        self._endpoints = usable[: max(1, redundancy)]
        self._metrics = metrics
        self._session = session
        self._heartbeat_s = heartbeat_s
        self._backoff = backoff or Backoff(base_s=0.1, factor=2.0, max_s=10.0, jitter=0.5)
        self._rng = rng or random.Random()
        self._clock = clock
        self._sleep = sleep
        self._registry: dict[str, tuple[str, list[Any]]] = {}
        self._conns: dict[str, _Conn] = {}
        self._queue: asyncio.Queue[Notification] = asyncio.Queue(queue_size)
        self._seen: LruCache[Hashable, tuple[str, float]] = LruCache(50_000, clock)
        self._ids = itertools.count(1)
        self.wins: dict[str, int] = {e.name: 0 for e in self._endpoints}
        self.lag_s: dict[str, list[float]] = {e.name: [] for e in self._endpoints}

    @property
    def endpoint_names(self) -> list[str]:
        return [e.name for e in self._endpoints]

    # ------------------------------------------------------------------------ registry
    async def subscribe(self, key: str, method: str, params: list[Any]) -> None:
        """Register (and send on live connections); re-sent after every reconnect."""
        self._registry[key] = (method, params)
        for conn in list(self._conns.values()):
            await self._send_subscribe(conn, key)

    async def unsubscribe(self, key: str) -> None:
        entry = self._registry.pop(key, None)
        if entry is None:
            return
        method = entry[0].replace("Subscribe", "Unsubscribe")
        for conn in list(self._conns.values()):
            sub_id = conn.ids.pop(key, None)
            if sub_id is not None:
                conn.subs.pop(sub_id, None)
                await self._send(conn, method, [sub_id], None)

    async def logs_subscribe(
        self, key: str, mentions: Pubkey | None = None, commitment: Commitment = "confirmed"
    ) -> None:
        target: Any = "all" if mentions is None else {"mentions": [str(mentions)]}
        await self.subscribe(key, "logsSubscribe", [target, {"commitment": commitment}])

    async def program_subscribe(
        self,
        key: str,
        program: Pubkey,
        filters: Sequence[dict[str, Any]] = (),
        commitment: Commitment = "confirmed",
    ) -> None:
        config: dict[str, Any] = {"encoding": "base64", "commitment": commitment}
        if filters:
            config["filters"] = list(filters)
        await self.subscribe(key, "programSubscribe", [str(program), config])

    async def account_subscribe(
        self, key: str, account: Pubkey, commitment: Commitment = "confirmed"
    ) -> None:
        config = {"encoding": "base64", "commitment": commitment}
        await self.subscribe(key, "accountSubscribe", [str(account), config])

    async def signature_subscribe(
        self, key: str, signature: Signature, commitment: Commitment = "confirmed"
    ) -> None:
        await self.subscribe(
            key, "signatureSubscribe", [str(signature), {"commitment": commitment}]
        )

    # ------------------------------------------------------------------------ output
    async def notifications(self) -> AsyncIterator[Notification]:
        while True:
            yield await self._queue.get()

    async def next(self, timeout_s: float) -> Notification:
        async with asyncio.timeout(timeout_s):
            return await self._queue.get()

    # ------------------------------------------------------------------------ connections
    async def run(self) -> None:
        """One supervised connection loop per endpoint; cancel to stop."""
        own = self._session is None
        session = self._session or aiohttp.ClientSession()
        self._session = session
        try:
            async with asyncio.TaskGroup() as group:
                for ep in self._endpoints:
                    group.create_task(
                        self._connection_loop(ep, session, ep.ws_url or ""),
                        name=f"ws:{ep.name}",
                    )
        finally:
            if own and self._session is not None:
                await self._session.close()
                self._session = None

    async def _connection_loop(
        self, ep: EndpointConfig, session: aiohttp.ClientSession, url: str
    ) -> None:
        attempt = 0
        while not session.closed:  # closed: this process is stopping, nothing to reconnect to
            try:
                async with session.ws_connect(
                    url, heartbeat=self._heartbeat_s, headers=dict(ep.headers)
                ) as ws:
                    conn = _Conn(ws)
                    self._conns[ep.name] = conn
                    log.info("ws_connected", endpoint=ep.name, subscriptions=len(self._registry))
                    for key in list(self._registry):
                        await self._send_subscribe(conn, key)
                    async for msg in ws:
                        if msg.type is aiohttp.WSMsgType.TEXT:
                            attempt = 0
                            self._handle(ep.name, conn, msg.data)
                        elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                            break
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                if session.closed:
                    return
                log.warning("ws_connect_failed", endpoint=ep.name, reason=repr(exc))
            finally:
                self._conns.pop(ep.name, None)
            if session.closed:
                return
            self._metrics.ws_reconnects.labels(endpoint=ep.name).inc()
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            log.info("ws_reconnecting", endpoint=ep.name, delay_s=round(delay, 3))
            await self._sleep(delay)

    async def _send_subscribe(self, conn: _Conn, key: str) -> None:
        entry = self._registry.get(key)
        if entry is not None:
            await self._send(conn, entry[0], entry[1], key)

    async def _send(self, conn: _Conn, method: str, params: list[Any], key: str | None) -> None:
        request_id = next(self._ids)
        if key is not None:
            conn.pending[request_id] = key
        try:
            await conn.ws.send_str(
                json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
            )
        except (aiohttp.ClientError, ConnectionError) as exc:  # the read loop sees the drop
            log.info("ws_send_failed", method=method, reason=repr(exc))

    def _handle(self, endpoint: str, conn: _Conn, text: str) -> None:
        try:
            self._dispatch(endpoint, conn, json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self._metrics.ws_messages.labels(endpoint=endpoint, kind="malformed").inc()
            log.warning("ws_malformed_message", endpoint=endpoint, reason=repr(exc), head=text[:80])

    def _dispatch(self, endpoint: str, conn: _Conn, msg: Any) -> None:
        if not isinstance(msg, dict):
            raise TypeError(f"message is {type(msg).__name__}")
        if "id" in msg and msg["id"] in conn.pending:
            asked = conn.pending.pop(msg["id"])
            sub_id = msg.get("result")
            if isinstance(sub_id, int) and not isinstance(sub_id, bool):
                conn.subs[sub_id] = asked
                conn.ids[asked] = sub_id
            elif msg.get("error") is not None:
                log.warning("ws_subscribe_failed", endpoint=endpoint, key=asked, error=msg["error"])
            return
        kind = msg.get("method")
        if not isinstance(kind, str) or not kind.endswith("Notification"):
            return
        params = msg["params"]
        sub_key = conn.subs.get(params["subscription"])
        if sub_key is None:
            return
        key = sub_key
        result = params["result"]
        slot = result["context"]["slot"] if "context" in result else None
        value = result.get("value", result)
        identity = _identity(kind, key, slot, value)
        now = self._clock()
        first = self._seen.get(identity)
        if first is not None:
            self._metrics.ws_messages.labels(endpoint=endpoint, kind="duplicate").inc()
            self.lag_s.setdefault(endpoint, []).append(now - first[1])
            return
        self._seen.set(identity, (endpoint, now), _DEDUP_TTL_S)
        self._metrics.ws_messages.labels(endpoint=endpoint, kind=kind).inc()
        self.wins[endpoint] = self.wins.get(endpoint, 0) + 1
        if kind == "signatureNotification":  # one-shot: the server cancelled it
            self._registry.pop(key, None)
        try:
            self._queue.put_nowait(Notification(key, kind, endpoint, slot, value))
        except asyncio.QueueFull:
            self._metrics.ws_messages.labels(endpoint=endpoint, kind="dropped").inc()
            log.error("ws_queue_full", endpoint=endpoint, key=key)
