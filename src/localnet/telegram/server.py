"""The fake Bot API over HTTP: `/bot<token>/<method>` with query, form, multipart or JSON params.

It refuses what api.telegram.org refuses, with the Bot API server's sentences (tdlib/
telegram-bot-api `Client.cpp`, TDLib's `MessageEntity.cpp`): a wrong token (401), a missing
parameter, an unknown chat or callback query, markup that does not parse, a text over 4096
characters or a caption over 1024 (after parsing), `callback_data` over 64 bytes, an edit that
changes nothing, and messages over the flood limits (429 with `parameters.retry_after`).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from localnet.telegram.entities import EmptyText, EntityError, format_text
from localnet.telegram.fake import FakeTelegram
from localnet.telegram.webhook import start_webhook, stop_webhook

FAKE_KEY: web.AppKey[FakeTelegram] = web.AppKey("telegram", FakeTelegram)

TEXT_LIMIT = 4096  # characters (code points) after entity parsing, TDLib's message_text_length_max
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset({"cancel", "typing", "record_video", "upload_video", "record_audio",
                          "record_voice", "upload_audio", "upload_voice", "upload_photo",
                          "upload_document", "choose_sticker", "pick_up_location",
                          "find_location", "record_video_note", "upload_video_note"})  # fmt: skip
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]*")


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad(description: str) -> ApiError:
    """A 400 with the server's prefix and its first letter lowered, as `fail_query_with_error`
    words it (an UPPER_CASE server error is kept as is)."""
    if len(description) >= 2 and (description[1] == "_" or description[1].isupper()):
        return ApiError(400, f"Bad Request: {description}")
    return ApiError(400, f"Bad Request: {description[0].lower()}{description[1:]}")


def _ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def _fail(error: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)


# -- parameters ---------------------------------------------------------------------------------


class Params:
    """A request's parameters as the server reads them: strings (JSON values re-encoded), files."""

    def __init__(self, values: dict[str, Any], files: dict[str, bytes]) -> None:
        self.values = values
        self.files = files

    def text(self, name: str) -> str:
        value = self.values.get(name)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def has(self, name: str) -> bool:
        return name in self.values

    def number(self, name: str) -> int:
        """`td::to_integer`: leading digits, 0 when there are none."""
        match = re.match(r"\s*(-?\d+)", self.text(name))
        return int(match.group(1)) if match else 0

    def flag(self, name: str) -> bool:
        return self.text(name).lower() in ("true", "1")

    def parsed(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, dict | list):
            return value
        try:
            return json.loads(self.text(name))
        except ValueError:
            raise bad(error) from None


async def _params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            values.update(body)
    elif request.method == "POST":
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                values[key] = value
            elif isinstance(value, web.FileField):
                files[key] = value.file.read()
                values.setdefault(key, f"attach://{key}")
    return Params(values, files)


# -- checks shared by the methods ----------------------------------------------------------------


def _chat(fake: FakeTelegram, p: Params, *, name: str = "chat_id") -> int:
    raw = p.text(name).strip()
    if not raw:
        raise ApiError(400, "Bad Request: chat_id is empty")
    match = re.fullmatch(r"-?\d+", raw)
    chat_id = int(raw) if match else 0
    if chat_id not in fake.chats:
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id


def _writable_chat(fake: FakeTelegram, p: Params) -> int:
    chat_id = _chat(fake, p)
    if chat_id in fake.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return chat_id


def _formatted(p: Params, text: str, *, mode_field: str, entities_field: str) -> tuple[str, Any]:
    entities = None
    if p.has(entities_field) and not p.text("parse_mode"):
        entities = p.parsed(entities_field, "can't parse entities JSON object")
        if not isinstance(entities, list):
            raise bad("Expected an Array of MessageEntity")
    try:
        return format_text(text, p.text(mode_field), entities)
    except EntityError as exc:
        raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
    except EmptyText as exc:
        raise bad(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        if str(exc) == "Unsupported parse_mode":
            raise bad("Unsupported parse_mode") from None
        raise bad("Can't parse MessageEntity: wrong entity") from None


def _message_text(p: Params) -> tuple[str, list[dict[str, Any]]]:
    text = p.text("text")
    if not text:
        raise bad("Message text is empty")
    if len(text.encode()) > 1 << 15:
        raise bad("Text is too long")
    plain, entities = _formatted(p, text, mode_field="parse_mode", entities_field="entities")
    if len(plain) > TEXT_LIMIT:
        raise bad("Message is too long")
    return plain, entities


def _caption(p: Params) -> tuple[str, list[dict[str, Any]]]:
    caption = p.text("caption")
    if not caption:
        return "", []
    try:
        plain, entities = _formatted(
            p, caption, mode_field="parse_mode", entities_field="caption_entities"
        )
    except ApiError as exc:
        if exc.description == "Bad Request: text must be non-empty":
            return "", []
        raise
    if len(plain) > CAPTION_LIMIT:
        raise bad("Message caption is too long")
    return plain, entities


def _reply_markup(p: Params) -> dict[str, Any] | None:
    """The inline keyboard (or None), refused as the server refuses it."""
    if not p.text("reply_markup"):
        return None
    markup = p.parsed("reply_markup", "Can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise bad("Object expected as reply markup")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup or None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            prefix = "Can't parse inline keyboard button: "
            if not isinstance(button, dict):
                raise bad(prefix + "expected an Object")
            if "text" not in button:
                raise bad(prefix + 'Can\'t find field "text"')
            if not isinstance(button["text"], str):
                raise bad(prefix + 'Field "text" must be of type String')
            data = button.get("callback_data")
            kinds = ("url", "callback_data", "login_url", "switch_inline_query", "web_app",
                     "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                     "copy_text", "callback_game", "pay")  # fmt: skip
            if not any(button.get(k) for k in kinds):
                raise bad(prefix + "Text buttons are unallowed in the inline keyboard")
            if data is not None and len(str(data).encode()) > CALLBACK_DATA_LIMIT:
                raise bad("BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows} if rows else None


def _reply_to(fake: FakeTelegram, p: Params, chat_id: int) -> dict[str, Any] | None:
    """`reply_parameters` (or the legacy `reply_to_message_id`): the message replied to."""
    allow_without = p.flag("allow_sending_without_reply")
    if p.has("reply_parameters"):
        if not p.text("reply_parameters"):
            return None
        params = p.parsed("reply_parameters", "Can't parse reply parameters JSON object")
        if not isinstance(params, dict):
            raise bad("Object expected as reply parameters")
        if not params:
            return None
        if "message_id" not in params:
            raise bad('Can\'t find field "message_id"')
        if not isinstance(params["message_id"], int):
            raise bad('Field "message_id" must be of type Number')
        message_id = params["message_id"]
        allow_without = bool(params.get("allow_sending_without_reply", False))
        if params.get("chat_id") not in (None, "", chat_id, str(chat_id)):
            raise bad("message to be replied not found")
    else:
        message_id = p.number("reply_to_message_id")
    if message_id <= 0:
        return None
    replied = fake.messages.get((chat_id, message_id))
    if replied is None:
        if allow_without:
            return None
        raise bad("message to be replied not found")
    return replied


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF or WebP, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _photo(fake: FakeTelegram, p: Params) -> list[dict[str, Any]]:
    ref = p.text("photo")
    if not ref:
        raise bad("There is no photo in the request")
    if ref.startswith("attach://"):
        data = p.files.get(ref[len("attach://") :])
        if data is None:
            raise bad("There is no photo in the request")
        size = _image_size(data)
        if size is None:
            raise bad("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise bad("PHOTO_INVALID_DIMENSIONS")
        sizes = fake.new_photo(width, height, len(data))
        fake.files[sizes[0]["file_id"]]["data"] = data  # the uploaded bytes, for tests to read
        return sizes
    known = fake.files.get(ref)
    if known is not None:
        return list(known["sizes"])
    if ref.startswith(("http://", "https://")):
        raise bad("failed to get HTTP URL content")  # the fake fetches no URLs
    raise bad("wrong file identifier/HTTP URL specified")


# -- methods -------------------------------------------------------------------------------------

Handler = Callable[[FakeTelegram, Params], Awaitable[web.Response]]


def _flood(fake: FakeTelegram, chat_id: int) -> None:
    retry = fake.flood_wait(chat_id)
    if retry:
        raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)


async def get_me(fake: FakeTelegram, p: Params) -> web.Response:
    return _ok(fake.get_me())


async def get_updates(fake: FakeTelegram, p: Params) -> web.Response:
    if fake.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
            "to delete the webhook first",
        )
    timeout = min(max(p.number("timeout"), 0), 50)
    if p.text("allowed_updates"):
        fake.set_allowed_updates(_update_types(p))
    return _ok(await fake.wait_for_updates(p.number("offset"), float(timeout)))


def _update_types(p: Params) -> list[str]:
    """The `allowed_updates` JSON array of update type names."""
    allowed = p.parsed("allowed_updates", "Can't parse allowed_updates")
    if not isinstance(allowed, list) or not all(isinstance(t, str) for t in allowed):
        raise bad("Can't parse allowed_updates")
    return allowed


async def send_message(fake: FakeTelegram, p: Params) -> web.Response:
    text, entities = _message_text(p)
    markup = _reply_markup(p)
    chat_id = _writable_chat(fake, p)
    reply_to = _reply_to(fake, p, chat_id)
    _flood(fake, chat_id)
    message = fake.bot_message(chat_id, text, markup, entities=entities, reply_to=reply_to)
    return _ok(message)


async def send_photo(fake: FakeTelegram, p: Params) -> web.Response:
    caption, entities = _caption(p)
    markup = _reply_markup(p)
    chat_id = _writable_chat(fake, p)
    reply_to = _reply_to(fake, p, chat_id)
    sizes = _photo(fake, p)
    _flood(fake, chat_id)
    message = fake.bot_message(chat_id, caption, markup, True, entities=entities,
                               photo_sizes=sizes, reply_to=reply_to)  # fmt: skip
    return _ok(message)


def _edit_target(fake: FakeTelegram, p: Params) -> tuple[tuple[int, int], dict[str, Any]]:
    if p.text("inline_message_id"):
        raise bad("inline messages are not supported by the fake Bot API")
    message_id = max(p.number("message_id"), 0)
    if not p.text("chat_id") and message_id == 0:
        raise bad("Message identifier is not specified")
    chat_id = _chat(fake, p)
    message = fake.messages.get((chat_id, message_id))
    if message is None:
        raise bad("message to edit not found")
    if not message.get("from", {}).get("is_bot"):
        raise bad("message can't be edited")
    return (chat_id, message_id), message


def _finish_edit(
    fake: FakeTelegram, method: str, key: tuple[int, int], old: dict[str, Any],
    new: dict[str, Any], markup: dict[str, Any] | None,
) -> web.Response:  # fmt: skip
    if markup:
        new["reply_markup"] = markup
    else:
        new.pop("reply_markup", None)
    new.pop("edit_date", None)
    if new == {k: v for k, v in old.items() if k != "edit_date"}:
        raise ApiError(400, NOT_MODIFIED)
    return _ok(fake.edit(key, new, method))


def _set_text(message: dict[str, Any], field: str, text: str, entities: list[Any]) -> None:
    entities_field = "entities" if field == "text" else "caption_entities"
    message.pop(entities_field, None)
    if text:
        message[field] = text
    else:
        message.pop(field, None)
    if entities:
        message[entities_field] = entities


async def edit_message_text(fake: FakeTelegram, p: Params) -> web.Response:
    text, entities = _message_text(p)
    markup = _reply_markup(p)
    key, message = _edit_target(fake, p)
    if "text" not in message:
        raise bad("there is no text in the message to edit")
    new = dict(message)
    _set_text(new, "text", text, entities)
    return _finish_edit(fake, "editMessageText", key, message, new, markup)


async def edit_message_caption(fake: FakeTelegram, p: Params) -> web.Response:
    caption, entities = _caption(p)
    markup = _reply_markup(p)
    key, message = _edit_target(fake, p)
    if "photo" not in message:
        raise bad("there is no caption in the message to edit")
    new = dict(message)
    _set_text(new, "caption", caption, entities)
    return _finish_edit(fake, "editMessageCaption", key, message, new, markup)


async def edit_message_reply_markup(fake: FakeTelegram, p: Params) -> web.Response:
    markup = _reply_markup(p)
    key, message = _edit_target(fake, p)
    return _finish_edit(fake, "editMessageReplyMarkup", key, message, dict(message), markup)


async def answer_callback_query(fake: FakeTelegram, p: Params) -> web.Response:
    if not fake.take_callback(p.text("callback_query_id")):
        raise ApiError(400, QUERY_INVALID)
    fake.answered_callbacks.append(dict(p.values))
    return _ok(True)


async def delete_message(fake: FakeTelegram, p: Params) -> web.Response:
    if not p.text("chat_id"):
        raise bad("Chat identifier is not specified")
    message_id = max(p.number("message_id"), 0)
    if message_id == 0:
        raise bad("Message identifier is not specified")
    chat_id = _chat(fake, p)
    if fake.delete(chat_id, message_id) is None:
        raise bad("message to delete not found")
    return _ok(True)


async def get_chat(fake: FakeTelegram, p: Params) -> web.Response:
    chat_id = _chat(fake, p)
    chat = fake.chats[chat_id]
    full = {**chat, "active_usernames": [chat["username"]], "accent_color_id": chat_id % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {"unlimited_gifts": True, "limited_gifts": True,
                                    "unique_gifts": True, "premium_subscription": True,
                                    "gifts_from_channels": True}}  # fmt: skip
    return _ok(full)


async def send_chat_action(fake: FakeTelegram, p: Params) -> web.Response:
    action = p.text("action")
    if action not in CHAT_ACTIONS:
        raise bad("Wrong parameter action in request")
    chat_id = _writable_chat(fake, p)
    fake.chat_actions.append({"chat_id": chat_id, "action": action})
    return _ok(True)


def _scope_key(p: Params) -> str:
    scope = p.parsed("scope", "Can't parse BotCommandScope JSON object") if p.text("scope") else {}
    kind = scope.get("type", "default") if isinstance(scope, dict) else "default"
    return f"{kind}:{p.text('language_code')}"


async def set_my_commands(fake: FakeTelegram, p: Params) -> web.Response:
    commands = p.parsed("commands", "Can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad("Expected an Array of BotCommand")
    checked = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad("Can't parse BotCommand: expected an Object")
        for name in ("command", "description"):
            if not isinstance(command.get(name), str):
                raise bad(f"Can't parse BotCommand: Can't find field \"{name}\"")
        name = command["command"].removeprefix("/").lower()
        if not _BOT_COMMAND.fullmatch(name):
            raise bad("BOT_COMMAND_INVALID")
        if not 1 <= len(command["description"].strip()) <= 256:
            raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        checked.append({"command": name, "description": command["description"]})
    if len(checked) > 100:
        raise bad("BOT_COMMANDS_TOO_MUCH")
    fake.commands[_scope_key(p)] = checked
    return _ok(True)


async def get_my_commands(fake: FakeTelegram, p: Params) -> web.Response:
    return _ok(fake.commands.get(_scope_key(p), []))


async def delete_my_commands(fake: FakeTelegram, p: Params) -> web.Response:
    fake.commands.pop(_scope_key(p), None)
    return _ok(True)


def _webhook_url_allowed(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme == "https" and parts.hostname:
        return True
    # api.telegram.org delivers only to HTTPS; the fake also delivers to plain HTTP on loopback
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


async def set_webhook(fake: FakeTelegram, p: Params) -> web.Response:
    url = p.text("url")
    if not url:
        return await delete_webhook(fake, p)
    if not _webhook_url_allowed(url):
        if url.startswith("http://"):
            raise bad("bad webhook: HTTPS url must be provided for webhook")
        raise bad("invalid webhook URL specified")
    secret = p.text("secret_token")
    if len(secret) > 256:
        raise bad("secret token is too long")
    if not _SECRET.fullmatch(secret):
        raise bad("secret token contains unallowed characters")
    max_connections = min(max(p.number("max_connections") or 40, 1), 100)
    allowed = _update_types(p) if p.text("allowed_updates") else None
    if allowed is not None:
        fake.set_allowed_updates(allowed)  # applies even when the webhook itself is unchanged
    if p.flag("drop_pending_updates"):
        fake.updates.clear()
    same = (url, secret, max_connections) == (
        fake.webhook_url,
        fake.webhook_secret,
        fake.webhook_max_connections,
    )
    if same and not p.flag("drop_pending_updates"):
        return _ok(True, "Webhook is already set")
    fake.webhook_url, fake.webhook_secret = url, secret
    fake.webhook_max_connections = max_connections
    if allowed is not None:
        fake.webhook_allowed_updates = allowed
    fake.webhook_last_error = None
    start_webhook(fake)
    return _ok(True, "Webhook was set")


async def delete_webhook(fake: FakeTelegram, p: Params) -> web.Response:
    if p.flag("drop_pending_updates"):
        fake.updates.clear()
    if not fake.webhook_url:
        return _ok(True, "Webhook is already deleted")
    fake.webhook_url = fake.webhook_secret = ""
    fake.webhook_last_error = None
    stop_webhook(fake)
    return _ok(True, "Webhook was deleted")


async def get_webhook_info(fake: FakeTelegram, p: Params) -> web.Response:
    info: dict[str, Any] = {"url": fake.webhook_url, "has_custom_certificate": False,
                            "pending_update_count": len(fake.updates)}  # fmt: skip
    if fake.webhook_last_error is not None:
        info["last_error_date"], info["last_error_message"] = fake.webhook_last_error
    if fake.webhook_url:
        info["max_connections"] = fake.webhook_max_connections
        info["ip_address"] = "127.0.0.1"
        if fake.webhook_allowed_updates is not None:
            info["allowed_updates"] = fake.webhook_allowed_updates
    return _ok(info)


METHODS: dict[str, Handler] = {
    "getme": get_me,
    "getupdates": get_updates,
    "sendmessage": send_message,
    "sendphoto": send_photo,
    "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption,
    "editmessagereplymarkup": edit_message_reply_markup,
    "answercallbackquery": answer_callback_query,
    "deletemessage": delete_message,
    "getchat": get_chat,
    "sendchataction": send_chat_action,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
}


def _check_token(fake: FakeTelegram, token: str) -> None:
    """The Bot API server's token checks (ClientManager.cpp), then the bot's own token."""
    head = token.split(":", 1)[0]
    if (not token or token[0] == "0" or len(token) > 80 or "/" in token or ":" not in token
            or not head.isdigit()):  # fmt: skip
        raise ApiError(401, "Unauthorized: invalid token specified")
    if fake.token is None:
        fake.token = token
    elif token != fake.token:
        raise ApiError(401, "Unauthorized")


async def _method(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    try:
        _check_token(fake, request.match_info["token"])
        handler = METHODS.get(request.match_info["method"].lower())
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        if fake.fail_next:
            retry = fake.fail_next.pop(0)
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        return await handler(fake, await _params(request))
    except ApiError as error:
        return _fail(error)


async def _stop(app: web.Application) -> None:
    stop_webhook(app[FAKE_KEY])


def create_telegram_app(fake: FakeTelegram) -> web.Application:
    app = web.Application()
    app[FAKE_KEY] = fake
    app.router.add_route("*", "/bot{token}/{method}", _method)
    app.on_cleanup.append(_stop)
    return app
