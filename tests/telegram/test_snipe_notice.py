"""The snipe notification (``TelegramFrontend.notify_snipe`` -> the fake Bot API, real aiogram):
a coin a standing (creator) snipe skipped on the risk decision is told as a skip with its
evidence, never as "settled"; a fired or failed snipe is "settled" with its order's result."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Dispatcher
from aiohttp.test_utils import TestServer

from localnet.telegram import FakeTelegram, create_telegram_app
from sniper_bot.control.views import OrderView, SnipeView
from sniper_bot.telegram.bot import TelegramFrontend, build_bot
from sniper_bot.telegram.render import render_snipe_notice

DEV = "DevW1111111111111111111111111111111111111111"
MINT = "Coin1111111111111111111111111111111111111111"
REASON = (
    "blocked: risk 85/100 (limit 70): The creator rugged before (also dev_holding) "
    "[serial_rugger: creator=DevW…1111; dumps=2; rugged_mints=Ab12…9xYz,Cd34…8wVu]"
)


def skipped(error: str | None = f"skipped this coin, still armed: {REASON}") -> SnipeView:
    return SnipeView(
        id=7, token_mint=MINT, amount_lamports=20_000_000, slippage_bps=500, status="ARMED",
        expires_at="2026-12-05 12:00 UTC", error=error, creator=DEV,
    )  # fmt: skip


@pytest.fixture
async def frontend() -> AsyncIterator[tuple[TelegramFrontend, FakeTelegram]]:
    fake = FakeTelegram()
    fake.add_user(42)
    async with TestServer(create_telegram_app(fake)) as server:
        bot = build_bot("123456:TEST", str(server.make_url("")).rstrip("/"))
        try:
            yield TelegramFrontend(bot, Dispatcher()), fake
        finally:
            await bot.session.close()


async def test_a_skipped_coin_is_told_as_a_skip_with_its_evidence(
    frontend: tuple[TelegramFrontend, FakeTelegram],
) -> None:
    telegram, fake = frontend
    await telegram.notify_snipe(42, skipped(), None)
    [told] = fake.inbox(42)
    text = told["text"]
    assert text.startswith("🎯 Snipe skipped a coin (still armed)\n"), text
    assert "settled" not in text
    assert f"#7 ARMED: 0.02 SOL of the next coin of dev {DEV[:4]}…{DEV[-4:]}" in text
    assert MINT in text  # the coin it skipped, whole
    assert "Why it skipped this coin: blocked: risk 85/100 (limit 70)" in text
    assert "serial_rugger" in text
    assert "dumps=2" in text
    assert "/cancel 7" in text
    assert "skipped this coin, still armed:" not in text  # the stored prefix is not repeated


def test_the_skip_evidence_is_escaped_and_a_bare_error_is_shown_as_is() -> None:
    text = render_snipe_notice(skipped(error="blocked: <b>odd</b> & co"))
    assert "Why it skipped this coin: blocked: &lt;b&gt;odd&lt;/b&gt; &amp; co" in text
    assert "Why it skipped this coin: refused" in render_snipe_notice(skipped(error=None))


async def test_a_fired_snipe_is_still_settled_with_its_order(
    frontend: tuple[TelegramFrontend, FakeTelegram],
) -> None:
    telegram, fake = frontend
    fired = SnipeView(
        id=8, token_mint=MINT, amount_lamports=20_000_000, slippage_bps=500, status="FIRED",
        expires_at="2026-12-05 12:00 UTC", order_id="o-1", creator=DEV,
    )  # fmt: skip
    order = OrderView(id="o-1", side="buy", kind="snipe", status="CONFIRMED", token_mint=MINT,
                      amount=20_000_000, in_amount=20_000_000, out_amount=5)  # fmt: skip
    await telegram.notify_snipe(42, fired, order)
    [told] = fake.inbox(42)
    assert told["text"].startswith("🎯 Snipe settled\n"), told["text"]
    assert "#8 FIRED" in told["text"]
    assert "skipped" not in told["text"]
