"""A pump.fun coin through the real bot: a snipe armed before the coin exists buys on the curve when
localnet's hosted pump program runs the create (``net.launchpad``), the user sells it on the curve
from the token card, and once the coin graduates a buy from the card lands on its PumpSwap pool."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from sniper_bot.domain.money import format_tokens

from .harness import SLOT_MS, SOL, BotUnderTest, final, plain

pytestmark = pytest.mark.asyncio(loop_scope="module")

DECIMALS = 6  # every pump.fun coin


def venue_of(order: dict[str, Any]) -> str:
    quote = order["quote"]
    if isinstance(quote, str):  # SQLite hands JSON back as text on some drivers
        quote = json.loads(quote)
    return str(quote["venue"])


async def steady_slots(bot: BotUnderTest, timeout_s: float = 60.0) -> None:
    """Wait until localnet's slot clock has caught up with the wall clock.

    A loop stalled by the app's start makes localnet produce the missed slots in a burst (hundreds
    of blocks a second); a blockhash the bot cached before the burst is then gone sooner than any
    cluster could make it go. The bot builds pump.fun transactions on its cached blockhash (no
    third party hands it one), so the test trades only at the cluster's own pace.
    """
    nominal = 1000 / SLOT_MS
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        start, t0 = bot.net.cluster.block_height, time.monotonic()
        await asyncio.sleep(1.0)
        rate = (bot.net.cluster.block_height - start) / (time.monotonic() - t0)
        if rate <= 2 * nominal:
            await asyncio.sleep(2.5)  # one more blockhash refresh on the bot's side
            return
    raise AssertionError("localnet's slot clock never caught up with the wall clock")


def landed_ok(bot: BotUnderTest, signature: str) -> bool:
    """The transaction executed on localnet without error. (Read from the cluster's history: the
    hosted pump programs run as transaction processors, which ``bot.txs`` guards never see.)"""
    outcome = bot.net.cluster.history.get(Signature.from_string(signature))
    return outcome is not None and outcome.ok


def curve_tokens(bot: BotUnderTest, mint: Pubkey, owner: Pubkey) -> int:
    return int(bot.net.launchpad.token_balance(mint, owner))


async def test_a_snipe_on_a_pumpfun_create_buys_on_the_curve_sells_there_then_buys_on_pumpswap(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    mint_kp = Keypair()  # the coin's mint: known to us, not yet on chain
    mint = mint_kp.pubkey()
    armed = await user.says(f"/snipe {mint} 0.05", until=lambda t: "ARMED" in t, what="armed")
    assert f"ARMED: 0.05 SOL of {str(mint)[:4]}…{str(mint)[-4:]}" in plain(armed["text"])
    assert await bot.orders_of(user) == []

    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    after = user.last_id()
    launch = bot.net.launchpad.launch(
        creator, name="Moon Coin", symbol="MOON", dev_buy_lamports=SOL // 2, mint=mint_kp
    )
    assert launch.mint == mint

    settled = await user.wait_for(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        after=after,
        what="with the snipe result",
    )
    assert "✅ Bought" in settled["text"], plain(settled["text"])
    (snipe,) = await bot.orders_of(user)
    assert (snipe["kind"], snipe["side"], snipe["status"]) == ("SNIPE", "BUY", "CONFIRMED")
    assert snipe["amount"] == 50_000_000
    assert venue_of(snipe) == "pumpfun"  # bought on the curve, not through Jupiter
    held = curve_tokens(bot, mint, wallet)
    assert held == snipe["outAmount"] > 0
    assert f"Bought {format_tokens(held, DECIMALS)} tokens" in plain(settled["text"])
    assert landed_ok(bot, snipe["signature"])
    statuses = await user.says("/snipe", until=lambda t: "Snipes" in t, what="the snipe list")
    assert "FIRED" in plain(statuses["text"])

    card = await user.card(mint)
    text = plain(card["text"])
    assert "1 SOL ≈" in text  # a quote on the curve
    assert f"You hold: {format_tokens(held, DECIMALS)}" in text
    curve_before = bot.net.launchpad.curve(mint)["real_token_reserves"]
    sol_before = bot.sol_balance(wallet)

    sold = await user.presses(card, "Sell 100 %", until=final, what="the sell result")

    assert "✅ Sold for" in plain(sold["text"]), plain(sold["text"])
    sell = (await bot.orders_of(user))[-1]
    assert (sell["side"], sell["status"], sell["amount"]) == ("SELL", "CONFIRMED", held)
    assert venue_of(sell) == "pumpfun"
    assert landed_ok(bot, sell["signature"])
    assert curve_tokens(bot, mint, wallet) == 0
    assert bot.net.launchpad.curve(mint)["real_token_reserves"] == curve_before + held
    assert bot.sol_balance(wallet) > sol_before

    whale = Keypair()
    bot.net.cluster.airdrop(whale.pubkey(), 200 * SOL)
    graduation = bot.net.launchpad.graduate(mint, whale)
    assert bot.net.launchpad.curve(mint)["complete"] is True
    pool_before = bot.net.cluster.get_account(graduation.pool)
    assert pool_before is not None

    card = await user.card(mint)
    assert "1 SOL ≈" in plain(card["text"])
    bought = await user.buy(card, "Buy 0.1 SOL")

    assert "✅ Bought" in plain(bought["text"]), plain(bought["text"])
    buy = (await bot.orders_of(user))[-1]
    assert (buy["kind"], buy["side"], buy["status"]) == ("MANUAL", "BUY", "CONFIRMED")
    assert venue_of(buy) == "pumpswap"  # the graduated coin trades on its canonical pool
    assert curve_tokens(bot, mint, wallet) == buy["outAmount"] > 0
    assert landed_ok(bot, buy["signature"])
    assert len(await bot.orders_of(user)) == 3
