"""Middlewares: identity scoping, errors as sentences, per-user throttling, metrics."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import structlog
from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, Update

from sniper_bot.control.views import Identity
from sniper_bot.errors import SniperBotError, TemporaryError
from sniper_bot.observability.metrics import Metrics

__all__ = [
    "ErrorMiddleware",
    "IdentityMiddleware",
    "ThrottleMiddleware",
    "UpdateTimingMiddleware",
    "update_command",
]

log = structlog.get_logger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# It cannot know whether the update placed an order (the failure may come after the order row):
# it claims nothing and points to where the truth is.
GENERIC_ERROR = (
    "Something went wrong on our side. If you placed an order, /orders shows what happened; "
    "otherwise try again."
)


# The ``command`` label of ``telegram_update_duration_seconds``: a fixed set, whatever users type.
COMMANDS = frozenset(
    {"start", "help", "home", "positions", "orders", "wallet", "settings", "snipe", "cancel",
     "limit", "dca", "pnl", "copy", "status", "maintenance", "broadcast", "memory",
     "exits", "ladder", "exit"}
)  # fmt: skip
_BUTTONS = {"m": "button_menu", "b": "button_buy", "s": "button_sell", "w": "button_wallet",
            "st": "button_settings", "xp": "button_exits", "xd": "button_exits"}  # fmt: skip
_MINT = re.compile(r"^\s*[1-9A-HJ-NP-Za-km-z]{32,44}\s*$")


def update_command(update: Update) -> str:
    """What an update asks for, as a label: ``start``... for a known command, ``token_card`` for
    a pasted mint, ``button_<kind>`` for a press, else ``command_other``, ``text`` or ``other``."""
    if update.message is not None:
        text = update.message.text
        if text is None:
            return "other"
        if text.startswith("/"):
            name = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
            return name if name in COMMANDS else "command_other"
        return "token_card" if _MINT.match(text) else "text"
    if update.callback_query is not None:
        prefix = (update.callback_query.data or "").split(":", 1)[0]
        return _BUTTONS.get(prefix, "button_other")
    return "other"


class UpdateTimingMiddleware(BaseMiddleware):
    """Outermost on ``dp.update``: each update's handling time (conversation state read, handler,
    reply sent) into ``telegram_update_duration_seconds{command}``."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.perf_counter) -> None:
        self._histogram = metrics.telegram_update_duration_seconds
        self._clock = clock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        started = self._clock()
        try:
            return await handler(event, data)
        finally:
            command = update_command(event) if isinstance(event, Update) else "other"
            self._histogram.labels(command).observe(self._clock() - started)


class IdentityMiddleware(BaseMiddleware):
    """Every handler gets ``ident``: the Telegram user is the identity, nothing else is trusted."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        data["ident"] = Identity(telegram_id=user.id, username=user.username)
        return await handler(event, data)


# KEYS[1] the user's bucket; ARGV rate/s, burst, key TTL (ms). Tokens refill on Redis' own
# clock (TIME), so replicas with skewed clocks share one budget. Returns 1 (take) or 0 (refuse).
_SHARED_BUCKET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]) or burst, tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return ok
"""


class ThrottleMiddleware(BaseMiddleware):
    """Per user, at most ``rate`` updates/s with bursts up to ``burst``, counted separately for
    messages and button presses (a user tapping buttons can still type, and the other way round).

    An update over the limit is not handled, and never silently: a press gets the notice as its
    callback answer; a message gets a reply (at most one a second per user, so a flood does not
    become a flood of replies). A message dropped in one of ``secret_states`` (a PIN, a secret
    key) is deleted too, as its handler would have done.
    """

    def __init__(
        self,
        rate: float = 3.0,
        burst: int = 6,
        clock: Callable[[], float] = time.monotonic,
        *,
        secret_states: Collection[str] = (),
        redis_client: Any = None,
        redis_available: Callable[[], bool] | None = None,
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._secret_states = frozenset(secret_states)
        self._buckets: dict[tuple[str, int], tuple[float, float]] = {}
        self._warned: dict[int, float] = {}
        # replicas share each user's buckets in Redis (one budget, whichever replica Telegram's
        # update reaches); this process's buckets answer while Redis is away
        self._redis = redis_client
        self._redis_available = redis_available or (lambda: redis_client is not None)

    async def allow_shared(self, kind: str, user_id: int) -> bool:
        """``allow`` over every replica: the bucket lives in Redis (its clock, one script call);
        without Redis, or when the call fails, this process's bucket decides."""
        if self._redis is not None and self._redis_available():
            try:
                ttl_ms = int(1000 * (self._burst / self._rate + 1.0))
                allowed = await self._redis.eval(
                    _SHARED_BUCKET, 1, f"tg-throttle:{kind}:{user_id}", self._rate, self._burst,
                    ttl_ms,
                )  # fmt: skip
                return bool(int(allowed))
            except Exception as exc:
                log.info("telegram_throttle_local", error=type(exc).__name__)
        return self.allow(kind, user_id)

    def allow(self, kind: str, user_id: int) -> bool:
        """Take one token from the user's ``kind`` bucket ("message" or "callback")."""
        now = self._clock()
        key = (kind, user_id)
        tokens, last = self._buckets.get(key, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 100_000:
            self._buckets.clear()
            self._warned.clear()
        return True

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        kind = "callback" if isinstance(event, CallbackQuery) else "message"
        if await self.allow_shared(kind, user.id):
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer("Slow down a little.")
        elif isinstance(event, Message):
            secret = data.get("raw_state") in self._secret_states
            if secret:
                with contextlib.suppress(Exception):
                    await event.delete()
            now = self._clock()
            if secret or self._warned.get(user.id, float("-inf")) < now - 1.0:
                self._warned[user.id] = now
                await event.answer(
                    "Slow down a little: that message was not processed"
                    + (" and was deleted; send it again." if secret else ".")
                )
        return None


class ErrorMiddleware(BaseMiddleware):
    """Our errors become their ``user_message``; anything else a generic sentence, logged."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = type(event).__name__.lower()
        try:
            result = await handler(event, data)
        except SniperBotError as exc:
            self._metrics.telegram_updates.labels(kind, "user_error").inc()
            if isinstance(exc, TemporaryError):  # a restart or an outage: no traceback
                log.warning("telegram_temporary_error", kind=kind, error=exc.message)
            await _reply(event, exc.user_message)
            return None
        except Exception:
            self._metrics.telegram_updates.labels(kind, "error").inc()
            log.exception("telegram_handler_failed", kind=kind)
            await _reply(event, GENERIC_ERROR)
            return None
        self._metrics.telegram_updates.labels(kind, "ok").inc()
        return result

    async def on_error(self, event: ErrorEvent) -> bool:
        """``dp.errors`` handler: an error raised before a handler ran (conversation state read
        in the FSM middleware, a filter) gets the same sentence instead of silence."""
        exc = event.exception
        update = event.update
        kind = "callbackquery" if update.callback_query is not None else "message"
        if isinstance(exc, SniperBotError):
            self._metrics.telegram_updates.labels(kind, "user_error").inc()
            log.warning("telegram_update_failed", kind=kind, error=exc.message)
            await _reply(update, exc.user_message)
        else:
            self._metrics.telegram_updates.labels(kind, "error").inc()
            log.error("telegram_update_failed", kind=kind, exc_info=exc)
            await _reply(update, GENERIC_ERROR)
        return True


async def _reply(event: TelegramObject, text: str) -> None:
    from html import escape

    try:
        if isinstance(event, Update):
            event = event.message or event.callback_query or event
        if isinstance(event, CallbackQuery):
            try:  # the handler may have answered already ("Buying…"): Telegram refuses a second
                await event.answer()
            except Exception:
                log.debug("telegram_callback_already_answered")
        target = event.message if isinstance(event, CallbackQuery) else event
        if isinstance(target, Message):
            await target.answer(escape(text))
    except Exception:  # the error reply itself failed (Telegram down): already logged upstream
        log.warning("telegram_error_reply_failed")
