"""A user trades through Telegram: home screen, token cards, buys, sells, settings, honeypots."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.signature import Signature

from sniper_bot.domain.money import format_sol, format_tokens

from .harness import ONE_BACKEND, SOL, BotUnderTest, final, plain

pytestmark = pytest.mark.asyncio(loop_scope="module")

DECIMALS = 6  # every localnet token


async def test_start_creates_one_wallet_and_shows_its_address_and_balance(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    first = await user.says("/start", until=lambda t: "Wallet:" in t)
    wallet = await user.start()

    assert "A new wallet was created for you." in plain(first["text"])
    assert f"Wallet: {wallet}" in plain(first["text"])
    assert "Balance: 0 SOL" in plain(first["text"])

    bot.net.cluster.airdrop(wallet, 1_234_567_890)
    again = await user.says("/start", until=lambda t: "Wallet:" in t)
    text = plain(again["text"])
    assert f"Wallet: {wallet}" in text
    assert "Balance: 1.23456789 SOL" in text
    assert "new wallet" not in text
    rows = await bot.wallets_of(user)
    assert [(r["publicKey"], bool(r["isActive"])) for r in rows] == [(str(wallet), True)]


async def test_buy_preset_confirms_and_the_position_shows_the_tokens(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    token = bot.launch("honest", liquidity_sol=100, name="Preset Coin", symbol="PRESET")

    card = await user.card(token.mint)
    assert "Preset Coin (PRESET)" in plain(card["text"])
    result = await user.buy(card, "Buy 0.1 SOL")

    held = bot.token_balance(wallet, token.mint)
    assert held > 0
    text = plain(result["text"])
    assert "Buy 0.1 SOL of" in text
    assert f"✅ Bought {format_tokens(held, DECIMALS)} tokens" in text
    (order,) = await bot.orders_of(user)
    assert (order["side"], order["status"], order["amount"]) == ("BUY", "CONFIRMED", SOL // 10)
    assert order["outAmount"] == held
    assert f"Tx: {order['signature']}" in text
    spent = 2 * SOL - bot.sol_balance(wallet)
    assert spent >= SOL // 10

    positions = await user.says("/positions", until=lambda t: "positions" in t.lower())
    assert "PRESET" in plain(positions["text"])
    assert format_tokens(held, DECIMALS) in plain(positions["text"])
    card_again = await user.card(token.mint)
    assert f"You hold: {format_tokens(held, DECIMALS)}" in plain(card_again["text"])


async def test_double_tap_on_a_buy_button_is_one_order(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    token = bot.launch("honest", liquidity_sol=100)
    card = await user.card(token.mint)
    data = user.button(card, "Buy 0.1 SOL")
    after = user.last_id()

    await user.press_data(card["message_id"], data)
    await user.press_data(card["message_id"], data)

    first, second = await user.wait_for_many(
        lambda m: final(m.get("text", "")), 2, after=after, what="answering both taps"
    )
    assert "✅" in first["text"]
    assert second["text"] == first["text"]  # the same order, reported to both taps
    orders = await bot.orders_of(user)
    assert len(orders) == 1
    assert bot.landed_from(wallet) == [Signature.from_string(orders[0]["signature"])]
    assert bot.token_balance(wallet, token.mint) == orders[0]["outAmount"]


@ONE_BACKEND
@pytest.mark.parametrize(
    ("kind", "params", "mechanic"),
    [
        ("freeze_authority", {}, "Freeze authority is live"),
        ("mint_authority", {}, "Mint authority is live"),
        ("non_transferable", {}, "Non-transferable token"),
        ("transfer_fee", {"fee_bps": 9_000}, "Transfer fee of 90"),
        ("permanent_delegate", {}, "Permanent delegate"),
    ],
)
async def test_honeypot_card_is_blocked_with_the_mechanic_named_and_no_buy_button(
    bot: BotUnderTest, kind: str, params: dict[str, int], mechanic: str
) -> None:
    user = bot.user()
    await user.funded(SOL)
    token = bot.launch(kind, liquidity_sol=50, **params)

    card = await user.card(token.mint)

    text = plain(card["text"])
    assert "(BLOCKED)" in text
    assert mechanic in text
    assert "Buying is blocked for this token." in text
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert not [label for label in labels if label.startswith("Buy")], labels
    assert await bot.orders_of(user) == []


@ONE_BACKEND
@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("So1111111111111111111111111111111111111111O", "not a valid token address"),
        ("1111111111111111111111111111111111", "not a valid token address"),
        ("wallet", "not a token mint"),
        ("unused", "No token exists at that address"),
    ],
)
async def test_typo_in_a_mint_gets_a_clear_sentence_and_no_order(
    bot: BotUnderTest, typed: str, sentence: str
) -> None:
    user = bot.user()
    wallet = await user.funded(SOL)
    text = {"wallet": str(wallet), "unused": str(Keypair().pubkey())}.get(typed, typed)

    reply = await user.says(text, what=f"an answer to {text!r}", timeout_s=2)

    assert sentence in plain(reply["text"])
    assert "Risk:" not in reply["text"]
    assert await bot.orders_of(user) == []


async def test_custom_amount_flow_rejects_negative_and_garbage_then_buys(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(SOL)
    token = bot.launch("honest", liquidity_sol=100)
    card = await user.card(token.mint)
    ask = await user.presses(card, "Buy X SOL", until=lambda t: "How much SOL" in t)
    assert "e.g. 0.25" in ask["text"]

    for typed, sentence in [
        ("-1", "the amount must be greater than 0"),
        ("abc", "is not a number"),
        ("0", "the amount must be greater than 0"),
        ("1e999", "the amount is too large"),
    ]:
        reply = await user.says(typed, what=f"an answer to {typed!r}")
        assert sentence in plain(reply["text"]), typed
        assert "Send an amount like 0.25" in plain(reply["text"])
    assert await bot.orders_of(user) == []

    result = await user.says("0.05", until=final, what="the order result")

    assert "Buy 0.05 SOL of" in plain(result["text"])
    assert "✅ Bought" in result["text"]
    (order,) = await bot.orders_of(user)
    assert (order["amount"], order["status"]) == (50_000_000, "CONFIRMED")
    assert bot.token_balance(wallet, token.mint) == order["outAmount"]


@ONE_BACKEND
async def test_custom_amount_echo_is_html_escaped(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.funded(SOL)
    token = bot.launch("honest", liquidity_sol=100)
    card = await user.card(token.mint)
    await user.presses(card, "Buy X SOL", until=lambda t: "How much SOL" in t)

    reply = await user.says("<b>lots", what="an answer to markup")

    assert "&lt;b&gt;lots" in reply["text"]


async def test_insufficient_funds_says_add_sol(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await user.start()  # never funded
    token = bot.launch("honest", liquidity_sol=100)
    card = await user.card(token.mint)

    result = await user.buy(card, "Buy 0.1 SOL")

    assert "Deposit SOL to your wallet address" in plain(result["text"])
    (order,) = await bot.orders_of(user)
    assert order["status"] == "FAILED"
    assert order["signature"] is None
    assert bot.landed_from(wallet) == []


async def test_sell_100_percent_returns_sol_and_closes_the_position(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    token = bot.launch("honest", liquidity_sol=100, symbol="ROUND")
    await user.buy(await user.card(token.mint), "Buy 0.5 SOL")
    before = bot.sol_balance(wallet)
    card = await user.card(token.mint)

    result = await user.presses(card, "Sell 100 %", until=final, what="sell result")

    text = plain(result["text"])
    assert "✅ Sold for" in text
    assert bot.token_balance(wallet, token.mint) == 0
    sell = (await bot.orders_of(user))[-1]
    assert (sell["side"], sell["status"]) == ("SELL", "CONFIRMED")
    assert f"Sold for {format_sol(sell['outAmount'])}" in text
    assert bot.sol_balance(wallet) > before
    positions = await user.says("/positions", until=lambda t: "position" in t.lower())
    assert "No open positions" in plain(positions["text"])
    card_after = await user.card(token.mint)
    assert "You hold" not in plain(card_after["text"])
    labels = [b["text"] for row in card_after["reply_markup"]["inline_keyboard"] for b in row]
    assert not [label for label in labels if label.startswith("Sell")]


async def test_settings_change_slippage_and_fee_are_used_by_the_next_order(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    await user.funded(2 * SOL)
    screen = await user.says("/settings", until=lambda t: "Settings" in t)
    assert "Slippage: 100 bps" in plain(screen["text"])

    for label, shown in [("3 %", "Slippage: 300 bps"), ("HIGH", "Priority fee: HIGH")]:
        await user.press_data(screen["message_id"], user.button(screen, label))
        screen = await user.edited(screen["message_id"], contains=shown)
    assert "Priority fee: HIGH (0.0001 SOL)" in plain(screen["text"])
    marked = [b["text"] for row in screen["reply_markup"]["inline_keyboard"] for b in row]
    assert "• 3 %" in marked
    assert "• HIGH" in marked

    token = bot.launch("honest", liquidity_sol=100)
    await user.buy(await user.card(token.mint), "Buy 0.1 SOL")

    (order,) = await bot.orders_of(user)
    assert (order["slippageBps"], order["priorityFee"]) == (300, "HIGH")
    assert order["priorityFeeLamports"] == 100_000
    assert order["status"] == "CONFIRMED"


@ONE_BACKEND
async def test_a_user_typing_too_fast_is_told_to_slow_down(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.start()
    first = user.send("/help")
    for _ in range(9):
        user.send("/help")

    # the notice waits in the chat's queue behind the replies already sent (about 1/s per chat)
    slow = await user.wait_for(
        lambda m: "Slow down" in m.get("text", ""), after=first, what="slow down"
    )

    assert slow["message_id"] > first
