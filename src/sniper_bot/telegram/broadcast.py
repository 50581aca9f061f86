"""/broadcast: one admin message to every user, at the bot's pace, resumable after a restart.

Sends go one at a time through the bot's session, so the pacer (``telegram/limits.py``) keeps
them under Telegram's limits (``TELEGRAM_SEND_RATE_PER_S`` for all chats together, one a second a
chat) beside the bot's other messages. Progress is in the database (``"Broadcast"``, see
``storage/repositories/broadcasts.py``): each user is claimed before the send, so a restart (or
a second replica) resumes after the last claim and nobody gets the message twice. A user who
blocked the bot (403) is skipped and counted ``blocked``; a chat Telegram refuses (400) counts
``failed``; Telegram away (network, 5xx, a long 429) is retried for the same user.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Literal, Protocol

import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from sniper_bot.control.facade import BroadcastView

Outcome = Literal["sent", "blocked", "failed"]


class BroadcastRecord(Protocol):
    """A ``"Broadcast"`` row (``storage/repositories/broadcasts.py``)."""

    @property
    def id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def created_by(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def cursor(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def blocked(self) -> int: ...
    @property
    def failed(self) -> int: ...


class BroadcastStore(Protocol):
    """The progress store (storage ``BroadcastRepository``, built by the composition root)."""

    async def create(self, text: str, *, by: int) -> BroadcastRecord: ...
    async def get(self, broadcast_id: int) -> BroadcastRecord | None: ...
    async def running(self) -> Sequence[BroadcastRecord]: ...
    async def latest(self) -> BroadcastRecord | None: ...
    async def recipients(self, after_user_id: int, limit: int = ...) -> list[tuple[int, int]]: ...
    async def claim(self, broadcast_id: int, previous: int, user_id: int) -> bool: ...
    async def release(self, broadcast_id: int, user_id: int, previous: int) -> bool: ...
    async def count(self, broadcast_id: int, outcome: Outcome) -> None: ...
    async def finish(self, broadcast_id: int) -> BroadcastRecord | None: ...


__all__ = ["BroadcastRunner", "BroadcastStore"]

log = structlog.get_logger(__name__)

RETRY_MAX_S = 30.0
PAGE = 100


def _view(record: BroadcastRecord) -> BroadcastView:
    return BroadcastView(record.id, record.status, record.total, record.sent, record.blocked,
                         record.failed)  # fmt: skip


class BroadcastRunner:
    """The ``Broadcasts`` side of the facade and the service that sends them."""

    def __init__(self, bot: Bot, store: BroadcastStore) -> None:
        self._bot = bot
        self._store = store
        self._queue: asyncio.Queue[int] = asyncio.Queue()

    async def start(self, text: str, *, by: int) -> BroadcastView:
        record = await self._store.create(text, by=by)
        log.info("broadcast_started", broadcast_id=record.id, total=record.total, by=by)
        self._queue.put_nowait(record.id)
        return _view(record)

    async def latest(self) -> BroadcastView | None:
        record = await self._store.latest()
        return None if record is None else _view(record)

    async def run(self, stop: asyncio.Event) -> None:
        """Resume the broadcasts a stop interrupted, then send each new one as it comes."""
        try:
            for record in await self._store.running():
                self._queue.put_nowait(record.id)
        except Exception as exc:  # the database is away: new ones still come by the queue
            log.warning("broadcast_resume_unavailable", error=type(exc).__name__)
        while not stop.is_set():
            getter = asyncio.ensure_future(self._queue.get())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not getter.done():
                getter.cancel()
                return
            await self._send_all(getter.result(), stop)

    async def _send_all(self, broadcast_id: int, stop: asyncio.Event) -> None:
        record = await self._store.get(broadcast_id)
        if record is None or record.status != "RUNNING":
            return
        cursor, text = record.cursor, record.text
        while not stop.is_set():
            page = await self._store.recipients(cursor, PAGE)
            if not page:
                done = await self._store.finish(broadcast_id)
                if done is not None:
                    await self._report(done)
                return
            for user_id, telegram_id in page:
                if stop.is_set():
                    return
                if not await self._store.claim(broadcast_id, cursor, user_id):
                    log.info("broadcast_taken_over", broadcast_id=broadcast_id)
                    return  # another runner moved the cursor: it carries on
                outcome = await self._send(telegram_id, text, stop)
                if outcome is None:  # stopped before it went out: the next run sends it
                    await self._store.release(broadcast_id, user_id, cursor)
                    return
                await self._store.count(broadcast_id, outcome)
                cursor = user_id

    async def _send(self, chat_id: int, text: str, stop: asyncio.Event) -> Outcome | None:
        delay = 1.0
        while not stop.is_set():
            try:
                await self._bot.send_message(chat_id, text)
                return "sent"
            except TelegramForbiddenError:
                return "blocked"
            except TelegramBadRequest as exc:
                log.info("broadcast_chat_refused", error=exc.message)
                return "failed"
            except Exception as exc:  # Telegram away: the same user again after a pause
                log.warning("broadcast_send_retry", error=type(exc).__name__, delay_s=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_S)
        return None

    async def _report(self, record: BroadcastRecord) -> None:
        log.info("broadcast_done", broadcast_id=record.id, sent=record.sent,
                 blocked=record.blocked, failed=record.failed)  # fmt: skip
        with contextlib.suppress(Exception):
            await self._bot.send_message(record.created_by, render_done(_view(record)))


def render_done(view: BroadcastView) -> str:
    return (f"📣 Broadcast #{view.id} done: {view.sent} sent, {view.blocked} blocked the bot, "
            f"{view.failed} failed (of {view.total} users).")  # fmt: skip
