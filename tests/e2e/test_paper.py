"""Paper trading through the fake Telegram on localnet: the /settings switch, a buy and a sell on
live quotes that move no lamport and no token on chain (balances read over JSON-RPC), every
message marked 📝 PAPER, the simulated position, the closing sell's PnL card (sendPhoto, PNG
read back), /pnl, and the /wallet deposit QR decoded."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import zxingcpp
from PIL import Image
from solders.pubkey import Pubkey

from sniper_bot.domain.money import format_sol, format_tokens
from sniper_bot.telegram import cards

from .harness import SOL, BotUnderTest, User, bot_under_test, final, plain, sql_rows

pytestmark = pytest.mark.asyncio(loop_scope="module")

DECIMALS = 6
PAPER = "📝 PAPER"


async def rpc_balance(bot: BotUnderTest, wallet: Pubkey) -> int:
    """getBalance over the localnet's JSON-RPC (what any client of the cluster sees)."""
    assert bot.net.urls is not None
    url = next(iter(bot.net.urls.rpc.values()))["http"]
    body = {"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": [str(wallet)]}
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
        return int((await resp.json())["result"]["value"])


def photo_bytes(bot: BotUnderTest, message: dict[str, Any]) -> bytes:
    file_id = message["photo"][-1]["file_id"]
    data: bytes = bot.net.telegram.files[file_id]["data"]
    return data


async def photo_after(user: User, after: int, what: str) -> dict[str, Any]:
    return await user.wait_for(lambda m: "photo" in m, after=after, what=what)


async def paper_rows(bot: BotUnderTest, user: User, table: str) -> list[dict[str, Any]]:
    return await sql_rows(
        bot.app,
        f'SELECT p.* FROM "{table}" p JOIN "User" u ON u.id = p."userId" '
        'WHERE u."telegramId" = :tg',
        tg=user.user_id,
    )


async def test_paper_buy_and_sell_move_nothing_on_chain_and_show_the_simulated_position(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(SOL)
    token = bot.launch("honest", liquidity_sol=100, name="Paper Coin", symbol="PAPR")
    before = await rpc_balance(bot, wallet)
    assert before == SOL

    settings = await user.says("/settings", until=lambda t: "Settings" in t)
    assert f"{PAPER} trading: off" in plain(settings["text"])
    data = user.button(settings, "📝 Paper trading: off")
    await user.press_data(settings["message_id"], data)
    await user.edited(settings["message_id"], contains=f"{PAPER} trading: on")

    card = await user.card(token.mint)
    assert f"{PAPER} trading: buys and sells here are simulated" in plain(card["text"])
    bought = await user.buy(card, "Buy 0.1 SOL")
    text = plain(bought["text"])
    assert text.startswith(f"{PAPER} · Buy 0.1 SOL of"), text
    assert "✅ Bought" in text
    assert "Tx:" not in text

    (fill,) = await paper_rows(bot, user, "PaperTrade")
    assert (fill["side"], fill["inAmount"]) == ("BUY", SOL // 10)
    held = fill["outAmount"]
    assert held > 0
    assert f"✅ Bought {format_tokens(held, DECIMALS)} tokens" in text
    # nothing on chain: no lamport, no token account, no transaction, no order row
    assert await rpc_balance(bot, wallet) == before
    assert bot.token_balance(wallet, token.mint) == 0
    assert bot.txs.seen_from(wallet) == []
    assert await bot.orders_of(user) == []
    (account,) = await paper_rows(bot, user, "PaperAccount")
    assert account["lamports"] == 10 * SOL - SOL // 10 - fill["feeLamports"]

    positions = await user.says("/positions", until=lambda t: "positions" in t.lower())
    ptext = plain(positions["text"])
    assert ptext.startswith(f"{PAPER} Open positions")
    assert "PAPR" in ptext
    assert format_tokens(held, DECIMALS) in ptext
    home = await user.says("/home", until=lambda t: "Wallet:" in t)
    assert f"{PAPER} trading: balance {format_sol(account['lamports'])}" in plain(home["text"])

    card = await user.card(token.mint)
    assert f"{PAPER} · You hold: {format_tokens(held, DECIMALS)}" in plain(card["text"])
    after = user.last_id()
    sold = await user.presses(card, "Sell 100 %", until=final, what="the paper sell result")
    stext = plain(sold["text"])
    assert stext.startswith(f"{PAPER} · Sell"), stext
    assert "✅ Sold for" in stext
    photo = await photo_after(user, after, "with the closed position's PnL card")

    sell = next(r for r in await paper_rows(bot, user, "PaperTrade") if r["side"] == "SELL")
    assert sell["inAmount"] == held
    pnl = sell["outAmount"] - sell["feeLamports"] - (SOL // 10 + fill["feeLamports"])
    assert pnl < 0  # a round trip through the pool's fees and the slippage bound loses a little
    caption = plain(photo["caption"])
    assert caption.startswith(f"{PAPER} · PAPR closed: {cards.signed_sol(pnl)}"), caption
    png = Image.open(io.BytesIO(photo_bytes(bot, photo))).convert("RGB")
    assert png.size == cards.CARD_SIZE == (photo["photo"][-1]["width"], 420)
    assert png.getpixel((10, 5)) == cards.LOSS
    assert png.getpixel((cards.PAPER_BADGE[0] + 2, cards.PAPER_BADGE[1] + 2)) == cards.PAPER_COLOR

    (position,) = await paper_rows(bot, user, "PaperPosition")
    assert (position["status"], position["tokenAmount"]) == ("CLOSED", 0)
    assert position["realizedPnlLamports"] == pnl
    assert await rpc_balance(bot, wallet) == before  # still not a lamport moved
    assert bot.txs.seen_from(wallet) == []
    assert await bot.orders_of(user) == []

    after = user.last_id()
    await user.type("/pnl")
    summary = await photo_after(user, after, "with the /pnl chart")
    assert plain(summary["caption"]).startswith(
        f"{PAPER} · PnL: realised {cards.signed_sol(pnl)}, unrealised +0 SOL"
    )
    assert "• PAPR: " in plain(summary["caption"])
    chart = Image.open(io.BytesIO(photo_bytes(bot, summary)))
    assert chart.size == cards.CHART_SIZE


async def test_wallet_sends_the_active_address_as_a_deposit_qr(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await user.start()
    after = user.last_id()
    await user.type("/wallet")
    photo = await photo_after(user, after, "with the deposit QR")

    assert str(wallet) in plain(photo["caption"])
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(photo_bytes(bot, photo))))
    assert found.text == str(wallet)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def everyone_paper(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    """A bot started with PAPER_TRADING=true (SQLite)."""
    env = {"PAPER_TRADING": "true", "PAPER_START_LAMPORTS": str(SOL)}
    async with bot_under_test(tmp_path_factory.mktemp("e2e-paper"), env=env) as only:
        yield only


async def test_paper_trading_for_everyone_needs_no_switch_and_has_no_way_off(
    everyone_paper: BotUnderTest,
) -> None:
    bot = everyone_paper
    user = bot.user()
    wallet = await user.funded(SOL)
    token = bot.launch("honest", liquidity_sol=100, symbol="ALL")
    settings = await user.says("/settings", until=lambda t: "Settings" in t)
    assert f"{PAPER} trading: on for everyone (PAPER_TRADING)" in plain(settings["text"])

    card = await user.card(token.mint)
    bought = await user.buy(card, "Buy 0.5 SOL")
    assert plain(bought["text"]).startswith(f"{PAPER} · Buy 0.5 SOL")
    card = await user.card(token.mint)
    poor = await user.buy(card, "Buy 1 SOL")  # the paper balance started at 1 SOL
    assert "Not enough paper SOL" in plain(poor["text"])
    assert await rpc_balance(bot, wallet) == SOL
    assert bot.txs.seen_from(wallet) == []
    assert await bot.orders_of(user) == []
