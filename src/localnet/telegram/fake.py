"""The state of a fake Telegram: scripted users, the update queue, every message the bot sends."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any

BOT_ID = 123456
BASE_DATE = 1_735_689_600


@dataclass
class FakeTelegram:
    bot_username: str = "sniper_test_bot"
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # every bot call that sends/edits
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    answered_callbacks: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[tuple[int, int]] = field(default_factory=list)  # (chat_id, message_id)
    webhook_url: str = ""
    fail_next: list[int] = field(default_factory=list)  # retry_after seconds for the next calls
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100_000_001))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _callback_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new: asyncio.Event | None = None

    def bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "SniperBot",
                "username": self.bot_username}  # fmt: skip

    @staticmethod
    def user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}",
                "username": f"user{user_id}", "language_code": "en"}  # fmt: skip

    def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        self.updates.append(update)
        if self._new is not None:
            self._new.set()
        return update

    def user_sends(self, user_id: int, text: str) -> dict[str, Any]:
        mid = next(self._message_ids)
        chat = {"id": user_id, "type": "private", "first_name": f"User{user_id}"}
        message: dict[str, Any] = {"message_id": mid, "from": self.user(user_id), "chat": chat,
                                   "date": BASE_DATE + mid, "text": text}  # fmt: skip
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        self.messages[(user_id, mid)] = message
        return self._push({"message": message})

    def user_presses(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        message = self.messages.get((user_id, message_id))
        if message is None:
            raise KeyError(f"user {user_id} has no message {message_id}")
        callback = {"id": str(next(self._callback_ids)), "from": self.user(user_id),
                    "message": message, "chat_instance": str(user_id), "data": data}  # fmt: skip
        return self._push({"callback_query": callback})

    def bot_message(self, chat_id: int, text: str, reply_markup: Any = None,
                    photo: bool = False) -> dict[str, Any]:  # fmt: skip
        mid = next(self._message_ids)
        message: dict[str, Any] = {"message_id": mid, "from": self.bot_user(),
                                   "chat": {"id": chat_id, "type": "private"},
                                   "date": BASE_DATE + mid}  # fmt: skip
        if photo:
            message["photo"] = [{"file_id": f"photo{mid}", "file_unique_id": f"u{mid}",
                                 "width": 1, "height": 1}]  # fmt: skip
            if text:
                message["caption"] = text
        else:
            message["text"] = text
        if reply_markup:
            message["reply_markup"] = reply_markup
        self.messages[(chat_id, mid)] = message
        self.sent.append({"method": "sendPhoto" if photo else "sendMessage", **message})
        return message

    def edit(self, key: tuple[int, int], new: dict[str, Any], method: str) -> dict[str, Any]:
        """Replace a message with its edited state (the server checked the Bot API's rules)."""
        new["edit_date"] = BASE_DATE + len(self.sent) + 1
        self.messages[key] = new
        self.sent.append({"method": method, **new})
        return new

    def delete(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Remove a message from the chat; the call is recorded in `sent` and `deleted`."""
        removed = self.messages.pop((chat_id, message_id), None)
        if removed is not None:
            self.sent.append({"method": "deleteMessage", **removed})
            self.deleted.append((chat_id, message_id))
        return removed

    def inbox(self, user_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to this user, in their current state: edits applied, deleted
        ones gone, oldest first (Bot API `Message` objects)."""
        return [m for (chat, _), m in sorted(self.messages.items())
                if chat == user_id and m.get("from", {}).get("id") == BOT_ID]  # fmt: skip

    def inbox_view(self, user_id: int) -> list[dict[str, Any]]:
        """`GET /telegram/users/{id}/inbox`: the inbox with `reply_markup` (null when the message
        has no keyboard), `text` (the caption for photos) and `edited` always present."""
        return [{**m, "text": m.get("text", m.get("caption", "")),
                 "reply_markup": m.get("reply_markup"), "edited": "edit_date" in m}
                for m in self.inbox(user_id)]  # fmt: skip

    async def wait_for_updates(self, offset: int, poll_seconds: float) -> list[dict[str, Any]]:
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and poll_seconds > 0:
            self._new = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), poll_seconds)
        return list(self.updates[:100])
