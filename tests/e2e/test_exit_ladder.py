"""Exit ladders and "sell when the creator sells", end to end: the whole bot on localnet (SQLite,
then PostgreSQL + Redis) driven through the fake Telegram, its pump.fun listener's curve events
feeding the exit monitor, the monitor's quote poll set to an hour (only events can sell).

- a ladder set with /ladder (50 % at 1.3x, 25 % at 1.8x) and a trailing stop set on the
  position with /exit: other traders' buys lift the curve step by step and the bot sells 50 %,
  then 25 % of what it bought (integers of the amount held before the first step), then their
  dump falls past the trailing stop and the rest is sold;
- a position whose plan has "sell with creator" (its button in the position's exit view) is sold
  by the creator's first sell on the curve (one event, one confirming quote), and not by another
  trader's sell.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from solders.keypair import Keypair

from e2e.harness import SOL, BotUnderTest, plain, sql_rows
from e2e.test_pumpfun import curve_tokens, steady_slots

pytestmark = pytest.mark.asyncio(loop_scope="module")
HOUR = 3_600.0


async def until(check: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.02)


async def card_of(user: Any, mint: Any) -> dict[str, Any]:
    """The token card, once the new coin is readable at the bot's commitment."""
    for _ in range(20):
        reply = await user.says(str(mint), until=lambda t: "Risk:" in t or "No token" in t)
        if "Risk:" in reply["text"]:
            return dict(reply)
        await asyncio.sleep(0.2)
    raise AssertionError(f"no token card for {mint}")


async def sells(bot: BotUnderTest, user: Any) -> list[dict[str, Any]]:
    return [o for o in await bot.orders_of(user) if o["side"] == "SELL"]


async def position_id(bot: BotUnderTest, telegram_id: int, mint: str) -> int:
    (row,) = await sql_rows(
        bot.app,
        'SELECT p.id FROM "Position" p JOIN "User" u ON u.id = p."userId" '
        'WHERE u."telegramId" = :tg AND p."tokenMint" = :mint',
        tg=telegram_id,
        mint=mint,
    )
    return int(row["id"])


async def test_a_ladder_sells_half_then_a_quarter_then_the_rest_at_the_trailing_stop(
    bot: BotUnderTest,
) -> None:
    exits = bot.app.exits
    exits.quote_interval_s = HOUR  # no poll quote: only events make it sell
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    mint = bot.net.launchpad.launch(creator, name="Ladder Coin", symbol="LADR").mint

    saved = await user.says("/ladder 1.3x:50 1.8x:25", until=lambda t: "Saved" in t)
    assert "50% at 1.3x, 25% at 1.8x" in plain(saved["text"])
    bad = await user.says("/ladder 2x:60 3x:50", until=lambda t: "Not saved" in t)
    assert "at most 100 %" in plain(bad["text"])  # refused with its reason, the ladder kept
    settings = await user.says("/settings", until=lambda t: "Automatic exits" in t)
    assert "ladder 50% at 1.3x, 25% at 1.8x" in plain(settings["text"])
    (row,) = await sql_rows(
        bot.app, 'SELECT id FROM "User" WHERE "telegramId" = :tg', tg=user.user_id
    )
    await bot.app.repos.settings.update(row["id"], slippage_bps=1_500)

    card = await card_of(user, mint)
    bought = await user.buy(card, "Buy 0.1 SOL")
    assert "✅ Bought" in plain(bought["text"]), plain(bought["text"])
    held = curve_tokens(bot, mint, wallet)
    assert held > 0
    pid = await position_id(bot, user.user_id, str(mint))
    edited = await user.says(f"/exit {pid} trail 20", until=lambda t: "Saved" in t)
    text = plain(edited["text"])
    assert "its own plan" in text, text
    assert "ladder 50% at 1.3x, 25% at 1.8x" in text
    assert "trailing stop -20%" in text
    refused = await user.says(f"/exit {pid} trail 200 sl x", until=lambda t: "Not saved" in t)
    assert "Trailing stop must be a whole number from 1 to 99" in plain(refused["text"])
    assert "Stop-loss must be a whole number" in plain(refused["text"])

    async def watched() -> bool:  # a pass took the position in with its own plan (baseline)
        return exits.watching(str(mint)) and exits.polled >= 1

    await until(watched, "the monitor watches the position")
    trader = Keypair()
    bot.net.cluster.airdrop(trader.pubkey(), 40 * SOL)
    after = user.last_id()
    bot.net.launchpad.buy(mint, trader, lamports=6 * SOL)  # the price: about x1.45

    async def sold(count: int) -> bool:
        done = [o for o in await sells(bot, user) if o["status"] == "CONFIRMED"]
        return len(done) >= count

    await until(lambda: sold(1), "step 1's sell")
    first = (await sells(bot, user))[0]
    assert first["amount"] == held * 50 // 100
    assert str(first["idempotencyKey"]).endswith(":tp1")
    assert curve_tokens(bot, mint, wallet) == held - first["amount"]
    note = await user.wait_for(
        lambda m: "Take-profit step 1" in plain(m.get("text", "")), after=after, what="step 1"
    )
    assert "part of the position" in plain(note["text"])
    await asyncio.sleep(3 * exits.interval_s)  # passes and no event: nothing more is sold
    assert len(await sells(bot, user)) == 1

    bot.net.launchpad.buy(mint, trader, lamports=9 * SOL)  # about x2.2 in all
    await until(lambda: sold(2), "step 2's sell")
    second = (await sells(bot, user))[1]
    left = held - first["amount"]
    assert second["amount"] == left * 25 // 50  # 25 % of the original from the 50 % left
    assert str(second["idempotencyKey"]).endswith(":tp2")
    assert curve_tokens(bot, mint, wallet) == left - second["amount"]

    dumped = bot.net.launchpad.token_balance(mint, trader.pubkey())
    bot.net.launchpad.sell(mint, trader, tokens=int(dumped))  # back to about x1: -50 % off the top
    await until(lambda: sold(3), "the trailing stop's sell")
    third = (await sells(bot, user))[2]
    assert third["amount"] == left - second["amount"]
    assert curve_tokens(bot, mint, wallet) == 0
    assert [o["status"] for o in await sells(bot, user)] == ["CONFIRMED"] * 3
    await user.wait_for(
        lambda m: "Trailing stop sold" in plain(m.get("text", "")), after=after, what="trailing"
    )


async def test_the_creators_sell_sells_the_position_from_its_event(bot: BotUnderTest) -> None:
    exits = bot.app.exits
    exits.quote_interval_s = HOUR
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    launch = bot.net.launchpad.launch(
        creator, name="Dev Coin", symbol="DEV", dev_buy_lamports=SOL // 2
    )
    mint = launch.mint
    (row,) = await sql_rows(
        bot.app, 'SELECT id FROM "User" WHERE "telegramId" = :tg', tg=user.user_id
    )
    await bot.app.repos.settings.update(row["id"], slippage_bps=1_500)
    card = await card_of(user, mint)
    bought = await user.buy(card, "Buy 0.1 SOL")
    assert "✅ Bought" in plain(bought["text"]), plain(bought["text"])
    held = curve_tokens(bot, mint, wallet)
    pid = await position_id(bot, user.user_id, str(mint))

    listing = await user.says("/exits", until=lambda t: "Automatic exits" in t)
    assert f"#{pid}" in plain(listing["text"])
    view = await user.presses(listing, f"⚙️ #{pid}", until=lambda t: f"Exits of #{pid}" in t)
    assert all(len(b["callback_data"].encode()) <= 64 for r in view["reply_markup"]
               ["inline_keyboard"] for b in r)  # fmt: skip
    await user.press_data(view["message_id"], user.button(view, "👤 Sell with creator: off"))
    await user.edited(view["message_id"], contains="sell when the creator sells")

    async def watched() -> bool:
        return exits.watching(str(mint)) and exits.polled >= 1

    await until(watched, "the monitor watches the position")
    other = Keypair()
    bot.net.cluster.airdrop(other.pubkey(), 5 * SOL)
    bot.net.launchpad.buy(mint, other, lamports=SOL // 10)
    bot.net.launchpad.sell(
        mint, other, tokens=int(bot.net.launchpad.token_balance(mint, other.pubkey()))
    )  # another trader's sell: not the creator's
    await asyncio.sleep(3 * exits.interval_s)
    assert exits.creator_checks == 0
    assert await sells(bot, user) == []

    before_polled, before_events = exits.polled, exits.event_checks
    after = user.last_id()
    bot.net.launchpad.sell(mint, creator, tokens=launch.dev_tokens // 10)  # a tenth of the dev's

    async def sold() -> bool:
        return any(o["status"] == "CONFIRMED" for o in await sells(bot, user))

    await until(sold, "the creator-sold exit")
    assert exits.creator_checks == 1
    assert exits.event_checks == before_events  # the price rule did not start it
    assert exits.polled == before_polled + 1  # the creator's event and one confirming quote
    (sale,) = await sells(bot, user)
    assert sale["amount"] == held
    key = str(sale["idempotencyKey"])
    assert key.startswith(f"exit:{pid}:")
    assert ":tp" not in key  # the full exit's key, not a ladder step's
    assert curve_tokens(bot, mint, wallet) == 0
    await user.wait_for(
        lambda m: "The creator sold" in plain(m.get("text", "")), after=after, what="creator exit"
    )
