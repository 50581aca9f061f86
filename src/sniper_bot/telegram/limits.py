"""Telegram's size limits, enforced in one place: a request middleware on the ``Bot`` session.

Every message text (send or edit) is at most 4096 characters after entity parsing, every caption
1024 and every callback answer 200; Telegram refuses longer ones, and then the user hears nothing.
Whatever a handler or notifier renders, the request that leaves the bot fits: a longer HTML text
is cut at a character boundary (never inside a tag or an entity), its open tags are closed and an
ellipsis marks the cut. Lengths are counted in UTF-16 code units (never fewer than Telegram's
characters, so a text that fits here fits there).

Telegram's flood limits, in the same middleware: messages to one chat leave at most about one a
second (bursts of ``CHAT_BURST``) and at most ``BOT_RATE_PER_S`` a second in all, each chat's
messages in the order they were sent (a chat's sends wait in line behind each other). A 429 that
gets through anyway (another replica, a restart, Telegram's own judgement) is retried after its
``retry_after``, up to ``MAX_ATTEMPTS`` times and only while the wait is at most ``MAX_WAIT_S``;
past that the ``TelegramRetryAfter`` reaches the caller (the order outbox tries again later).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    EditMessageCaption,
    EditMessageText,
    ForwardMessage,
    GetUpdates,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVideo,
    SendVoice,
)

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import Response, TelegramMethod
    from aiogram.methods.base import TelegramType

__all__ = [
    "BOT_RATE_PER_S",
    "CALLBACK_ANSWER_LIMIT",
    "CAPTION_LIMIT",
    "CHAT_BURST",
    "CHAT_RATE_PER_S",
    "TEXT_LIMIT",
    "FloodPacer",
    "TelegramLimits",
    "fit_html",
    "fit_plain",
    "visible_length",
]

log = structlog.get_logger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
# Telegram's limits are about 1 message/s per chat with short bursts and 30/s per bot; the bot
# stays one message under the burst and at 25/s, so send latency and jitter never reach them
CHAT_RATE_PER_S = 1.0
CHAT_BURST = 2
BOT_RATE_PER_S = 25.0
MAX_ATTEMPTS = 5
MAX_WAIT_S = 60.0
MAX_CHATS = 10_000  # pacing state kept for at most this many chats (idle ones are forgotten)
ELLIPSIS = "…"
_TOKEN = re.compile(r"<[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")
_VOID = frozenset({"br"})
_TEXT_METHODS = (SendMessage, EditMessageText)
_MESSAGE_METHODS = (  # each puts one new message in a chat (flood-limited per chat)
    SendMessage,
    SendPhoto,
    SendDocument,
    SendVideo,
    SendAnimation,
    SendAudio,
    SendVoice,
    SendSticker,
    SendMediaGroup,
    CopyMessage,
    ForwardMessage,
)
_CAPTION_METHODS = (
    SendPhoto,
    SendDocument,
    SendVideo,
    SendAnimation,
    SendAudio,
    SendVoice,
    EditMessageCaption,
)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_length(html: str) -> int:
    """What Telegram counts of an HTML text: tags are free, an entity is one character."""
    total = 0
    for match in _TOKEN.finditer(html):
        token = match.group()
        if token.startswith("<") and token.endswith(">"):
            continue
        total += 1 if token.startswith("&") and len(token) > 1 else _units(token)
    return total


def fit_plain(text: str, limit: int) -> str:
    """Plain text of at most ``limit`` UTF-16 units (an ellipsis marks a cut)."""
    if _units(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        size = _units(char)
        if used + size > limit - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ELLIPSIS


def fit_html(html: str, limit: int) -> str:
    """Telegram HTML whose visible text is at most ``limit`` units: cut, close open tags, ``…``."""
    if visible_length(html) <= limit:
        return html
    out: list[str] = []
    open_tags: list[str] = []
    used = 0
    for match in _TOKEN.finditer(html):
        token = match.group()
        if token.startswith("<") and token.endswith(">"):
            name_match = _TAG_NAME.match(token)
            name = name_match.group(1).lower() if name_match else ""
            if token.startswith("</"):
                if name in open_tags:
                    while open_tags and open_tags.pop() != name:
                        pass
            elif name and name not in _VOID and not token.endswith("/>"):
                open_tags.append(name)
            out.append(token)
            continue
        size = 1 if token.startswith("&") and len(token) > 1 else _units(token)
        if used + size > limit - 1:
            break
        out.append(token)
        used += size
    out.append(ELLIPSIS)
    out.extend(f"</{name}>" for name in reversed(open_tags))
    return "".join(out)


def _is_html(method: Any) -> bool:
    mode = getattr(method, "parse_mode", None)
    if mode is None:
        return False
    return not isinstance(mode, str) or mode.upper() == "HTML"  # the bot's default is HTML


class _Bucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now

    def book(self, now: float) -> float:
        """Take one token (possibly in the future); seconds until it is there."""
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.last) * self.rate >= self.burst


class FloodPacer:
    """When the next message to a chat may leave: per chat ``chat_rate``/s with bursts of
    ``chat_burst``, and ``bot_rate``/s over all chats. ``reserve`` books a slot and says how
    long to wait for it; a chat's slots are handed out in call order."""

    def __init__(
        self,
        chat_rate: float = CHAT_RATE_PER_S,
        chat_burst: int = CHAT_BURST,
        bot_rate: float = BOT_RATE_PER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chat_rate = chat_rate
        self._chat_burst = float(chat_burst)
        self._clock = clock
        self._bot = _Bucket(bot_rate, bot_rate, clock())
        self._chats: dict[str, _Bucket] = {}

    def reserve(self, chat: str) -> float:
        now = self._clock()
        bucket = self._chats.get(chat)
        if bucket is None:
            if len(self._chats) >= MAX_CHATS:
                self._chats = {k: b for k, b in self._chats.items() if not b.full(now)}
            bucket = self._chats[chat] = _Bucket(self._chat_rate, self._chat_burst, now)
        return max(bucket.book(now), self._bot.book(now))


class TelegramLimits(BaseRequestMiddleware):
    """Cut every outgoing text, caption and callback answer to what Telegram accepts; pace new
    messages under the flood limits; retry a 429 after its ``retry_after`` (bounded)."""

    def __init__(
        self,
        pacer: FloodPacer | None = None,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        max_wait_s: float = MAX_WAIT_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._pacer = pacer or FloodPacer()
        self._max_attempts = max_attempts
        self._max_wait_s = max_wait_s
        self._sleep = sleep
        self._chat_locks: dict[str, asyncio.Lock] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, _TEXT_METHODS) and isinstance(method.text, str):
            method.text = self._fit(method, method.text, TEXT_LIMIT)
        elif isinstance(method, _CAPTION_METHODS) and isinstance(method.caption, str):
            method.caption = self._fit(method, method.caption, CAPTION_LIMIT)
        elif isinstance(method, AnswerCallbackQuery) and isinstance(method.text, str):
            method.text = fit_plain(method.text, CALLBACK_ANSWER_LIMIT)
        if isinstance(method, _MESSAGE_METHODS):
            chat = str(method.chat_id)
            if chat not in self._chat_locks and len(self._chat_locks) >= MAX_CHATS:
                self._chat_locks = {k: v for k, v in self._chat_locks.items() if v.locked()}
            lock = self._chat_locks.setdefault(chat, asyncio.Lock())
            async with lock:  # a chat's messages leave one after the other, in order
                await self._sleep(self._pacer.reserve(chat))
                return await self._with_retries(make_request, bot, method)
        return await self._with_retries(make_request, bot, method)

    async def _with_retries(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if (
                    isinstance(method, GetUpdates)  # the dispatcher backs off on its own
                    or attempt >= self._max_attempts
                    or exc.retry_after > self._max_wait_s
                ):
                    raise
                log.info(
                    "telegram_flood_wait",
                    method=type(method).__name__,
                    retry_after=exc.retry_after,
                    attempt=attempt,
                )
                await self._sleep(float(exc.retry_after))
                attempt += 1

    @staticmethod
    def _fit(method: Any, text: str, limit: int) -> str:
        return fit_html(text, limit) if _is_html(method) else fit_plain(text, limit)
