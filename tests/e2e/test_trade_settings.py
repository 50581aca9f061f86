"""/settings' order options and the pump.fun token card, through the real bot on localnet.

A user turns on MEV protection and Force Jupiter, sets a fixed Jito tip (bad amounts get their own
sentence), and the settings are in the database; a pump.fun coin's card names the coin from its
Token-2022 metadata (no Metaplex account exists for a ``create_v2`` coin), says it trades on the
curve and how far the curve is sold, with its market cap; with Force Jupiter on, a buy of that
curve coin goes to Jupiter (localnet's Jupiter-compatible market has a pool for it), and once the
switch is off again the next buy goes to the curve.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.market import instructions as ix
from sniper_bot.domain.money import format_sol
from sniper_bot.solana.programs import TOKEN_2022_PROGRAM_ID

from .harness import ONE_BACKEND, SOL, BotUnderTest, Message, User, plain, sql_rows
from .test_pumpfun import landed_ok, steady_slots

pytestmark = [pytest.mark.asyncio(loop_scope="module"), ONE_BACKEND]

DECIMALS = 6


def venue_of(order: dict[str, Any]) -> str:
    quote = order["quote"]
    if isinstance(quote, str):
        quote = json.loads(quote)
    return str(quote["venue"])


async def settings_row(bot: BotUnderTest, user: User) -> dict[str, Any]:
    (row,) = await sql_rows(
        bot.app,
        'SELECT s.* FROM "UserSettings" s JOIN "User" u ON u.id = s."userId" '
        'WHERE u."telegramId" = :tg',
        tg=user.user_id,
    )
    return row


async def press_setting(user: User, screen: Message, label: str, *, shows: str) -> Message:
    """Press a /settings button; the same message is edited to show ``shows``."""
    await user.press_data(screen["message_id"], user.button(screen, label))
    return await user.edited(screen["message_id"], contains=shows)


def curve_lines(bot: BotUnderTest, mint: Pubkey, creator: Pubkey) -> tuple[str, str]:
    """The card's curve lines computed here from localnet's own account fields."""
    curve = bot.net.launchpad.curve(mint)
    initial = int(bot.net.launchpad.initial_curve(creator)["real_token_reserves"])
    sold_bps = (initial - int(curve["real_token_reserves"])) * 10_000 // initial
    cap = (
        int(curve["virtual_quote_reserves"])
        * int(curve["token_total_supply"])
        // int(curve["virtual_token_reserves"])
    )
    return (
        f"Bonding curve: {sold_bps // 100}.{sold_bps % 100:02d} % sold",
        f"Market cap: {format_sol(cap)}",
    )


def open_jupiter_pool(bot: BotUnderTest, mint: Pubkey, holder: Keypair, tokens: int) -> None:
    """A pool on localnet's Jupiter-compatible market for the curve coin, stocked with the
    creator's dev-buy tokens (its mint authority is gone: nobody can mint more)."""
    pool = bot.net.market.open_pool(
        mint=mint, token_program=TOKEN_2022_PROGRAM_ID, decimals=DECIMALS, sol_lamports=20 * SOL
    )
    source = ix.associated_token_address(holder.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
    move = ix.transfer_checked(
        TOKEN_2022_PROGRAM_ID, source, mint, pool.token_account, holder.pubkey(), tokens, DECIMALS
    )
    bot.net.market.send([move], [holder])


async def test_settings_switches_and_tip_persist_and_force_jupiter_routes_a_curve_coin(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    await user.funded(3 * SOL)
    await steady_slots(bot)

    screen = await user.says("/settings", until=lambda t: "Settings" in t, what="settings")
    text = plain(screen["text"])
    assert "MEV protection: off" in text
    assert "Jito tip: auto, the tip floor at the default percentile" in text
    assert "Venue: best for the coin" in text

    screen = await press_setting(user, screen, "MEV protection: off", shows="MEV protection: on")
    screen = await press_setting(user, screen, "Force Jupiter: off", shows="Force Jupiter (every")
    screen = await press_setting(user, screen, "Tip p95", shows="auto, p95 of the tip floor")
    assert "MEV protection: on (Jito bundles only, never the public mempool)" in plain(
        screen["text"]
    )

    after = user.last_id()
    await user.press_data(screen["message_id"], user.button(screen, "Fixed tip…"))
    prompt = await user.wait_for(
        lambda m: "Send the Jito tip in SOL" in m.get("text", ""), after=after, what="tip prompt"
    )
    assert "at most 0.01 SOL" in plain(prompt["text"])  # JITO_MAX_TIP_LAMPORTS' default
    refusals = {
        "-0.001": "A tip cannot be negative.",
        "0.0000000001": "SOL has at most 9 decimal places",
        "0.0000001": "Jito's minimum tip is 0.000001 SOL",
        "0.5": "at most 0.01 SOL (the operator's limit)",
        "lots": "is not a number",
        "0": "a fixed tip must be above 0 SOL",
    }
    for typed, sentence in refusals.items():
        answer = await user.says(typed, until=lambda t: "Tip not saved" in t or "cannot" in t)
        assert sentence in plain(answer["text"]), (typed, plain(answer["text"]))
        assert "Send another amount, or /settings to cancel." in plain(answer["text"])
    saved = await user.says("0.002", until=lambda t: "Settings" in t, what="saved settings")
    assert "Jito tip: fixed 0.002 SOL" in plain(saved["text"])
    assert "• Fixed tip…" in [
        b["text"] for r in saved["reply_markup"]["inline_keyboard"] for b in r
    ]

    row = await settings_row(bot, user)
    assert (bool(row["mevProtection"]), bool(row["forceJupiter"])) == (True, True)
    assert (row["jitoTipLamports"], row["tipPercentile"]) == (2_000_000, 95)

    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    launch = bot.net.launchpad.launch(
        creator, name="Moon Coin", symbol="MOON", dev_buy_lamports=SOL // 2
    )
    mint = launch.mint
    assert launch.dev_tokens > 0

    card = plain((await user.card(mint))["text"])
    assert card.startswith("Moon Coin (MOON)")  # from the mint's own TokenMetadata extension
    assert "Unknown token" not in card
    assert "Venue: Jupiter (forced in /settings), no route there yet" in card
    progress, cap = curve_lines(bot, mint, creator.pubkey())
    assert progress in card
    assert cap in card

    open_jupiter_pool(bot, mint, creator, launch.dev_tokens)
    card_msg = await user.card(mint)
    assert "Venue: Jupiter (forced in /settings)" in plain(card_msg["text"])
    # MEV protection is on and this bot has no Jito block engine: refused, nothing signed or sent
    refused = await user.buy(card_msg, "Buy 0.1 SOL")
    assert "no Jito block engine" in plain(refused["text"]), plain(refused["text"])
    (mev_order,) = await bot.orders_of(user)
    assert (mev_order["status"], mev_order["signature"]) == ("FAILED", None)
    screen = await user.says("/settings", until=lambda t: "Settings" in t, what="settings")
    await press_setting(user, screen, "MEV protection: on", shows="MEV protection: off")
    card_msg = await user.card(mint)
    bought = await user.buy(card_msg, "Buy 0.1 SOL")
    assert "✅ Bought" in plain(bought["text"]), plain(bought["text"])
    forced = (await bot.orders_of(user))[-1]
    assert (forced["side"], forced["status"]) == ("BUY", "CONFIRMED")
    assert venue_of(forced) == "jupiter"  # the curve coin went through Jupiter, as set
    assert landed_ok(bot, forced["signature"])

    screen = await user.says("/settings", until=lambda t: "Settings" in t, what="settings")
    await press_setting(user, screen, "Force Jupiter: on", shows="Venue: best for the coin")
    assert bool((await settings_row(bot, user))["forceJupiter"]) is False
    card_msg = await user.card(mint)
    card = plain(card_msg["text"])
    assert "Venue: pump.fun curve" in card
    assert "forced" not in card
    bought = await user.buy(card_msg, "Buy 0.1 SOL")
    assert "✅ Bought" in plain(bought["text"]), plain(bought["text"])
    curve_buy = (await bot.orders_of(user))[-1]
    assert (curve_buy["status"], venue_of(curve_buy)) == ("CONFIRMED", "pumpfun")
