"""The demo's scripted user: a human pace the bot never throttles, and failures that say why.

A step whose reply does not come fails at once naming what the bot said instead (the throttle's
notice, a refused button press, an error sentence), or after its timeout listing every message the
bot sent since the action. Against the real bot on localnet (the e2e harness's ``bot_under_test``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from e2e.harness import BotUnderTest, bot_under_test
from sniper_bot import demo
from sniper_bot.demo import DemoFailed, HumanPace, ScriptedUser, error_replies
from sniper_bot.telegram.middlewares import ThrottleMiddleware

ON_THE_BOT = pytest.mark.asyncio(loop_scope="module")  # one bot for the module


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def updates_the_bot_takes(think_times: list[float], *, paced: bool) -> int:
    """A user acting after each think time (paced or not); how many updates the bot's own
    throttle (its defaults, on the same clock) lets through."""
    clock = Clock()
    throttle = ThrottleMiddleware(clock=clock)
    pace = HumanPace(clock=clock)
    handled: list[object] = []

    async def handler(event: object, data: dict[str, Any]) -> None:
        handled.append(event)

    async def act() -> None:
        for think in think_times:
            clock.now += think
            if paced:
                clock.now += pace.delay()
            await throttle(handler, object(), {"event_from_user": SimpleNamespace(id=7)})  # type: ignore[arg-type]

    asyncio.run(act())
    return len(handled)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=2, allow_nan=False), max_size=60))
def test_a_user_at_a_human_pace_is_never_throttled(think_times: list[float]) -> None:
    assert updates_the_bot_takes(think_times, paced=True) == len(think_times)


def test_the_same_user_unpaced_is_throttled() -> None:
    """The property above can fail: eight updates in one instant lose two to the throttle."""
    assert updates_the_bot_takes([0.0] * 8, paced=False) == 6


def test_the_pace_lets_a_burst_through_then_spaces_actions() -> None:
    clock = Clock()
    pace = HumanPace(rate_per_s=2.5, burst=5, clock=clock)
    assert [pace.delay() for _ in range(5)] == [0.0] * 5
    assert pace.delay() == pytest.approx(0.4)
    clock.now += 0.4
    assert pace.delay() == pytest.approx(0.4)
    clock.now += 10
    assert [pace.delay() for _ in range(5)] == [0.0] * 5


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    async with bot_under_test(tmp_path_factory.mktemp("demo-user")) as running:
        yield running


def scripted(bot: BotUnderTest) -> tuple[ScriptedUser, list[str]]:
    """A new Telegram user of this bot, its script's transcript, refusals read from the bot."""
    said: list[str] = []
    user = ScriptedUser(
        bot.net.telegram,
        bot.user().user_id,
        say=said.append,
        refusals=lambda: error_replies(bot.app.metrics),
    )
    return user, said


@ON_THE_BOT
async def test_a_throttled_message_fails_the_step_at_once_naming_the_notice(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "STEP_TIMEOUT_S", 3600.0)  # only the notice can end the step
    user, _ = scripted(bot)
    await user.send("/start", expect="with the home screen", contains="Wallet:")
    for _ in range(20):  # someone else typed in this chat at once, far past the bot's 3/s
        bot.net.telegram.user_sends(user.user_id, "/help")
    with pytest.raises(DemoFailed) as failed:
        await user.send("/home", expect="with the home screen", contains="Wallet:")
    assert "the bot answered 'Slow down a little: that message was not processed.'" in str(
        failed.value
    )


@ON_THE_BOT
async def test_a_refused_button_press_fails_the_step_at_once(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "STEP_TIMEOUT_S", 3600.0)
    user, _ = scripted(bot)
    home = await user.send("/start", expect="with the home screen", contains="Wallet:")
    button = home["reply_markup"]["inline_keyboard"][0][0]
    for _ in range(20):
        bot.net.telegram.user_presses(user.user_id, home["message_id"], button["callback_data"])
    with pytest.raises(DemoFailed) as failed:
        await user.press(home, button["text"], until=lambda t: False, expect="never")
    assert "the bot refused the press ('Slow down a little.')" in str(failed.value)


@ON_THE_BOT
async def test_an_error_sentence_fails_the_step_at_once_naming_it(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "STEP_TIMEOUT_S", 3600.0)
    user, _ = scripted(bot)
    await user.send("/start", expect="with the home screen", contains="Wallet:")
    nothing_there = Keypair().pubkey()
    with pytest.raises(DemoFailed) as failed:
        await user.send(str(nothing_there), expect="with the token card", contains="Risk:")
    message = str(failed.value)
    assert "no bot message with the token card: the bot refused, saying" in message
    assert "No token exists at that address." in message


@ON_THE_BOT
async def test_a_timeout_lists_every_message_the_bot_sent_since_the_action(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "STEP_TIMEOUT_S", 2.0)
    user, said = scripted(bot)
    await user.send("/start", expect="with the home screen", contains="Wallet:")
    with pytest.raises(DemoFailed) as failed:
        await user.send("/help", expect="with a word it never says", contains="abracadabra")
    message = str(failed.value)
    assert message.startswith("demo: no bot message with a word it never says within 2 s")
    assert "the bot said meanwhile: ['How to use" in message
    assert "/snipe MINT SOL" in message
    assert said[-1] == "[bold cyan]user[/] /help"


@ON_THE_BOT
async def test_a_step_returns_the_reply_it_waited_for(bot: BotUnderTest) -> None:
    user, said = scripted(bot)
    home = await user.send("/start", expect="with the home screen", contains="Wallet:")
    assert "Wallet:" in home["text"]
    assert said[0] == "[bold cyan]user[/] /start"
    assert said[1].startswith("[bold green]bot[/]  ")
    assert "Wallet:" in said[1]
