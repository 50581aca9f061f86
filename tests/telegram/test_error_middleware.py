"""The error middleware: our errors reach the user as their sentence, anything else as one
generic sentence without its text; updates are counted by outcome; a failing error reply does not
escape. The real aiogram Dispatcher and Bot against the fake Bot API, updates fed one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, Message, Update
from aiohttp import web

from localnet.telegram import FakeTelegram, create_telegram_app
from sniper_bot.control.views import ControlError
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.telegram.bot import build_bot
from sniper_bot.telegram.middlewares import GENERIC_ERROR, ErrorMiddleware
from support.services import free_port

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
USER = 6001
SECRET = "5Jv1hVtH4q9kPb3Zs8RmC2wXyN7aLdEeFgUuTiOoPp"


@dataclass
class Chat:
    fake: FakeTelegram
    bot: Bot
    dp: Dispatcher
    metrics: Metrics

    async def feed(self, update: dict[str, object]) -> None:
        await self.dp.feed_update(
            self.bot, Update.model_validate(update, context={"bot": self.bot})
        )

    async def says(self, text: str) -> list[str]:
        before = len(self.fake.inbox(USER))
        await self.feed(self.fake.user_sends(USER, text))
        return [m["text"] for m in self.fake.inbox(USER)[before:] if m["from"]["is_bot"]]

    def count(self, kind: str, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "telegram_updates_total", {"kind": kind, "outcome": outcome}
        )
        return value or 0.0


def _router() -> Router:
    router = Router()

    @router.message(F.text == "refused")
    async def refused(message: Message) -> None:
        raise ControlError("internal: user 364", user_message="No such <snipe> & nothing done.")

    @router.message(F.text == "outage")
    async def outage(message: Message) -> None:
        raise TemporaryError("db down", user_message="The database is restarting; try again.")

    @router.message(F.text == "bug")
    async def bug(message: Message) -> None:
        raise RuntimeError(f"KeyError while signing with {SECRET}")

    @router.message(F.text == "fine")
    async def fine(message: Message) -> None:
        await message.answer("done")

    @router.callback_query(F.data == "bug")
    async def pressed_bug(query: CallbackQuery) -> None:
        raise RuntimeError(f"boom {SECRET}")

    @router.callback_query(F.data == "refused")
    async def pressed_refused(query: CallbackQuery) -> None:
        await query.answer("Buying…")  # answered first, then refused: the sentence still comes
        raise ControlError("nope", user_message="Your active wallet holds none of this token.")

    return router


@pytest.fixture
async def chat() -> AsyncIterator[Chat]:
    fake = FakeTelegram()
    runner = web.AppRunner(create_telegram_app(fake))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    bot = build_bot(TOKEN, f"http://127.0.0.1:{port}")
    metrics = Metrics()
    dp = Dispatcher(storage=MemoryStorage())
    errors = ErrorMiddleware(metrics)
    dp.message.middleware(errors)
    dp.callback_query.middleware(errors)
    dp.include_router(_router())
    try:
        yield Chat(fake, bot, dp, metrics)
    finally:
        await bot.session.close()
        await runner.cleanup()


async def test_our_error_reaches_the_user_as_its_sentence_escaped(chat: Chat) -> None:
    assert await chat.says("refused") == ["No such &lt;snipe&gt; &amp; nothing done."]
    assert await chat.says("outage") == ["The database is restarting; try again."]
    assert chat.count("message", "user_error") == 2
    assert chat.count("message", "error") == 0


async def test_an_unexpected_error_gets_the_generic_sentence_and_never_its_text(
    chat: Chat,
) -> None:
    replies = await chat.says("bug")

    assert replies == [GENERIC_ERROR]
    assert all(SECRET not in m.get("text", "") for m in chat.fake.sent)
    assert chat.count("message", "error") == 1
    assert chat.count("message", "user_error") == 0


async def test_a_handler_that_works_is_counted_ok_and_the_next_update_still_runs(
    chat: Chat,
) -> None:
    assert await chat.says("bug") == [GENERIC_ERROR]
    assert await chat.says("fine") == ["done"]
    assert chat.count("message", "ok") == 1


async def test_a_failing_press_is_answered_and_explained_in_the_chat(chat: Chat) -> None:
    card = chat.fake.bot_message(USER, "token card")
    await chat.feed(chat.fake.user_presses(USER, card["message_id"], "bug"))
    await chat.feed(chat.fake.user_presses(USER, card["message_id"], "refused"))

    answered = [a["callback_query_id"] for a in chat.fake.answered_callbacks]
    assert sorted(set(answered)) == ["1", "2"]  # both presses answered: no spinning client
    texts = [m["text"] for m in chat.fake.inbox(USER) if m["message_id"] != card["message_id"]]
    assert texts == [GENERIC_ERROR, "Your active wallet holds none of this token."]
    assert chat.count("callbackquery", "error") == 1
    assert chat.count("callbackquery", "user_error") == 1


async def test_when_the_error_reply_itself_fails_nothing_escapes(chat: Chat) -> None:
    chat.fake.fail_next = [120]  # the error reply gets a 429 longer than the bot waits out
    assert await chat.says("refused") == []
    assert chat.count("message", "user_error") == 1
    assert await chat.says("refused") == ["No such &lt;snipe&gt; &amp; nothing done."]
