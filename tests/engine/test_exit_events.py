"""Exits react to curve events: the whole bot on localnet (its pump.fun listener's ``on_curve``
feeds the exit monitor through the app's curve sink) with the monitor's quote poll set to an hour,
so only an event can make it sell. A user's curve position with a take-profit is quoted once (its
baseline); another trader's buy lifts the curve past the take-profit; that trade's event starts
the check (one confirming quote), and the position is sold on pump.fun."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from solders.keypair import Keypair

from e2e.harness import SOL, BotUnderTest, bot_under_test, plain, sql_rows
from e2e.test_pumpfun import curve_tokens, steady_slots, venue_of

pytestmark = pytest.mark.asyncio(loop_scope="module")
HOUR = 3_600.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    data_dir: Path = tmp_path_factory.mktemp("exit-events")
    async with bot_under_test(data_dir) as only:
        yield only


async def until(check: object, what: str, timeout_s: float = 20.0) -> None:
    assert callable(check)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.02)


async def test_another_traders_buy_triggers_the_take_profit_from_its_event(
    bot: BotUnderTest,
) -> None:
    exits = bot.app.exits
    exits.quote_interval_s = HOUR  # no second poll quote: only an event can sell
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    coin = bot.net.launchpad.launch(creator, name="Exit Coin", symbol="EXIT")
    mint = coin.mint
    (row,) = await sql_rows(
        bot.app, 'SELECT id FROM "User" WHERE "telegramId" = :tg', tg=user.user_id
    )
    await bot.app.repos.settings.update(row["id"], take_profit_pct=25, slippage_bps=1_500)

    card = await user.card(mint)
    bought = await user.buy(card, "Buy 0.1 SOL")
    assert "✅ Bought" in plain(bought["text"]), plain(bought["text"])
    (buy,) = await bot.orders_of(user)
    assert venue_of(buy) == "pumpfun"
    held = curve_tokens(bot, mint, wallet)
    assert held > 0

    async def watched() -> bool:  # a pass took the position in (and quoted it: the baseline)
        return exits.watching(str(mint)) and exits.polled >= 1

    await until(watched, "the monitor watches the position")
    polled, events = exits.polled, exits.event_checks
    await asyncio.sleep(3 * exits.interval_s)  # passes go by: nothing quoted, nothing sold
    assert (exits.polled, exits.event_checks) == (polled, events)
    assert len(await bot.orders_of(user)) == 1

    trader = Keypair()
    bot.net.cluster.airdrop(trader.pubkey(), 20 * SOL)
    bot.net.launchpad.buy(mint, trader, lamports=12 * SOL)  # the price: about x1.8

    async def sold() -> bool:
        orders = await bot.orders_of(user)
        return any(o["side"] == "SELL" and o["status"] == "CONFIRMED" for o in orders)

    await until(sold, "the take-profit sell")
    assert exits.event_checks == events + 1  # the trade's event started the check
    assert exits.polled == polled + 1  # and one quote confirmed it (no poll)
    sell = [o for o in await bot.orders_of(user) if o["side"] == "SELL"]
    assert [(o["amount"], venue_of(o)) for o in sell] == [(held, "pumpfun")]
    assert str(sell[0]["idempotencyKey"]).startswith("exit:")
    assert curve_tokens(bot, mint, wallet) == 0
