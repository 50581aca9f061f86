"""The fake Bot API over HTTP: `/bot<token>/<method>` with query, form, multipart or JSON params."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from localnet.telegram.fake import BOT_ID, FakeTelegram

FAKE_KEY: web.AppKey[FakeTelegram] = web.AppKey("telegram", FakeTelegram)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _fail(code: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.method == "POST":
        for key, value in (await request.post()).items():
            params[key] = value if isinstance(value, str) else "<file>"
    for key in ("reply_markup", "allowed_updates", "entities"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


EDIT_METHODS = ("editmessagetext", "editmessagecaption", "editmessagereplymarkup")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def _edit(fake: FakeTelegram, method: str, name: str, p: dict[str, Any]) -> web.Response:
    """editMessageText/Caption/ReplyMarkup with the Bot API's rules: only the bot's own messages,
    text edits on text messages and caption edits on media; a missing `reply_markup` removes the
    inline keyboard; an edit that changes nothing is refused."""
    if "inline_message_id" in p:
        return _fail(400, "Bad Request: inline messages are not supported by the fake Bot API")
    try:
        key = (int(p["chat_id"]), int(p["message_id"]))
    except (KeyError, ValueError):
        return _fail(400, "Bad Request: chat_id and message_id are required")
    message = fake.messages.get(key)
    if message is None:
        return _fail(400, "Bad Request: message to edit not found")
    if message.get("from", {}).get("id") != BOT_ID:
        return _fail(400, "Bad Request: message can't be edited")
    new = dict(message)
    if name == "editmessagetext":
        if "text" not in message:
            return _fail(400, "Bad Request: there is no text in the message to edit")
        new["text"] = str(p.get("text", ""))
    elif name == "editmessagecaption":
        if "photo" not in message:
            return _fail(400, "Bad Request: there is no caption in the message to edit")
        new["caption"] = str(p.get("caption", ""))
    if p.get("reply_markup"):
        new["reply_markup"] = p["reply_markup"]
    else:
        new.pop("reply_markup", None)
    new.pop("edit_date", None)
    if new == {k: v for k, v in message.items() if k != "edit_date"}:
        return _fail(400, NOT_MODIFIED)
    return _ok(fake.edit(key, new, method))


async def _method(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    token = request.match_info["token"]
    if ":" not in token:
        return _fail(401, "Unauthorized")
    if fake.fail_next:
        retry = fake.fail_next.pop(0)
        return _fail(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
    name = request.match_info["method"].lower()
    p = await _params(request)
    if name == "getme":
        flags = {"can_join_groups": True, "can_read_all_group_messages": False}
        return _ok({**fake.bot_user(), **flags, "supports_inline_queries": False})
    if name == "getupdates":
        if fake.webhook_url:
            return _fail(409, "Conflict: can't use getUpdates method while webhook is active")
        offset, poll = int(p.get("offset", 0)), float(p.get("timeout", 0))
        return _ok(await fake.wait_for_updates(offset, poll))
    if name in ("sendmessage", "sendphoto"):
        chat_id = int(p["chat_id"])
        text = str(p.get("text") or p.get("caption") or "")
        return _ok(fake.bot_message(chat_id, text, p.get("reply_markup"), name == "sendphoto"))
    if name in EDIT_METHODS:
        return _edit(fake, request.match_info["method"], name, p)
    if name == "answercallbackquery":
        fake.answered_callbacks.append(p)
        return _ok(True)
    if name == "deletemessage":
        removed = fake.delete(int(p["chat_id"]), int(p["message_id"]))
        if removed is None:
            return _fail(400, "Bad Request: message to delete not found")
        return _ok(True)
    if name == "setwebhook":
        fake.webhook_url = str(p.get("url", ""))
        return _ok(True)
    if name == "deletewebhook":
        fake.webhook_url = ""
        return _ok(True)
    if name == "getwebhookinfo":
        return _ok({"url": fake.webhook_url, "has_custom_certificate": False,
                    "pending_update_count": len(fake.updates)})  # fmt: skip
    return _fail(404, "Not Found: method not found")


def create_telegram_app(fake: FakeTelegram) -> web.Application:
    app = web.Application()
    app[FAKE_KEY] = fake
    app.router.add_route("*", "/bot{token}/{method}", _method)
    return app
