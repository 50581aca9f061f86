"""The armed snipe book's Redis channel: every replica publishes what it armed, cancelled or
fired on ``keys.ARMED_CHANNEL`` and applies what the others publish, so their in-memory books
(``sniper_bot.hotpath.book``) stay equal without a database read per launch.

Pub/sub is fire-and-forget: a replica that is not subscribed at that moment (Redis down, a
reconnect, a start) misses the message. So the listener calls ``on_gap`` every time it (re)
subscribes, including a silent resubscription by redis-py's own retry, and the book rebuilds from
the database, which is the durable copy (an arm is committed before it is published). With Redis
gone, ``publish`` returns ``False`` at once without I/O and ``run`` waits for the manager's
reconnect: the local book keeps working and the caller rebuilds it periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog

from sniper_bot.cache import keys
from sniper_bot.cache.redis import REDIS_ERRORS, RedisManager
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchFilter, NonceStatus, SnipeStatus, SnipeTarget

__all__ = [
    "ARMED_EVENT_KINDS",
    "ArmedChannel",
    "ArmedEvent",
    "ArmedEventKind",
    "decode_event",
    "encode_event",
]

log = structlog.get_logger(__name__)

ArmedEventKind = Literal["arm", "cancel", "fire"]
ARMED_EVENT_KINDS: tuple[ArmedEventKind, ...] = ("arm", "cancel", "fire")
_VERSION = 1
_MAX_MESSAGE_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class ArmedEvent:
    """``arm`` carries the whole target (the receivers need no database read); ``cancel`` and
    ``fire`` only its id. ``origin`` is the publishing replica (it ignores its own echo)."""

    kind: ArmedEventKind
    target_id: int
    origin: str
    target: SnipeTarget | None = None

    def __post_init__(self) -> None:
        if self.kind not in ARMED_EVENT_KINDS:
            raise ValueError(
                f"armed event kind must be one of {ARMED_EVENT_KINDS}, not {self.kind!r}"
            )
        if self.kind == "arm" and (self.target is None or self.target.id != self.target_id):
            raise ValueError(f"an arm event carries its target (id {self.target_id})")


def _target_to_dict(t: SnipeTarget) -> dict[str, Any]:
    return {
        "id": t.id,
        "user_id": t.user_id,
        "wallet_id": t.wallet_id,
        "token_mint": t.token_mint,
        "amount_lamports": t.amount_lamports,
        "slippage_bps": t.slippage_bps,
        "priority_fee": t.priority_fee.value,
        "status": t.status.value,
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat(),
        "order_id": t.order_id,
        "fired_at": t.fired_at.isoformat() if t.fired_at else None,
        "error": t.error,
        "creator": t.creator,
        "launch_filter": t.launch_filter.to_dict() if t.launch_filter else None,
        "nonce_account": t.nonce_account,
        "nonce_value": t.nonce_value,
        "nonce_status": t.nonce_status.value if t.nonce_status else None,
    }


def _int(data: dict[str, Any], key: str) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key} must be an integer, got {type(value).__name__}")
    return value


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string or null, got {type(value).__name__}")
    return value


def _target_from_dict(d: dict[str, Any]) -> SnipeTarget:
    fired_at = _opt_str(d, "fired_at")
    nonce_status = _opt_str(d, "nonce_status")
    return SnipeTarget(
        id=_int(d, "id"),
        user_id=_int(d, "user_id"),
        wallet_id=_int(d, "wallet_id"),
        token_mint=_opt_str(d, "token_mint") or "",
        amount_lamports=_int(d, "amount_lamports"),
        slippage_bps=_int(d, "slippage_bps"),
        priority_fee=FeeLevel(d["priority_fee"]),
        status=SnipeStatus(d["status"]),
        created_at=datetime.fromisoformat(d["created_at"]),
        expires_at=datetime.fromisoformat(d["expires_at"]),
        order_id=_opt_str(d, "order_id"),
        fired_at=datetime.fromisoformat(fired_at) if fired_at else None,
        error=_opt_str(d, "error"),
        creator=_opt_str(d, "creator"),
        launch_filter=(
            LaunchFilter.from_dict(d["launch_filter"]) if d.get("launch_filter") else None
        ),
        nonce_account=_opt_str(d, "nonce_account"),
        nonce_value=_opt_str(d, "nonce_value"),
        nonce_status=NonceStatus(nonce_status) if nonce_status else None,
    )


def encode_event(event: ArmedEvent) -> bytes:
    body: dict[str, Any] = {
        "v": _VERSION,
        "kind": event.kind,
        "id": event.target_id,
        "origin": event.origin,
    }
    if event.target is not None:
        body["target"] = _target_to_dict(event.target)
    return json.dumps(body, separators=(",", ":")).encode()


def decode_event(raw: bytes | str) -> ArmedEvent:
    """Strict: ValueError naming what is wrong (version, kind, field) for anything else."""
    if len(raw) > _MAX_MESSAGE_BYTES:
        raise ValueError(f"armed event of {len(raw)} bytes; at most {_MAX_MESSAGE_BYTES}")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"armed event is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("armed event must be a JSON object")
    if data.get("v") != _VERSION:
        raise ValueError(f"armed event version {data.get('v')!r}; this replica reads {_VERSION}")
    origin = data.get("origin")
    if not isinstance(origin, str):
        raise ValueError("armed event origin must be a string")
    target = None
    try:
        if data.get("target") is not None:
            if not isinstance(data["target"], dict):
                raise ValueError("armed event target must be an object")
            target = _target_from_dict(data["target"])
        return ArmedEvent(
            kind=data.get("kind"),  # type: ignore[arg-type]  # checked in __post_init__
            target_id=_int(data, "id"),
            origin=origin,
            target=target,
        )
    except KeyError as exc:
        raise ValueError(f"armed event lacks {exc.args[0]!r}") from None


class _Reconnects:
    """Set when redis-py reconnected the subscription by itself (its retry resubscribes
    silently): messages published in between may be lost, so the listener resyncs."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def on_connect(self, _connection: object) -> None:
        self.event.set()


class ArmedChannel:
    """Publisher and subscriber of ``keys.ARMED_CHANNEL`` on the process's ``RedisManager``."""

    def __init__(
        self,
        manager: RedisManager,
        *,
        channel: str = keys.ARMED_CHANNEL,
        poll_s: float = 0.5,
    ) -> None:
        self._manager = manager
        self.channel = channel
        self._poll_s = poll_s
        self._became_available = asyncio.Event()
        self.subscribed = False
        self.subscriptions = 0  # successful (re)subscriptions, each followed by on_gap
        manager.on_change(self._on_change)

    def _on_change(self, available: bool) -> None:
        if available:
            self._became_available.set()

    async def publish(self, event: ArmedEvent) -> bool:
        """``True`` when Redis took the message; ``False`` (no I/O) while it is unavailable or
        when the call failed (the manager then reconnects in the background)."""
        client = self._manager.client
        if client is None or not self._manager.available:
            return False
        try:
            await client.publish(self.channel, encode_event(event))
        except REDIS_ERRORS as exc:
            self._manager.mark_failed(exc)
            return False
        return True

    async def run(
        self,
        on_event: Callable[[ArmedEvent], None],
        on_gap: Callable[[], Awaitable[None]],
    ) -> None:
        """Apply every event until cancelled; call ``on_gap`` after every (re)subscription."""
        if self._manager.url is None:
            return  # Redis disabled: the caller's periodic rebuild is the only sync
        while True:
            client = self._manager.client
            if client is None or not self._manager.available:
                self._became_available.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._became_available.wait(), self._poll_s)
                continue
            try:
                await self._listen(client, on_event, on_gap)
            except Exception:  # a bug or a bad handler must not end the replica's sync
                log.exception("armed_listener_failed")
                await asyncio.sleep(self._poll_s)

    async def _listen(
        self,
        client: Any,
        on_event: Callable[[ArmedEvent], None],
        on_gap: Callable[[], Awaitable[None]],
    ) -> None:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        watch = _Reconnects()  # redis-py keeps connect callbacks as weak bound methods
        reconnected = watch.event
        connection = None
        try:
            await pubsub.subscribe(self.channel)
            connection = pubsub.connection
            if connection is not None:
                connection.register_connect_callback(watch.on_connect)
            self.subscribed = True
            self.subscriptions += 1
            await self._gap(on_gap)
            while True:
                if reconnected.is_set():
                    reconnected.clear()
                    self.subscriptions += 1
                    await self._gap(on_gap)
                message = await pubsub.get_message(timeout=self._poll_s)
                if message is None:
                    if not self._manager.available:
                        return  # another caller saw Redis fail: resubscribe after reconnect
                    continue
                if message.get("type") != "message":
                    continue
                try:
                    event = decode_event(message["data"])
                except ValueError as exc:
                    log.warning("armed_event_invalid", error=str(exc)[:300])
                    continue
                on_event(event)
        except REDIS_ERRORS as exc:
            self._manager.mark_failed(exc)
        finally:
            self.subscribed = False
            if connection is not None:
                connection.deregister_connect_callback(watch.on_connect)
            with contextlib.suppress(*REDIS_ERRORS):
                await pubsub.aclose()

    @staticmethod
    async def _gap(on_gap: Callable[[], Awaitable[None]]) -> None:
        try:
            await on_gap()
        except Exception:  # the caller's rebuild failed (database down): its timer retries
            log.exception("armed_resync_failed")
