"""What a real bot uses beyond plain messages, shaped as the Bot API shapes it: entities parsed
from parse_mode, replies, the full getMe, chat info, commands, chat actions, photos, webhooks."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from localnet.node import Localnet, LocalnetConfig
from support.services import free_port

from .helpers import DATE, TOKEN, USER, Api


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of the given size (one grey colour)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))  # fmt: skip


async def test_html_becomes_text_and_entities_with_utf16_offsets(api: Api) -> None:
    api.fake.add_user(USER)
    sent = await api.ok(
        "sendMessage",
        chat_id=USER,
        text='😀 <b>Buy</b> &lt;now&gt; <a href="https://x.io">chart</a> <code>Mint1</code>\n\n',
        parse_mode="HTML",
    )
    assert sent["text"] == "😀 Buy <now> chart Mint1"
    assert sent["entities"] == [
        {"offset": 3, "length": 3, "type": "bold"},  # the emoji is two UTF-16 units
        {"offset": 13, "length": 5, "type": "text_link", "url": "https://x.io/"},
        {"offset": 19, "length": 5, "type": "code"},
    ]
    # what a test reads: the same message as Telegram HTML again
    assert api.fake.inbox(USER)[-1]["text"] == (
        '😀 <b>Buy</b> &lt;now&gt; <a href="https://x.io/">chart</a> <code>Mint1</code>'
    )


async def test_markdown_v2_becomes_text_and_entities(api: Api) -> None:
    api.fake.add_user(USER)
    sent = await api.ok(
        "sendMessage",
        chat_id=USER,
        text="*Price* 1\\.5 SOL ||secret|| `code` /help",
        parse_mode="MarkdownV2",
    )
    assert sent["text"] == "Price 1.5 SOL secret code /help"
    assert sent["entities"] == [
        {"offset": 0, "length": 5, "type": "bold"},
        {"offset": 14, "length": 6, "type": "spoiler"},
        {"offset": 21, "length": 4, "type": "code"},
        {"offset": 26, "length": 5, "type": "bot_command"},
    ]


async def test_bold_is_split_around_code_as_telegram_stores_it(api: Api) -> None:
    api.fake.add_user(USER)
    sent = await api.ok(
        "sendMessage", chat_id=USER, text="<b>pay <code>1</code> SOL</b>", parse_mode="HTML"
    )
    assert sent["entities"] == [
        {"offset": 0, "length": 4, "type": "bold"},
        {"offset": 4, "length": 1, "type": "code"},
        {"offset": 5, "length": 4, "type": "bold"},
    ]


async def test_reply_parameters_are_honoured(api: Api) -> None:
    question = api.fake.user_sends(USER, "how much?")["message"]
    sent = await api.ok(
        "sendMessage",
        chat_id=USER,
        text="1 SOL",
        reply_parameters={"message_id": question["message_id"]},
    )
    assert sent["reply_to_message"]["message_id"] == question["message_id"]
    assert sent["reply_to_message"]["text"] == "how much?"
    assert await api.error(
        "sendMessage", chat_id=USER, text="x", reply_parameters={"message_id": 9999}
    ) == (400, "Bad Request: message to be replied not found")
    alone = await api.ok(
        "sendMessage",
        chat_id=USER,
        text="x",
        reply_parameters={"message_id": 9999, "allow_sending_without_reply": True},
    )
    assert "reply_to_message" not in alone


async def test_get_me_is_the_full_bot_user_and_dates_come_from_the_clock(api: Api) -> None:
    me = await api.ok("getMe")
    assert me == {
        "id": 7012345678,
        "is_bot": True,
        "first_name": "SniperBot",
        "username": "sniper_test_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "supports_guest_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
        "has_topics_enabled": False,
        "allows_users_to_create_topics": False,
        "can_manage_bots": False,
        "supports_join_request_queries": False,
    }
    update = api.fake.user_sends(USER, "hi")
    assert update["message"]["date"] == DATE
    assert update["message"]["chat"]["first_name"] == f"User{USER}"
    sent = await api.ok("sendMessage", chat_id=USER, text="hello")
    assert (sent["date"], sent["from"]["id"]) == (DATE, me["id"])


def test_localnet_dates_messages_with_the_chains_clock() -> None:
    net = Localnet(LocalnetConfig(seed=3, slot_ms=None))
    net.cluster.advance_slots(25)
    update = net.telegram.user_sends(USER, "hi")
    assert update["message"]["date"] == net.cluster.block_time(net.cluster.slot)


async def test_commands_chat_info_and_chat_actions(api: Api) -> None:
    api.fake.user_sends(USER, "/start")
    commands = [
        {"command": "start", "description": "Wallet"},
        {"command": "help", "description": "How to"},
    ]
    assert await api.ok("setMyCommands", commands=commands) is True
    assert await api.ok("getMyCommands") == commands
    bad = [{"command": "Bad-One", "description": "x"}]
    assert await api.error("setMyCommands", commands=bad) == (
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    )
    chat = await api.ok("getChat", chat_id=USER)
    assert chat["type"] == "private"
    assert chat["first_name"] == f"User{USER}"
    assert {"accent_color_id", "max_reaction_count", "accepted_gift_types"} <= chat.keys()
    assert await api.ok("sendChatAction", chat_id=USER, action="upload_photo") is True
    assert api.fake.chat_actions == [{"chat_id": USER, "action": "upload_photo"}]


async def test_send_photo_uploads_multipart_and_resends_by_file_id(api: Api) -> None:
    api.fake.add_user(USER)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(USER))
    form.add_field("caption", "<b>Chart</b>")
    form.add_field("parse_mode", "HTML")
    form.add_field("photo", png(640, 360), filename="chart.png", content_type="image/png")
    async with api.http.post(f"{api.url}/bot{TOKEN}/sendPhoto", data=form) as resp:
        body = await resp.json()
    assert body["ok"], body
    photo = body["result"]["photo"]
    assert (photo[-1]["width"], photo[-1]["height"]) == (640, 360)
    assert body["result"]["caption"] == "Chart"
    assert body["result"]["caption_entities"] == [{"offset": 0, "length": 5, "type": "bold"}]
    again = await api.ok("sendPhoto", chat_id=USER, photo=photo[-1]["file_id"])
    assert again["photo"] == photo
    assert await api.error("sendPhoto", chat_id=USER, photo="no-such-file") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )
    form = aiohttp.FormData()
    form.add_field("chat_id", str(USER))
    form.add_field("photo", b"not an image", filename="x.png")
    async with api.http.post(f"{api.url}/bot{TOKEN}/sendPhoto", data=form) as resp:
        assert (resp.status, (await resp.json())["description"]) == (
            400,
            "Bad Request: IMAGE_PROCESS_FAILED",
        )


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], Any]], list[int]]]:
    """A webhook endpoint that records what it gets; answers the statuses queued in `replies`."""
    got: list[tuple[dict[str, str], Any]] = []
    replies: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.json()))
        return web.Response(status=replies.pop(0) if replies else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook", got, replies
    finally:
        await runner.cleanup()


async def _until(cond: Any) -> None:
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_webhook_delivery_with_the_secret_token_header(
    api: Api, receiver: tuple[str, list[tuple[dict[str, str], Any]], list[int]]
) -> None:
    url, got, replies = receiver
    status, body = await api.raw("setWebhook", url=url, secret_token="s3cr3t_-token")
    assert (status, body) == (200, {"ok": True, "result": True, "description": "Webhook was set"})
    assert await api.error("getUpdates") == (
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
    )
    replies.append(500)  # the first delivery fails: the update stays pending and is retried
    update = api.fake.user_sends(USER, "/start")
    await _until(lambda: len(got) == 1)
    info = await api.ok("getWebhookInfo")
    assert info["url"] == url
    assert (
        info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    )
    await _until(lambda: len(got) == 2)
    headers, delivered = got[1]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t_-token"
    assert delivered == update
    await _until(lambda: not api.fake.updates)
    assert (await api.ok("getWebhookInfo"))["pending_update_count"] == 0

    assert await api.error("setWebhook", url=url, secret_token="bad token!") == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    assert await api.error("setWebhook", url="http://example.com/hook") == (
        400,
        "Bad Request: bad webhook: HTTPS url must be provided for webhook",
    )
    status, body = await api.raw("deleteWebhook")
    assert body["description"] == "Webhook was deleted"
    assert await api.ok("getUpdates") == []
    assert (await api.ok("getWebhookInfo")) == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }
