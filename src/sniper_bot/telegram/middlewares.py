"""Middlewares: identity scoping, errors as sentences, per-user throttling, metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from sniper_bot.control.views import Identity
from sniper_bot.errors import SniperBotError
from sniper_bot.observability.metrics import Metrics

__all__ = ["ErrorMiddleware", "IdentityMiddleware", "ThrottleMiddleware"]

log = structlog.get_logger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
GENERIC_ERROR = "Something went wrong on our side. Nothing was lost; please try again."


class IdentityMiddleware(BaseMiddleware):
    """Every handler gets ``ident``: the Telegram user is the identity, nothing else is trusted."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        data["ident"] = Identity(telegram_id=user.id, username=user.username)
        return await handler(event, data)


class ThrottleMiddleware(BaseMiddleware):
    """At most ``rate`` updates/s per user, bursts up to ``burst``; extra ones are dropped."""

    def __init__(
        self, rate: float = 3.0, burst: int = 6, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}
        self._warned: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is not None:
            now = self._clock()
            tokens, last = self._buckets.get(user.id, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - last) * self._rate)
            if tokens < 1.0:
                self._buckets[user.id] = (tokens, now)
                if isinstance(event, CallbackQuery):
                    await event.answer("Slow down a little.")
                elif isinstance(event, Message) and self._warned.get(user.id, 0.0) < now - 1.0:
                    # tell the user (once a second) instead of silently ignoring what they typed
                    self._warned[user.id] = now
                    await event.answer("Slow down a little: that message was not processed.")
                return None
            self._buckets[user.id] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
                self._warned.clear()
        return await handler(event, data)


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
            await _reply(event, exc.user_message)
            return None
        except Exception:
            self._metrics.telegram_updates.labels(kind, "error").inc()
            log.exception("telegram_handler_failed", kind=kind)
            await _reply(event, GENERIC_ERROR)
            return None
        self._metrics.telegram_updates.labels(kind, "ok").inc()
        return result


async def _reply(event: TelegramObject, text: str) -> None:
    from html import escape

    try:
        if isinstance(event, Update):
            event = event.message or event.callback_query or event
        if isinstance(event, Message):
            await event.answer(escape(text))
        elif isinstance(event, CallbackQuery):
            await event.answer()
            if isinstance(event.message, Message):
                await event.message.answer(escape(text))
    except Exception:  # the error reply itself failed (Telegram down): already logged upstream
        log.warning("telegram_error_reply_failed")
