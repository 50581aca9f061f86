"""Graduation snipes without Geyser (GEYSER_ENABLED=false: the WebSocket logs are the only feed),
through the real bot and the fake Telegram on localnet:

* ``/snipe grad MINT SOL`` on a coin on its curve fires when the curve migrates (the ``migrate``
  read from the pump program's ``logsSubscribe``) and buys on PumpSwap, once;
* a coin that already graduated (its canonical PumpSwap pool exists) is refused with a sentence
  that offers to buy on PumpSwap now, and its card, whose buy lands on PumpSwap;
* an unknown address (a typo), an address that is not a mint, and a token without a pump.fun
  curve are refused with their own sentence; nothing is armed.
"""

from __future__ import annotations

import asyncio

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.pump.launchpad import Graduation

from .harness import SOL, BotUnderTest, final, plain, sql_rows
from .test_pumpfun import curve_tokens, landed_ok, steady_slots, venue_of

pytestmark = pytest.mark.asyncio(loop_scope="module")
CROWD = 40


def _short(mint: object) -> str:
    text = str(mint)
    return f"{text[:4]}…{text[-4:]}"


async def _armed(bot: BotUnderTest, telegram_id: int) -> list[dict[str, object]]:
    return await sql_rows(
        bot.app,
        'SELECT t.status, t."launchFilter" FROM "SnipeTarget" t JOIN "User" u '
        'ON u.id = t."userId" WHERE u."telegramId" = :tg',
        tg=telegram_id,
    )


def _crowd_buys(bot: BotUnderTest, mint: Pubkey) -> None:
    """Buy the curve almost out, no wallet with a share the holder layer blocks."""
    for _ in range(CROWD):
        buyer = Keypair()
        bot.net.cluster.airdrop(buyer.pubkey(), 3 * SOL)
        bot.net.launchpad.buy(mint, buyer, lamports=2 * SOL)


def _graduate(bot: BotUnderTest, mint: Pubkey) -> Graduation:
    """One last buyer completes the curve and migrates it to its canonical PumpSwap pool."""
    whale = Keypair()
    bot.net.cluster.airdrop(whale.pubkey(), 20 * SOL)
    return bot.net.launchpad.graduate(mint, whale)


async def test_a_graduation_snipe_fires_from_the_websocket_logs_alone(
    sqlite_bot: BotUnderTest,
) -> None:
    bot = sqlite_bot
    assert not bot.app.settings.rpc.geyser_enabled  # the WebSocket listeners are the only feed
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    coin = bot.net.launchpad.launch(creator, name="WS Grad", symbol="WSG")
    mint = coin.mint
    armed = await user.says(f"/snipe grad {mint} 0.05", until=lambda t: "ARMED" in t, what="armed")
    assert f"ARMED: 0.05 SOL of {_short(mint)} on graduation" in plain(armed["text"])

    _crowd_buys(bot, mint)  # the curve's trades fire nothing
    await asyncio.sleep(0.5)
    assert await bot.orders_of(user) == []
    after = user.last_id()
    graduation = _graduate(bot, mint)
    (settled,) = await user.wait_for_many(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        1, after=after, what="the graduation snipe",
    )  # fmt: skip
    assert "✅ Bought" in settled["text"], plain(settled["text"])
    (order,) = await bot.orders_of(user)
    assert (order["kind"], order["status"], order["tokenMint"]) == ("SNIPE", "CONFIRMED", str(mint))
    assert venue_of(order) == "pumpswap"
    assert landed_ok(bot, order["signature"])
    assert curve_tokens(bot, mint, wallet) == int(order["outAmount"]) > 0
    assert bot.net.cluster.get_account(graduation.pool) is not None
    assert [r["status"] for r in await _armed(bot, user.user_id)] == ["FIRED"]
    await asyncio.sleep(1.0)  # the resolver or a second endpoint's copy buys nothing more
    assert len(await bot.orders_of(user)) == 1


async def test_a_coin_that_already_graduated_is_refused_with_an_offer_to_buy_on_pumpswap(
    sqlite_bot: BotUnderTest,
) -> None:
    bot = sqlite_bot
    user = bot.user()
    await user.funded(2 * SOL)
    await steady_slots(bot)
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    coin = bot.net.launchpad.launch(creator, name="Done", symbol="DONE")
    created = bot.net.cluster.slot
    for _ in range(400):  # no buyer in the create's slot (that would be a bundled launch)
        if bot.net.cluster.slot > created + 2:
            break
        await asyncio.sleep(0.05)
    _crowd_buys(bot, coin.mint)
    _graduate(bot, coin.mint)

    sent = await user.type(f"/snipe grad {coin.mint} 0.1")
    refusal = await user.wait_for(
        lambda m: "already graduated" in m.get("text", ""), after=sent, what="the refusal"
    )
    text = plain(refusal["text"])
    assert f"{_short(coin.mint)} already graduated: it trades on PumpSwap now" in text, text
    assert "Buy it on PumpSwap now from its card." in text
    card = await user.wait_for(
        lambda m: "Risk:" in m.get("text", ""), after=refusal["message_id"], what="its card"
    )
    assert "PumpSwap" in plain(card["text"]), plain(card["text"])
    assert await _armed(bot, user.user_id) == []

    bought = await user.buy(card, "Buy 0.1")  # the offer works: the buy lands on PumpSwap
    assert "✅" in bought["text"], plain(bought["text"])
    (order,) = await bot.orders_of(user)
    assert (order["status"], venue_of(order)) == ("CONFIRMED", "pumpswap")


async def test_unknown_and_wrong_addresses_are_refused_each_with_its_sentence(
    sqlite_bot: BotUnderTest,
) -> None:
    bot = sqlite_bot
    user = bot.user()
    wallet = await user.funded(SOL)
    honest = bot.launch("honest", liquidity_sol=50)  # a token without a pump.fun curve
    cases = [
        (Keypair().pubkey(), "No token exists at that address. Check it for a typo."),
        (wallet, "That address is not a token mint (it is another kind of account)."),
        (honest.mint, "That token has no pump.fun bonding curve, so it never graduates"),
    ]
    for address, sentence in cases:
        answer = await user.says(f"/snipe grad {address} 0.1", what=f"the answer for {address}")
        assert sentence in plain(answer["text"]), (address, plain(answer["text"]))
    assert await _armed(bot, user.user_id) == []
    assert await bot.orders_of(user) == []
