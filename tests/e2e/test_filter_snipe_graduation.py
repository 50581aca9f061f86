"""``/snipe grad MINT SOL`` through the real bot (detection over localnet's Yellowstone gRPC, where
the ``migrate`` is decoded into the coin's PumpSwap launch) and the fake Telegram: a snipe on a
coin that trades on its bonding curve does NOT buy on the curve (not when armed, not on the
curve's trades); when a whale buys the curve out and migrates it, the PumpSwap pool's launch
fires it and the buy goes to PumpSwap through the slow path (SnipeEngine -> TradingService ->
the venue router), exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress

import pytest
import pytest_asyncio
from solders.keypair import Keypair

from sniper_bot.app import App
from sniper_bot.config import load_settings

from .harness import (
    SOL,
    BotUnderTest,
    TxRecorder,
    e2e_env,
    final,
    plain,
    running_net,
    scaled_chat_pace,
    sql_rows,
)
from .test_pumpfun import curve_tokens, landed_ok, steady_slots, venue_of

pytestmark = pytest.mark.asyncio(loop_scope="module")
CROWD = 40


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    """``harness.bot_under_test`` with the bot's Geyser listener on localnet's endpoint."""
    async with running_net(5) as net:
        assert net.urls is not None
        txs = TxRecorder()
        net.cluster.add_transaction_guard(txs)
        values = e2e_env(net, tmp_path_factory.mktemp("e2e-grad"))
        geyser = net.urls.geyser["geyser"]
        values.update({"GEYSER_ENABLED": "true", "GEYSER_ENDPOINT": geyser["url"],
                       "GEYSER_X_TOKEN": geyser["x_token"]})  # fmt: skip
        app = App(load_settings(values, embedded=True), auto_migrate=True)
        runner: asyncio.Task[None] | None = None
        try:
            with scaled_chat_pace(net):
                await app.start()
            runner = asyncio.create_task(app.run(), name="app-under-test")
            yield BotUnderTest(net, app, txs)
        finally:
            app.stop_event.set()
            if runner is not None:
                with suppress(asyncio.CancelledError):
                    await runner
            await app.close()


async def test_a_graduation_snipe_buys_on_pumpswap_when_the_curve_migrates(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    coin = bot.net.launchpad.launch(creator, name="Grad Coin", symbol="GRAD")
    mint = coin.mint

    armed = await user.says(f"/snipe grad {mint} 0.05", until=lambda t: "ARMED" in t, what="armed")
    text = plain(armed["text"])
    assert f"ARMED: 0.05 SOL of {str(mint)[:4]}…{str(mint)[-4:]} on graduation" in text, text
    assert "fires when the coin graduates to PumpSwap" in text
    (row,) = await sql_rows(
        bot.app,
        'SELECT t."launchFilter", t."nonceAccount", t."tokenMint" FROM "SnipeTarget" t '
        'JOIN "User" u ON u.id = t."userId" WHERE u."telegramId" = :tg',
        tg=user.user_id,
    )
    assert row["launchFilter"] == f'{{"mints":["{mint}"],"sources":["pumpswap"]}}'
    assert (row["nonceAccount"], row["tokenMint"]) == (None, None)  # the slow path's

    trader = Keypair()
    bot.net.cluster.airdrop(trader.pubkey(), 5 * SOL)
    bot.net.launchpad.buy(mint, trader, lamports=SOL // 10)  # a curve trade: not a graduation
    await asyncio.sleep(0.5)
    assert await bot.orders_of(user) == []
    assert curve_tokens(bot, mint, wallet) == 0

    # a crowd buys the curve almost out (no wallet ends with a share the holder layer blocks),
    # then one last buyer completes it and migrates it to its PumpSwap pool
    for _ in range(CROWD):
        buyer = Keypair()
        bot.net.cluster.airdrop(buyer.pubkey(), 3 * SOL)
        bot.net.launchpad.buy(mint, buyer, lamports=2 * SOL)
    assert await bot.orders_of(user) == []  # the curve's trades fired nothing
    after = user.last_id()
    whale = Keypair()
    bot.net.cluster.airdrop(whale.pubkey(), 20 * SOL)
    graduation = bot.net.launchpad.graduate(mint, whale)
    (settled,) = await user.wait_for_many(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        1, after=after, what="the graduation snipe",
    )  # fmt: skip
    assert "✅ Bought" in settled["text"], plain(settled["text"])
    (order,) = await bot.orders_of(user)
    assert (order["kind"], order["status"], order["tokenMint"]) == ("SNIPE", "CONFIRMED", str(mint))
    assert venue_of(order) == "pumpswap"  # bought on the new pool, not the completed curve
    assert landed_ok(bot, order["signature"])
    assert curve_tokens(bot, mint, wallet) == int(order["outAmount"]) > 0
    assert bot.net.cluster.get_account(graduation.pool) is not None
    fired = await sql_rows(
        bot.app,
        'SELECT t.status, t."tokenMint" FROM "SnipeTarget" t JOIN "User" u ON u.id = t."userId" '
        'WHERE u."telegramId" = :tg',
        tg=user.user_id,
    )
    assert [(r["status"], r["tokenMint"]) for r in fired] == [("FIRED", str(mint))]
