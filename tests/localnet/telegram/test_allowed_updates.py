"""`allowed_updates` as Telegram applies it (issue 13): given to getUpdates or setWebhook it is
kept for the following calls until another one gives it, and updates of other types are dropped
when they arrive (never delivered later); an empty list means the default set. Checked with the
real aiogram `Bot`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from localnet.telegram import FakeTelegram, create_telegram_app
from support.services import free_port

from .helpers import TOKEN, USER


@pytest.fixture
async def bot_and_fake() -> AsyncIterator[tuple[Bot, FakeTelegram]]:
    fake = FakeTelegram(token=TOKEN)
    runner = web.AppRunner(create_telegram_app(fake))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    server = TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")
    bot = Bot(TOKEN, session=AiohttpSession(api=server))
    try:
        yield bot, fake
    finally:
        await bot.session.close()
        await runner.cleanup()


def _kinds(updates: list[object]) -> list[str]:
    return [
        "message" if u.message is not None else "callback_query"  # type: ignore[attr-defined]
        for u in updates
    ]


async def test_allowed_updates_persist_across_calls_and_drop_other_types(
    bot_and_fake: tuple[Bot, FakeTelegram],
) -> None:
    bot, fake = bot_and_fake
    shown = fake.user_sends(USER, "/start")
    first = await bot.get_updates(allowed_updates=["callback_query"], timeout=0)
    # queued before the call: still delivered, as Telegram's server keeps it
    assert [u.update_id for u in first] == [shown["update_id"]]
    offset = first[-1].update_id + 1
    card = fake.bot_message(USER, "card", None)
    fake.user_sends(USER, "/orders")  # a message: not allowed any more
    fake.user_presses(USER, card["message_id"], "refresh")
    later = await bot.get_updates(offset=offset, timeout=0)  # no allowed_updates: kept
    assert _kinds(later) == ["callback_query"]
    assert later[0].callback_query is not None
    assert later[0].callback_query.data == "refresh"
    offset = later[-1].update_id + 1
    # dropped on arrival: a later call allowing messages does not bring it back
    again = await bot.get_updates(offset=offset, allowed_updates=[], timeout=0)
    assert again == []
    assert fake.dropped_updates == 1
    fake.user_sends(USER, "/wallet")  # the default set includes messages again
    fake.user_presses(USER, card["message_id"], "sell")
    both = await bot.get_updates(offset=offset, timeout=0)
    assert _kinds(both) == ["message", "callback_query"]


async def test_set_webhook_allowed_updates_also_filter_and_show_in_webhook_info(
    bot_and_fake: tuple[Bot, FakeTelegram],
) -> None:
    bot, fake = bot_and_fake
    await bot.set_webhook("http://127.0.0.1:9/hook", allowed_updates=["message"])
    info = await bot.get_webhook_info()
    assert info.allowed_updates == ["message"]
    await bot.delete_webhook()
    card = fake.bot_message(USER, "card", None)
    fake.user_presses(USER, card["message_id"], "buy")  # not allowed: dropped
    fake.user_sends(USER, "/help")
    updates = await bot.get_updates(timeout=0)
    assert _kinds(updates) == ["message"]
    assert updates[0].message is not None
    assert updates[0].message.text == "/help"


async def test_a_malformed_allowed_updates_is_refused(
    bot_and_fake: tuple[Bot, FakeTelegram],
) -> None:
    bot, fake = bot_and_fake
    status, body = await _raw(bot, fake, {"allowed_updates": "{not json"})
    assert (status, body["description"]) == (400, "Bad Request: can't parse allowed_updates")


async def _raw(bot: Bot, fake: FakeTelegram, form: dict[str, str]) -> tuple[int, dict[str, object]]:
    session = await bot.session.create_session()
    url = bot.session.api.api_url(TOKEN, "getUpdates")
    async with session.post(url, data=form) as resp:
        return resp.status, await resp.json()
