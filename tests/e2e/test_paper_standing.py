"""Issue 18 through the real bot, the fake Telegram and localnet (SQLite, and PostgreSQL + Redis):

- a paper user's snipe on a pump.fun coin launched after it was armed, a limit buy, DCA buy
  and sell parts all fill in the paper book, every message marked 📝 PAPER; no lamport moves
  (getBalance over JSON-RPC), no transaction is signed, no "SniperOrder" row exists;
- notification preferences: with "Fills" off a paper limit order fills without a message, with
  it back on the next DCA part is told;
- confirm-before-buy: with it on a preset and a typed "Buy X SOL" ask first; Cancel places
  nothing, a stale confirmation does nothing, Confirm buys once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from solders.keypair import Keypair

from .harness import SOL, BotUnderTest, User, final, plain, sql_rows
from .test_bad_input import _press
from .test_paper import rpc_balance
from .test_pumpfun import steady_slots
from .test_trade_settings import press_setting

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAPER = "📝 PAPER"


async def paper_keys(bot: BotUnderTest, user: User) -> list[str]:
    rows = await sql_rows(
        bot.app,
        'SELECT p."idempotencyKey" AS k FROM "PaperTrade" p JOIN "User" u ON u.id = p."userId" '
        'WHERE u."telegramId" = :tg ORDER BY p.id',
        tg=user.user_id,
    )
    return [str(r["k"]) for r in rows]


async def until_rows(bot: BotUnderTest, user: User, count: int, what: str) -> list[str]:
    for _ in range(1500):
        keys = await paper_keys(bot, user)
        if len(keys) >= count:
            return keys
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {count} paper fills ({what}): {await paper_keys(bot, user)}")


async def paper_on(user: User) -> None:
    settings = await user.says("/settings", until=lambda t: "Settings" in t)
    await press_setting(user, settings, "📝 Paper trading: off", shows=f"{PAPER} trading: on")


def texts_after(user: User, after: int) -> list[str]:
    return [plain(m.get("text", "")) for m in user.inbox() if m["message_id"] > after]


async def test_a_paper_users_snipe_limit_and_dca_fill_on_paper_and_move_no_lamport(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await paper_on(user)
    await steady_slots(bot)
    mint_kp, creator = Keypair(), Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)

    armed = await user.says(f"/snipe {mint_kp.pubkey()} 0.05", until=lambda t: "ARMED" in t)
    assert plain(armed["text"]).splitlines()[1].startswith(f"{PAPER} #"), armed["text"]
    (target,) = await sql_rows(
        bot.app,
        'SELECT t.paper, t."nonceAccount" FROM "SnipeTarget" t JOIN "User" u ON u.id = '
        't."userId" WHERE u."telegramId" = :tg',
        tg=user.user_id,
    )
    assert bool(target["paper"]) is True
    assert target["nonceAccount"] is None  # no durable nonce: nothing was signed to arm it
    after = user.last_id()
    bot.net.launchpad.launch(creator, name="Paper Hot", symbol="PHOT", mint=mint_kp)
    settled = await user.wait_for(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        after=after, what="the paper snipe's result",
    )  # fmt: skip
    text = plain(settled["text"])
    assert text.startswith(f"{PAPER} · 🎯 Snipe settled (simulated)"), text
    assert "✅ Bought" in text
    assert "Tx:" not in text
    assert (await paper_keys(bot, user))[0].startswith("snipe:")

    token = bot.launch("honest", liquidity_sol=100, symbol="PLIM")
    placed = await user.says(f"/limit buy {token.mint} 0.05 1 2h",
                             until=lambda t: "Limit order placed" in t)  # fmt: skip
    assert plain(placed["text"]).splitlines()[1].startswith(f"{PAPER} 🟢 L"), placed["text"]
    fired = await user.wait_for(lambda m: "Limit order fired" in m.get("text", ""),
                                after=placed["message_id"], what="the limit fill")  # fmt: skip
    assert plain(fired["text"]).startswith(f"{PAPER} · 🎯 Limit order fired (simulated)")
    assert "✅ Bought" in plain(fired["text"])

    started = await user.says(f"/dca buy {token.mint} 0.04 2 1m",
                              until=lambda t: "DCA plan started" in t)  # fmt: skip
    assert f"{PAPER} 🔁 D" in plain(started["text"])
    part = await user.wait_for(lambda m: "DCA part 1/2" in m.get("text", ""),
                               after=started["message_id"], what="the first part")  # fmt: skip
    assert plain(part["text"]).startswith(f"{PAPER} · 🔁 DCA part 1/2 (simulated)")

    sell = await user.says(f"/dca sell {token.mint} 50% 2 1m",
                           until=lambda t: "DCA plan started" in t)  # fmt: skip
    assert "sell " in plain(sell["text"])
    assert " tokens of " in plain(sell["text"])
    sold = await user.wait_for(lambda m: "DCA part 1/2" in m.get("text", "") and "Sell" in
                               m.get("text", ""), after=sell["message_id"],
                               what="the first paper DCA sell part")  # fmt: skip
    assert "✅ Sold for" in plain(sold["text"])

    keys = await paper_keys(bot, user)
    assert [k.split(":")[0] for k in keys] == ["snipe", "limit", "dca", "dca"]
    # nothing on chain: not a lamport, no transaction from the wallet, no real order
    assert await rpc_balance(bot, wallet) == 2 * SOL
    assert bot.txs.seen_from(wallet) == []
    assert await bot.orders_of(user) == []
    orders = await user.says("/orders", until=lambda t: "DCA plans" in t)
    listing = plain(orders["text"])
    assert f"{PAPER} 🟢 L" in listing
    assert f"{PAPER} 🔁 D" in listing


async def test_muted_fills_fill_without_a_message_and_are_told_again_when_back_on(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    await user.funded(SOL)
    await paper_on(user)
    settings = await user.says("/settings", until=lambda t: "Settings" in t)
    assert "Notifications: fills on, exits on, snipe misses on, copy trades on" in plain(
        settings["text"]
    )
    await press_setting(user, settings, "🔔 Fills: on", shows="Notifications: fills off")
    token = bot.launch("honest", liquidity_sol=100, symbol="MUTE")
    placed = await user.says(f"/limit buy {token.mint} 0.02 1 2h",
                             until=lambda t: "Limit order placed" in t)  # fmt: skip
    await until_rows(bot, user, 1, "the muted limit order")
    started = await user.says(f"/dca buy {token.mint} 0.02 2 10s",
                              until=lambda t: "DCA plan started" in t)  # fmt: skip
    await until_rows(bot, user, 2, "the muted first DCA part")
    # the limit's and the first part's results were settled before the plan's second part:
    # none of them sent a message
    muted = texts_after(user, placed["message_id"])
    assert not [t for t in muted if "Limit order fired" in t or "DCA part" in t], muted

    screen = await user.says("/settings", until=lambda t: "Settings" in t)
    await press_setting(user, screen, "🔔 Fills: off", shows="Notifications: fills on")
    told = await user.wait_for(lambda m: "DCA part 2/2" in m.get("text", ""),
                               after=started["message_id"], what="part 2, told")  # fmt: skip
    assert plain(told["text"]).startswith(f"{PAPER} · 🔁 DCA part 2/2")
    assert not [t for t in texts_after(user, placed["message_id"]) if "DCA part 1/2" in t]


async def confirm_prompt(user: User, after: int) -> dict[str, Any]:
    return await user.wait_for(lambda m: "Confirm buys is on" in m.get("text", ""),
                               after=after, what="the confirmation")  # fmt: skip


async def test_confirm_before_buy_asks_for_every_manual_buy(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    token = bot.launch("honest", liquidity_sol=100, symbol="CONF")
    settings = await user.says("/settings", until=lambda t: "Settings" in t)
    assert "Confirm buys: off" in plain(settings["text"])
    await press_setting(user, settings, "✋ Confirm buys: off", shows="Confirm buys: on")

    card = await user.card(token.mint)
    after = user.last_id()
    await user.press_data(card["message_id"], user.button(card, "Buy 0.1 SOL"))
    asked = await confirm_prompt(user, after)
    assert plain(asked["text"]).startswith(f"Buy 0.1 SOL of {token.mint}?")
    assert await bot.orders_of(user) == []  # nothing placed before the answer
    cancelled = await user.presses(asked, "✖ Cancel", until=lambda t: "cancelled" in t)
    assert plain(cancelled["text"]) == "Buy cancelled: nothing was placed."
    stale = await _press(user, asked["message_id"], user.button(asked, "✅ Buy"))
    assert "no longer open" in stale["text"]
    assert await bot.orders_of(user) == []

    after = user.last_id()
    await user.press_data(card["message_id"], user.button(card, "Buy 0.1 SOL"))
    asked = await confirm_prompt(user, after)
    bought = await user.presses(asked, "✅ Buy", until=final, what="the confirmed buy")
    assert "✅ Bought" in plain(bought["text"]), bought["text"]
    (order,) = await bot.orders_of(user)
    assert (order["amount"], order["status"]) == (SOL // 10, "CONFIRMED")

    await user.presses(card, "Buy X SOL", until=lambda t: "How much SOL" in t)
    typed = await user.type("0.05")
    asked = await confirm_prompt(user, typed)
    assert plain(asked["text"]).startswith(f"Buy 0.05 SOL of {token.mint}?")
    assert len(await bot.orders_of(user)) == 1
    bought = await user.presses(asked, "✅ Buy", until=final, what="the typed buy")
    assert "✅ Bought" in plain(bought["text"])
    again = await _press(user, asked["message_id"], user.button(asked, "✅ Buy"))  # double tap
    assert "no longer open" in again["text"]
    orders = await bot.orders_of(user)
    assert sorted(o["amount"] for o in orders) == [SOL // 20, SOL // 10]
    assert bot.token_balance(wallet, token.mint) > 0
