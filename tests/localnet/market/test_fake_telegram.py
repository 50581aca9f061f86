"""aiogram talks to the fake Bot API: polling, a command, a button press, 429 mapping."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
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


def _keyboard(*labels: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=label, callback_data=label) for label in labels]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def test_aiogram_edits_and_deletes_are_recorded_and_the_inbox_shows_the_latest() -> None:
    fake = FakeTelegram()
    fake.add_user(42)  # the user started the bot (Telegram refuses unknown chats)
    async with TestServer(create_telegram_app(fake)) as server:
        base = str(server.make_url("")).rstrip("/")
        bot = Bot("123456:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
        try:
            card = await bot.send_message(42, "Buy?", reply_markup=_keyboard("yes", "no"))
            other = await bot.send_message(42, "Wallet")
            await bot.edit_message_text(
                "Buying...", chat_id=42, message_id=card.message_id, reply_markup=_keyboard("x")
            )
            inbox = fake.inbox(42)
            assert [m["text"] for m in inbox] == ["Buying...", "Wallet"]
            assert inbox[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "x"
            await bot.edit_message_reply_markup(chat_id=42, message_id=card.message_id)
            assert "reply_markup" not in fake.inbox(42)[0]  # no markup given: keyboard removed
            with pytest.raises(TelegramBadRequest, match="not modified"):
                await bot.edit_message_text("Buying...", chat_id=42, message_id=card.message_id)
            await bot.delete_message(42, other.message_id)
            with pytest.raises(TelegramBadRequest, match="not found"):
                await bot.delete_message(42, other.message_id)
            user_message = fake.user_sends(42, "hi")["message"]["message_id"]
            with pytest.raises(TelegramBadRequest, match="can't be edited"):
                await bot.edit_message_text("x", chat_id=42, message_id=user_message)
        finally:
            await bot.session.close()
    assert [m["text"] for m in fake.inbox(42)] == ["Buying..."]
    assert fake.inbox(42)[0]["edit_date"] > 0
    assert [s["method"] for s in fake.sent] == [
        "sendMessage",
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
    ]
    assert fake.deleted == [(42, other.message_id)]
