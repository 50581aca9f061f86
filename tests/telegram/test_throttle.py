"""The per-user throttle with a clock the test moves: the real aiogram Dispatcher and Bot against
the fake Bot API, updates fed one by one (so the order is the test's, not the event loop's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, Message, Update
from aiohttp import web

from localnet.telegram import FakeTelegram, create_telegram_app
from sniper_bot.telegram.bot import build_bot
from sniper_bot.telegram.middlewares import ThrottleMiddleware
from sniper_bot.telegram.routers.wallet import SECRET_STATES, WalletFlow
from support.services import free_port

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
ALICE, BOB = 5001, 5002
RATE, BURST = 3.0, 6
NOTICE = "Slow down a little: that message was not processed"


@dataclass
class Clock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Chat:
    """The bot under test: one throttle in front of messages and presses."""

    fake: FakeTelegram
    bot: Bot
    dp: Dispatcher
    clock: Clock
    handled: list[str] = field(default_factory=list)

    async def says(self, user: int, text: str) -> int:
        update = self.fake.user_sends(user, text)
        await self.dp.feed_update(
            self.bot, Update.model_validate(update, context={"bot": self.bot})
        )
        return int(update["message"]["message_id"])

    async def presses(self, user: int, message_id: int, data: str = "tap") -> None:
        update = self.fake.user_presses(user, message_id, data)
        await self.dp.feed_update(
            self.bot, Update.model_validate(update, context={"bot": self.bot})
        )

    def notices(self, user: int) -> list[str]:
        return [m["text"] for m in self.fake.inbox(user) if m["text"].startswith("Slow down")]

    def press_answers(self) -> list[str | None]:
        return [a.get("text") for a in self.fake.answered_callbacks]


def _router(handled: list[str]) -> Router:
    router = Router()

    @router.message(Command("pin"))
    async def ask_pin(message: Message, state: FSMContext) -> None:
        await state.set_state(WalletFlow.withdraw_pin)
        handled.append("/pin")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        handled.append(message.text or "")

    @router.callback_query()
    async def press(query: CallbackQuery) -> None:
        handled.append(f"press:{query.data}")
        await query.answer("pressed")

    return router


@pytest.fixture
async def chat() -> AsyncIterator[Chat]:
    fake = FakeTelegram()
    runner = web.AppRunner(create_telegram_app(fake))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    bot = build_bot(TOKEN, f"http://127.0.0.1:{port}")
    clock = Clock()
    throttle = ThrottleMiddleware(RATE, BURST, clock, secret_states=SECRET_STATES)
    dp = Dispatcher(storage=MemoryStorage())
    dp.message.outer_middleware(throttle)
    dp.callback_query.outer_middleware(throttle)
    handled: list[str] = []
    dp.include_router(_router(handled))
    try:
        yield Chat(fake, bot, dp, clock, handled)
    finally:
        await bot.session.close()
        await runner.cleanup()


async def test_a_burst_passes_the_next_message_is_answered_and_tokens_come_back(
    chat: Chat,
) -> None:
    for n in range(BURST):
        await chat.says(ALICE, f"m{n}")
    throttled = await chat.says(ALICE, "one too many")

    assert chat.handled == [f"m{n}" for n in range(BURST)]
    assert chat.notices(ALICE) == [NOTICE + "."]
    assert (ALICE, throttled) in chat.fake.messages  # not a secret: left in the chat
    chat.clock.now += 1 / RATE * 0.99
    await chat.says(ALICE, "still too early")
    chat.clock.now += 1 / RATE * 0.02  # one token is back
    await chat.says(ALICE, "now")
    assert chat.handled[-1] == "now"
    assert "still too early" not in chat.handled


async def test_notices_for_messages_come_at_most_once_a_second(chat: Chat) -> None:
    for n in range(BURST):
        await chat.says(ALICE, f"m{n}")
    start = chat.clock.now
    steps = [(0.0, "x1"), (0.2, "x2"), (0.3, "x3"), (0.4, "x4")]  # tokens 0, .6, .9, 1.2
    steps += [(1.1, "y1"), (1.1, "y2"), (1.1, "y3")]  # tokens 2.3: two pass, the third not
    for at, text in steps:
        chat.clock.now = start + at
        await chat.says(ALICE, text)

    assert chat.handled[BURST:] == ["x4", "y1", "y2"]
    assert chat.notices(ALICE) == [NOTICE + "."] * 2  # for x1, then y3 (over a second later)


async def test_messages_and_presses_have_separate_buckets(chat: Chat) -> None:
    anchor = await chat.says(ALICE, "card")
    for n in range(BURST - 1):
        await chat.says(ALICE, f"m{n}")
    await chat.says(ALICE, "no more messages")
    assert chat.notices(ALICE) == [NOTICE + "."]

    for _ in range(BURST):  # the message bucket is empty; the button bucket is full
        await chat.presses(ALICE, anchor)
    assert chat.handled.count("press:tap") == BURST
    await chat.presses(ALICE, anchor)
    await chat.presses(ALICE, anchor)
    assert chat.handled.count("press:tap") == BURST
    # every press gets an answer (a real client spins until it does); the throttled ones say so
    assert chat.press_answers() == ["pressed"] * BURST + ["Slow down a little."] * 2
    assert chat.notices(ALICE) == [NOTICE + "."]  # presses add no chat messages

    chat.clock.now += 1 / RATE
    await chat.says(ALICE, "typed again")
    await chat.presses(ALICE, anchor)
    assert chat.handled[-2:] == ["typed again", "press:tap"]


async def test_users_do_not_share_a_bucket(chat: Chat) -> None:
    for n in range(BURST + 2):
        await chat.says(ALICE, f"a{n}")
    await chat.says(BOB, "hello")
    assert chat.handled[-1] == "hello"
    assert chat.notices(BOB) == []
    assert len(chat.notices(ALICE)) == 1


async def test_a_throttled_message_in_a_secret_state_is_deleted_and_answered_every_time(
    chat: Chat,
) -> None:
    await chat.says(ALICE, "/pin")  # now waiting for a PIN: the next message carries one
    for n in range(BURST - 1):
        await chat.says(ALICE, f"m{n}")
    first = await chat.says(ALICE, "482913")
    second = await chat.says(ALICE, "482913")

    assert "482913" not in chat.handled
    assert (ALICE, first) not in chat.fake.messages
    assert (ALICE, second) not in chat.fake.messages
    secret_notice = NOTICE + " and was deleted; send it again."
    assert chat.notices(ALICE) == [secret_notice, secret_notice]


def test_the_secret_states_are_the_ones_whose_messages_carry_secrets() -> None:
    assert {WalletFlow.withdraw_pin.state, WalletFlow.export_pin.state} <= SECRET_STATES
    assert WalletFlow.import_secret.state in SECRET_STATES
    assert WalletFlow.withdraw_request.state not in SECRET_STATES
