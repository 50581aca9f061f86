"""The bot under the fake's limits: the real aiogram Bot built as the app builds it paces a chat's
messages under the flood limits, in order, and retries a 429 after its retry_after, a bounded
number of times."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiohttp import web

from localnet.telegram import FakeTelegram, create_telegram_app
from sniper_bot.telegram.bot import build_bot
from sniper_bot.telegram.limits import TelegramLimits
from support.services import free_port

from .helpers import TOKEN, USER


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER)
    runner = web.AppRunner(create_telegram_app(fake))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_burst_to_one_chat_is_queued_under_the_limit_and_arrives_in_order(
    served: tuple[FakeTelegram, str],
) -> None:
    fake, url = served
    bot = build_bot(TOKEN, url)
    try:
        await asyncio.gather(*(bot.send_message(USER, f"notification {i}") for i in range(6)))
    finally:
        await bot.session.close()
    assert [m["text"] for m in fake.inbox(USER)] == [f"notification {i}" for i in range(6)]
    assert fake.flood_refusals == 0  # paced, never refused


async def test_a_429_is_waited_out_and_the_message_still_arrives(
    served: tuple[FakeTelegram, str],
) -> None:
    fake, url = served
    fake.fail_next = [1, 1]
    bot = build_bot(TOKEN, url)
    try:
        await bot.send_message(USER, "your order landed")
        await bot.edit_message_text(
            "your order landed ✅", chat_id=USER, message_id=fake.inbox(USER)[0]["message_id"]
        )
    finally:
        await bot.session.close()
    assert [m["text"] for m in fake.inbox(USER)] == ["your order landed ✅"]


async def test_retries_are_bounded_and_a_long_wait_is_left_to_the_caller(
    served: tuple[FakeTelegram, str],
) -> None:
    fake, url = served
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    session = AiohttpSession(api=TelegramAPIServer.from_base(url))
    session.middleware(TelegramLimits(max_attempts=3, max_wait_s=30, sleep=sleep))
    bot = Bot(TOKEN, session=session)
    try:
        fake.fail_next = [2, 2, 2, 2]
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(USER, "x")
        assert [w for w in waits if w] == [2.0, 2.0]  # three attempts, two waits
        fake.fail_next = [120]
        waits.clear()
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(USER, "y")
        assert [w for w in waits if w] == []
    finally:
        await bot.session.close()
    assert fake.inbox(USER) == []
