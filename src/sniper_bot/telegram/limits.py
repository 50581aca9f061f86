"""Telegram's size limits, enforced in one place: a request middleware on the ``Bot`` session.

Every message text (send or edit) is at most 4096 characters after entity parsing, every caption
1024 and every callback answer 200; Telegram refuses longer ones, and then the user hears nothing.
Whatever a handler or notifier renders, the request that leaves the bot fits: a longer HTML text
is cut at a character boundary (never inside a tag or an entity), its open tags are closed and an
ellipsis marks the cut. Lengths are counted in UTF-16 code units, as Telegram counts them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageText,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendVideo,
    SendVoice,
)

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import Response, TelegramMethod
    from aiogram.methods.base import TelegramType

__all__ = [
    "CALLBACK_ANSWER_LIMIT",
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "TelegramLimits",
    "fit_html",
    "fit_plain",
    "visible_length",
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
ELLIPSIS = "…"
_TOKEN = re.compile(r"<[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")
_VOID = frozenset({"br"})
_TEXT_METHODS = (SendMessage, EditMessageText)
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


class TelegramLimits(BaseRequestMiddleware):
    """Cut every outgoing text, caption and callback answer to what Telegram accepts."""

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
        return await make_request(bot, method)

    @staticmethod
    def _fit(method: Any, text: str, limit: int) -> str:
        return fit_html(text, limit) if _is_html(method) else fit_plain(text, limit)
