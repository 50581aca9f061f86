"""Every outgoing message fits Telegram's limits, whatever was rendered: the real aiogram ``Bot``
(built like the app builds it) against the fake Bot API."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from localnet.telegram import FakeTelegram, create_telegram_app
from sniper_bot.telegram.bot import build_bot
from sniper_bot.telegram.limits import fit_html, visible_length
from support.services import free_port

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
USER = 5001


def _visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, str]]:
    telegram = FakeTelegram()
    telegram.add_user(USER)  # the user started the bot (Telegram refuses unknown chats)
    runner = web.AppRunner(create_telegram_app(telegram))
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield telegram, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_long_message_and_its_edit_are_cut_to_4096_characters(
    fake: tuple[FakeTelegram, str],
) -> None:
    telegram, url = fake
    bot = build_bot(TOKEN, url)
    try:
        long_text = "<b>Last orders</b>\n" + "<code>" + "A&amp;B " * 1100 + "</code>"
        sent = await bot.send_message(USER, long_text)
        await bot.edit_message_text("<i>" + "é" * 5000 + "</i>", chat_id=USER,
                                    message_id=sent.message_id)  # fmt: skip
        await bot.send_message(USER, "short <b>one</b>")
    finally:
        await bot.session.close()

    first, edit, short = (s["text"] for s in telegram.sent)
    assert visible_length(first) <= 4096
    assert first.startswith("<b>Last orders</b>\n<code>A&amp;B ")
    assert first.endswith("…</code>")
    assert _visible(edit) == "é" * 4095 + "…"
    assert edit.startswith("<i>")
    assert edit.endswith("</i>")
    assert short == "short <b>one</b>"


async def test_a_long_callback_answer_is_cut_to_200_characters(
    fake: tuple[FakeTelegram, str],
) -> None:
    telegram, url = fake
    bot = build_bot(TOKEN, url)
    try:
        card = telegram.bot_message(USER, "card")
        press = telegram.user_presses(USER, card["message_id"], "x")["callback_query"]
        await bot.answer_callback_query(press["id"], text="x" * 500)
    finally:
        await bot.session.close()

    (answer,) = telegram.answered_callbacks
    assert answer["text"] == "x" * 199 + "…"


ALPHABET = st.sampled_from(["a", "é", "😀", "&amp;", "&lt;", "<b>", "</b>", "<code>", "</code>",
                            "\n", " ", "<a href=\"https://x.io\">", "</a>"])  # fmt: skip


@given(st.lists(ALPHABET, max_size=400), st.integers(min_value=2, max_value=300))
def test_fit_html_keeps_a_prefix_within_the_limit(parts: list[str], limit: int) -> None:
    text = "".join(parts)
    fitted = fit_html(text, limit)

    assert visible_length(fitted) <= limit
    if visible_length(text) <= limit:
        assert fitted == text
    else:
        shown = _visible(fitted)
        assert shown.endswith("…")
        assert _visible(text).startswith(shown[:-1])
        assert _units(shown) <= limit
