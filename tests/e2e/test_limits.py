"""Limit orders and DCA through the real bot (fake Telegram, localnet, SQLite and PostgreSQL +
Redis): a limit buy on a pump.fun curve coin fires from the detector's curve events when another
trader dumps the price, and not before, once; /orders lists and cancels; DCA starts and lists;
every bad input gets its specific sentence."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import text as sql

from sniper_bot.domain.limits import PRICE_SCALE, format_price, limit_key
from sniper_bot.engine.limits import LimitMonitor

from .harness import SOL, BotUnderTest, User, final, plain, sql_rows
from .test_pumpfun import curve_tokens, landed_ok, steady_slots, venue_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

DECIMALS = 6


def limit_monitor(bot: BotUnderTest) -> LimitMonitor:
    for name, service in bot.app._services:
        if name == "limits":
            monitor = service.__self__  # type: ignore[attr-defined]
            assert isinstance(monitor, LimitMonitor)
            return monitor
    raise AssertionError("the app runs no limit monitor")


def curve_price(bot: BotUnderTest, mint: Pubkey) -> int:
    """Micro-lamports per whole token, from the curve's virtual reserves (floor)."""
    curve = bot.net.launchpad.curve(mint)
    sol, tokens = int(curve["virtual_quote_reserves"]), int(curve["virtual_token_reserves"])
    return sol * 10**DECIMALS * PRICE_SCALE // tokens


async def until(predicate: Any, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.05)


def sentence(message: dict[str, Any]) -> str:
    return plain(message.get("text", ""))


async def test_a_limit_buy_fires_when_another_trader_dumps_the_price_and_not_before(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    creator, whale = Keypair(), Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 2 * SOL)
    bot.net.cluster.airdrop(whale.pubkey(), 20 * SOL)
    launch = bot.net.launchpad.launch(creator, name="Dip", symbol="DIP", dev_buy_lamports=SOL // 10)
    mint = launch.mint
    bot.net.launchpad.buy(mint, whale, lamports=6 * SOL)  # the whale takes a bag: price up
    bag = curve_tokens(bot, mint, whale.pubkey())
    top = curve_price(bot, mint)
    trigger = top * 80 // 100
    monitor = limit_monitor(bot)

    placed = await user.says(
        f"/limit buy {mint} 0.05 {format_price(trigger).removesuffix(' SOL')} 2h",
        until=lambda t: "Limit order placed" in t, what="the limit order",
    )  # fmt: skip
    text = sentence(placed)
    assert (
        f"buy 0.05 SOL of {str(mint)[:4]}…{str(mint)[-4:]} at price ≤ {format_price(trigger)}"
        in text
    )
    limit_id = int(text.split(" L", 1)[1].split(" ", 1)[0])
    await until(lambda: str(mint) in monitor._watched, "the monitor watches the mint")

    events = monitor.curve_events
    bot.net.launchpad.sell(mint, whale, tokens=bag // 20)  # a small sell: still above the limit
    await until(lambda: monitor.curve_events > events, "the curve event of the small sell")
    assert curve_price(bot, mint) > trigger
    await asyncio.sleep(0.5)  # a wrongly firing monitor would have fired by now
    assert await bot.orders_of(user) == []  # not before

    after = user.last_id()
    bot.net.launchpad.sell(mint, whale, tokens=curve_tokens(bot, mint, whale.pubkey()))  # dump
    assert curve_price(bot, mint) < trigger
    fired = await user.wait_for(
        lambda m: "Limit order fired" in m.get("text", "") and final(m.get("text", "")),
        after=after, what="with the limit order's result",
    )  # fmt: skip

    assert "✅ Bought" in sentence(fired), sentence(fired)
    (order,) = await bot.orders_of(user)
    assert (order["side"], order["status"], order["amount"]) == ("BUY", "CONFIRMED", 50_000_000)
    assert order["idempotencyKey"] == limit_key(limit_id)
    assert venue_of(order) == "pumpfun"  # bought on the curve
    assert landed_ok(bot, order["signature"])
    assert curve_tokens(bot, mint, wallet) == order["outAmount"] > 0
    listed = await user.says("/orders", until=lambda t: "Limit orders" in t, what="/orders")
    assert f"L{limit_id} FIRED" in sentence(listed)

    bot.net.launchpad.buy(mint, whale, lamports=6 * SOL)  # up and down again: fired once only
    bot.net.launchpad.sell(mint, whale, tokens=curve_tokens(bot, mint, whale.pubkey()))
    await asyncio.sleep(1.0)
    assert len(await bot.orders_of(user)) == 1


async def expect(user: User, text: str, words: str) -> None:
    reply = await user.says(text, until=lambda t: words in plain(t), what=f"'{words}'")
    assert "Something went wrong" not in sentence(reply)


async def test_orders_lists_and_cancels_and_bad_inputs_get_their_sentences(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    await user.funded(SOL)
    mint = bot.launch("honest").mint

    for text, words in [
        ("/limit", "Usage:\n/limit buy MINT SOL PRICE [TTL]"),
        ("/limit buy", "Usage:"),
        (f"/limit hold {mint} 1 0.1", "Usage:"),
        (f"/limit buy {mint} abc 0.0001", "'abc' is not a number; send an amount like 0.5."),
        (f"/limit buy {mint} 0 0.0001", "The amount must be greater than 0."),
        (f"/limit buy {mint} 0.1 zero", "'zero' is not a price; send a number like 0.00003."),
        (f"/limit buy {mint} 0.1 -1", "The price must be greater than 0."),
        (f"/limit buy {mint} 0.1 0.0000000000000001", "A price has at most 15 decimal places"),
        (f"/limit buy {mint} 0.1 mc:lots", "'lots' is not a market cap"),
        (f"/limit buy {mint} 0.1 0.0001 5s", "The expiry must be between 1m and 30d."),
        (f"/limit buy {mint} 0.1 0.0001 soon", "'soon' is not a duration for the expiry"),
        ("/limit buy notamint 0.1 0.0001", "That is not a valid token address"),
        (f"/limit sell {mint} 150 0.01", "The share to sell must be a whole percentage from 1"),
        (f"/limit sell {mint} 50 0.01", "Your active wallet holds none of this token."),
        ("/dca", "Usage: /dca buy MINT TOTAL_SOL PARTS EVERY [LOW-HIGH]"),
        (f"/dca buy {mint} 1 1 1h", "The number of parts must be a whole number from 2 to 100."),
        (f"/dca buy {mint} 1 4 5s", "The interval must be between 10s and 7d."),
        (f"/dca buy {mint} 0.0001 4 1m", "Each part would be 0.000025 SOL; a part must be at"),
        (f"/dca buy {mint} 1 4 1h 0.2-0.1", "The band's low price is above its high price."),
        (f"/dca buy {mint} 1 4 1h 0.2", "'0.2' is not a price band"),
        ("/orders cancel L999999", "No such limit order. Send /orders to see yours."),
        ("/orders cancel D99999999999999999999999", "No such DCA plan. Send /orders to see"),
        ("/orders cancel X1", "Usage: /orders cancel L12"),
    ]:
        await expect(user, text, words)

    placed = await user.says(f"/limit buy {mint} 0.1 mc:1 1h", until=lambda t: "placed" in t)
    limit_id = int(sentence(placed).split(" L", 1)[1].split(" ", 1)[0])
    assert "at market cap ≤ 1 SOL" in sentence(placed)
    plan = await user.says(f"/dca buy {mint} 0.5 5 1h -0.000001", until=lambda t: "DCA" in t)
    plan_text = sentence(plan)
    assert "in 5 parts of ~0.1 SOL every 1h" in plan_text, plan_text
    plan_id = int(plan_text.split(" D", 1)[1].split(" ", 1)[0])

    listed = await user.says("/orders", until=lambda t: "Limit orders" in t, what="/orders")
    assert f"L{limit_id} OPEN" in sentence(listed)
    assert f"D{plan_id} " in sentence(listed)
    await expect(user, f"/orders cancel L{limit_id}", f"L{limit_id} CANCELLED")
    await expect(user, f"/orders cancel L{limit_id}", "is already cancelled; only an open one")
    await expect(user, f"/orders cancel D{plan_id}", f"D{plan_id} CANCELLED")
    other = bot.user()
    await other.start()
    await expect(other, f"/orders cancel L{limit_id}", "No such limit order.")


async def test_a_dca_part_runs_at_once_and_its_owner_is_told(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.funded(SOL)
    mint = bot.launch("honest").mint
    after = user.last_id()
    started = await user.says(f"/dca buy {mint} 0.04 2 1h", until=lambda t: "DCA plan" in t)
    plan_id = int(sentence(started).split(" D", 1)[1].split(" ", 1)[0])
    told = await user.wait_for(
        lambda m: "DCA part 1/2" in m.get("text", "") and final(m.get("text", "")),
        after=after, what="with the first part's result",
    )  # fmt: skip
    assert "✅ Bought" in sentence(told), sentence(told)
    assert f"D{plan_id} ACTIVE" in sentence(told)
    (order,) = await bot.orders_of(user)
    assert (order["idempotencyKey"], order["amount"]) == (f"dca:{plan_id}:0", 20_000_000)
    await expect(user, f"/orders cancel D{plan_id}", f"D{plan_id} CANCELLED")


async def test_a_paper_users_orders_are_paper_and_a_switch_to_paper_stops_a_real_plan(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    await user.funded(SOL)
    mint = bot.launch("honest").mint
    (wallet,) = await bot.wallets_of(user)
    plan = await user.says(f"/dca buy {mint} 0.02 2 1h", until=lambda t: "DCA plan" in t)
    plan_id = int(sentence(plan).split(" D", 1)[1].split(" ", 1)[0])
    await until_async(lambda: part_done(bot, plan_id), "part 0 of the real plan")
    await bot.app.repos.settings.update(wallet["userId"], paper_trading=True)

    # placed on paper now (they fill in the paper book: tests/e2e/test_paper_standing.py)
    await expect(user, f"/limit buy {mint} 0.1 0.00001", "📝 PAPER 🟢 L")
    await expect(user, f"/dca buy {mint} 1 4 1h", "📝 PAPER 🔁 D")
    # the plan placed before the switch: its next part is refused, never real money
    async with bot.app.database.engine.begin() as conn:  # due now rather than in an hour
        await conn.execute(
            sql('UPDATE "DcaPlan" SET "nextAt" = "createdAt" WHERE id = :id'), {"id": plan_id}
        )
    await until_async(lambda: plan_status(bot, plan_id, "FAILED"), "the plan stopped")
    assert len(await bot.orders_of(user)) == 1  # only the real part from before the switch


async def plan_status(bot: BotUnderTest, plan_id: int, status: str) -> bool:
    rows = await sql_rows(bot.app, 'SELECT status FROM "DcaPlan" WHERE id = :id', id=plan_id)
    return bool(rows) and rows[0]["status"] == status


async def part_done(bot: BotUnderTest, plan_id: int) -> bool:
    rows = await sql_rows(bot.app, 'SELECT "partsDone" FROM "DcaPlan" WHERE id = :id', id=plan_id)
    return bool(rows) and rows[0]["partsDone"] == 1


async def until_async(check: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.1)
