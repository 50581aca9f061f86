"""Fairness: one chat's queue of replies (a user flooding within the throttle, each message
answered) never holds another chat's reply back. The real aiogram ``Bot`` with the bot's
request middleware against the fake Bot API; only the pace is faster than Telegram's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from localnet.telegram import FakeTelegram, create_telegram_app
from sniper_bot.telegram.limits import FloodPacer, TelegramLimits
from support.services import free_port

pytestmark = pytest.mark.asyncio

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
FLOODER, OTHERS = 6001, (6002, 6003, 6004)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, str]]:
    telegram = FakeTelegram(chat_rate_per_s=1000.0, chat_burst=1000)
    for user in (FLOODER, *OTHERS):
        telegram.add_user(user)
    runner = web.AppRunner(create_telegram_app(telegram))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield telegram, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_flooding_chat_waits_in_its_own_line(fake: tuple[FakeTelegram, str]) -> None:
    telegram, url = fake
    session = AiohttpSession(api=TelegramAPIServer.from_base(url))
    # a chat's pace: 2 at once, then 20/s (Telegram's is 1/s: the same shape, 20 times faster)
    session.middleware(TelegramLimits(FloodPacer(chat_rate=20.0, chat_burst=2)))
    bot = Bot(TOKEN, session=session)
    try:
        flood = [asyncio.create_task(bot.send_message(FLOODER, f"flood {i}")) for i in range(8)]
        await asyncio.sleep(0)  # the flooder's replies are queued first
        others = [asyncio.create_task(bot.send_message(u, "yours")) for u in OTHERS]
        await asyncio.gather(*flood, *others)
    finally:
        await bot.session.close()

    order = [(s["chat"]["id"], s["text"]) for s in telegram.sent]
    assert [text for chat, text in order if chat == FLOODER] == [f"flood {i}" for i in range(8)]
    last_other = max(i for i, (chat, _) in enumerate(order) if chat in OTHERS)
    # every other chat's reply left before the flooder's third (which waited for its pace)
    assert last_other < order.index((FLOODER, "flood 2"))
