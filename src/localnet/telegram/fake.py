"""The state of a fake Telegram: one bot, scripted users, the update queue, every bot message.

Messages are stored as the Bot API returns them (text without markup plus `entities`, UTF-16
offsets); `inbox`, `inbox_view` and `sent` show their text as Telegram HTML regenerated from the
entities (what aiogram's `html_text` gives), which is what tests compare against.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localnet.telegram.entities import to_html

BOT_ID = 123456
BOT_FIRST_NAME = "SniperBot"
# the 1 s / 30 s flood limits of https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
CHAT_RATE_PER_S = 1.0
CHAT_BURST = 3
BOT_RATE_PER_S = 30.0
BOT_BURST = 30
CALLBACK_TTL_S = 15.0  # an unanswered button press expires (Telegram stops the client's spinner)
# https://core.telegram.org/bots/api#getupdates `allowed_updates`: every Update field; an empty list
# (or never set) means all of them except these three
UPDATE_TYPES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost",
})  # fmt: skip
DEFAULT_UPDATE_TYPES = UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}


class _Bucket:
    """A token bucket: ``take()`` spends one token or says how long until one is there."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.last = now

    def wait(self, now: float) -> float:
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
        self.last = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class FakeTelegram:
    """One bot. ``token``: its token; ``None`` lets the first well-formed token that calls the
    fake become it (as if @BotFather had just issued it), every other token then gets 401.
    ``clock``: Unix time for message dates (Localnet passes the chain's block time);
    ``monotonic``: the flood-control and callback-expiry clock."""

    bot_username: str = "sniper_test_bot"
    token: str | None = None
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    chat_rate_per_s: float = CHAT_RATE_PER_S
    chat_burst: int = CHAT_BURST
    bot_rate_per_s: float = BOT_RATE_PER_S
    bot_burst: int = BOT_BURST
    callback_ttl_s: float = CALLBACK_TTL_S
    updates: list[dict[str, Any]] = field(default_factory=list)  # pending (not confirmed)
    sent: list[dict[str, Any]] = field(default_factory=list)  # every bot call that sends/edits
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    answered_callbacks: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[tuple[int, int]] = field(default_factory=list)  # (chat_id, message_id)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)  # users who started the bot
    blocked: set[int] = field(default_factory=set)  # users who blocked the bot
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # scope -> commands
    chat_actions: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file_id -> photo sizes
    flood_refusals: int = 0  # 429s answered because of the flood limits
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_max_connections: int = 40
    webhook_allowed_updates: list[str] | None = None
    # the bot's `allowed_updates` (getUpdates / setWebhook; kept until the next call that gives it)
    allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
    dropped_updates: int = 0  # updates of a type the bot did not allow (never delivered)
    webhook_last_error: tuple[int, str] | None = None  # (date, message)
    webhook_deliveries: list[dict[str, Any]] = field(default_factory=list)  # headers + update
    webhook_failures: list[dict[str, Any]] = field(default_factory=list)  # update_id + error
    fail_next: list[int] = field(default_factory=list)  # retry_after seconds for the next calls
    _pending_callbacks: dict[str, float] = field(default_factory=dict)  # id -> pressed at
    _chat_buckets: dict[int, _Bucket] = field(default_factory=dict)
    _bot_bucket: _Bucket | None = None
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100_000_001))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _callback_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _file_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new: asyncio.Event | None = None
    _webhook_task: asyncio.Task[None] | None = None

    # -- identities ------------------------------------------------------------------------------
    @property
    def bot_id(self) -> int:
        """The bot's user id: the number before the colon of its token, as in Telegram."""
        if self.token is None:
            return BOT_ID
        return int(self.token.split(":", 1)[0])

    def bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": BOT_FIRST_NAME,
                "username": self.bot_username}  # fmt: skip

    def get_me(self) -> dict[str, Any]:
        """getMe's full `User` (the bot's settings in @BotFather: no groups, no inline mode)."""
        return {**self.bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "supports_guest_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False,
                "has_topics_enabled": False, "allows_users_to_create_topics": False,
                "can_manage_bots": False, "supports_join_request_queries": False}  # fmt: skip

    @staticmethod
    def user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}",
                "username": f"user{user_id}", "language_code": "en"}  # fmt: skip

    @staticmethod
    def private_chat(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "first_name": f"User{user_id}", "username": f"user{user_id}",
                "type": "private"}  # fmt: skip

    def add_user(self, user_id: int) -> None:
        """The user opened the bot (pressed Start): from now on the bot may write to them."""
        self.chats.setdefault(user_id, self.private_chat(user_id))
        self.blocked.discard(user_id)

    def user_blocks(self, user_id: int) -> None:
        """The user blocked the bot: sends to them get 403 "bot was blocked by the user"."""
        self.blocked.add(user_id)

    def now(self) -> int:
        return int(self.clock())

    # -- what users do -----------------------------------------------------------------------------
    def set_allowed_updates(self, types: list[str]) -> None:
        """What `allowed_updates` does: from now on only these update types are queued (an empty
        list: the default set); updates queued before stay, as Telegram's server keeps them.
        Unknown names are ignored, as Telegram ignores them."""
        wanted = frozenset(types) & UPDATE_TYPES
        self.allowed_updates = wanted or DEFAULT_UPDATE_TYPES

    def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        if not set(payload) & self.allowed_updates:
            self.dropped_updates += 1  # Telegram drops it on arrival: the bot never sees it
            return update
        self.updates.append(update)
        if self._new is not None:
            self._new.set()
        return update

    def user_sends(self, user_id: int, text: str) -> dict[str, Any]:
        self.add_user(user_id)
        mid = next(self._message_ids)
        message: dict[str, Any] = {"message_id": mid, "from": self.user(user_id),
                                   "chat": self.private_chat(user_id), "date": self.now(),
                                   "text": text}  # fmt: skip
        if text.startswith("/"):
            length = len(text.split()[0].encode("utf-16-le")) // 2
            message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        self.messages[(user_id, mid)] = message
        return self._push({"message": message})

    def user_presses(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        message = self.messages.get((user_id, message_id))
        if message is None:
            raise KeyError(f"user {user_id} has no message {message_id}")
        self.add_user(user_id)
        query_id = str(next(self._callback_ids))
        self._pending_callbacks[query_id] = self.monotonic()
        callback = {"id": query_id, "from": self.user(user_id), "message": message,
                    "chat_instance": str(user_id), "data": data}  # fmt: skip
        return self._push({"callback_query": callback})

    # -- what the bot does (the server checked the Bot API's rules) --------------------------------
    def flood_wait(self, chat_id: int) -> int:
        """0 when a message to ``chat_id`` may go now (and books it), else the retry_after."""
        now = self.monotonic()
        if self._bot_bucket is None:
            self._bot_bucket = _Bucket(self.bot_rate_per_s, self.bot_burst, now)
        chat = self._chat_buckets.get(chat_id)
        if chat is None:
            chat = self._chat_buckets[chat_id] = _Bucket(self.chat_rate_per_s, self.chat_burst, now)
        wait = max(chat.wait(now), self._bot_bucket.wait(now))
        if wait > 0:
            self.flood_refusals += 1
            return max(1, math.ceil(wait))
        chat.take()
        self._bot_bucket.take()
        return 0

    def take_callback(self, query_id: str) -> bool:
        """Answer a pending press once, within ``callback_ttl_s`` of the press."""
        pressed = self._pending_callbacks.pop(query_id, None)
        return pressed is not None and self.monotonic() - pressed <= self.callback_ttl_s

    def bot_message(
        self,
        chat_id: int,
        text: str,
        reply_markup: Any = None,
        photo: bool = False,
        *,
        entities: list[dict[str, Any]] | None = None,
        photo_sizes: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        mid = next(self._message_ids)
        chat = self.chats.get(chat_id) or self.private_chat(chat_id)
        message: dict[str, Any] = {"message_id": mid, "from": self.bot_user(), "chat": chat,
                                   "date": self.now()}  # fmt: skip
        if reply_to is not None:
            inner = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
            message["reply_to_message"] = inner
        if photo:
            message["photo"] = photo_sizes or [self.new_photo(1, 1)[0]]
            if text:
                message["caption"] = text
                if entities:
                    message["caption_entities"] = entities
        else:
            message["text"] = text
            if entities:
                message["entities"] = entities
        if reply_markup:
            message["reply_markup"] = reply_markup
        self.messages[(chat_id, mid)] = message
        self.sent.append({"method": "sendPhoto" if photo else "sendMessage", **self.view(message)})
        return message

    def new_photo(self, width: int, height: int, size: int = 0) -> list[dict[str, Any]]:
        """Photo sizes for an uploaded image; its file_id can be sent again."""
        n = next(self._file_ids)
        file_id = f"AgACAgIAAxkBAAI{n:08d}fake"
        sizes = [{"file_id": file_id, "file_unique_id": f"AQAD{n:08d}", "file_size": size,
                  "width": width, "height": height}]  # fmt: skip
        self.files[file_id] = {"sizes": sizes}
        return sizes

    def edit(self, key: tuple[int, int], new: dict[str, Any], method: str) -> dict[str, Any]:
        """Replace a message with its edited state (the server checked the Bot API's rules)."""
        new["edit_date"] = self.now()
        self.messages[key] = new
        self.sent.append({"method": method, **self.view(new)})
        return new

    def delete(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Remove a message from the chat; the call is recorded in `sent` and `deleted`."""
        removed = self.messages.pop((chat_id, message_id), None)
        if removed is not None:
            self.sent.append({"method": "deleteMessage", **self.view(removed)})
            self.deleted.append((chat_id, message_id))
        return removed

    # -- what tests read ---------------------------------------------------------------------------
    @staticmethod
    def view(message: dict[str, Any]) -> dict[str, Any]:
        """The message with its text/caption as Telegram HTML regenerated from its entities."""
        shown = dict(message)
        if "text" in message and message.get("from", {}).get("is_bot"):
            shown["text"] = to_html(message["text"], message.get("entities"))
        if "caption" in message:
            shown["caption"] = to_html(message["caption"], message.get("caption_entities"))
        return shown

    def inbox(self, user_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to this user, in their current state: edits applied, deleted
        ones gone, oldest first (Bot API `Message` objects, text shown as HTML)."""
        return [self.view(m) for (chat, _), m in sorted(self.messages.items())
                if chat == user_id and m.get("from", {}).get("is_bot")]  # fmt: skip

    def inbox_view(self, user_id: int) -> list[dict[str, Any]]:
        """`GET /telegram/users/{id}/inbox`: the inbox with `reply_markup` (null when the message
        has no keyboard), `text` (the caption for photos) and `edited` always present."""
        return [{**m, "text": m.get("text", m.get("caption", "")),
                 "reply_markup": m.get("reply_markup"), "edited": "edit_date" in m}
                for m in self.inbox(user_id)]  # fmt: skip

    # -- delivery ----------------------------------------------------------------------------------
    def confirm(self, offset: int) -> None:
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    async def wait_for_updates(self, offset: int, poll_seconds: float) -> list[dict[str, Any]]:
        self.confirm(offset)
        if not self.updates and poll_seconds > 0:
            self._new = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), poll_seconds)
        return list(self.updates[:100])

    def wake(self) -> None:
        if self._new is not None:
            self._new.set()
