"""aiogram talks to the fake Bot API: polling, a command, a button press, 429 mapping."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiohttp.test_utils import TestServer

from localnet.telegram import FakeTelegram, create_telegram_app


async def _wait(cond, limit_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(limit_s / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_aiogram_start_and_button_press_round_trip() -> None:
    fake = FakeTelegram()
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        kb = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Buy 0.1", callback_data="buy:0.1")]]
        )
        await message.answer("Choose amount", reply_markup=kb)

    @router.callback_query(F.data.startswith("buy:"))
    async def buy(cb: CallbackQuery) -> None:
        await cb.answer("ok")
        assert isinstance(cb.message, Message)
        await cb.message.edit_text(f"Buying {cb.data}")

    async with TestServer(create_telegram_app(fake)) as server:
        base = str(server.make_url("")).rstrip("/")
        bot = Bot("123456:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
        dp = Dispatcher()
        dp.include_router(router)
        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
        try:
            fake.user_sends(42, "/start")
            await _wait(lambda: len(fake.inbox(42)) == 1)
            card = fake.inbox(42)[0]
            assert card["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "buy:0.1"
            fake.user_presses(42, card["message_id"], "buy:0.1")
            await _wait(lambda: fake.inbox(42)[0]["text"] == "Buying buy:0.1")
            assert fake.answered_callbacks[0]["text"] == "ok"
            fake.fail_next.append(3)
            with pytest.raises(TelegramRetryAfter) as exc:
                await bot.send_message(42, "x")
            assert exc.value.retry_after == 3
        finally:
            await dp.stop_polling()
            await task
            await bot.session.close()
