"""Copy trading through the real bot (fake Telegram, localnet, SQLite and PostgreSQL + Redis): a
followed wallet's buy on the pump.fun curve is copied once with the user's size (not again on a
replay of the event nor by a restarted copy trader), a non-followed wallet's trade is ignored,
the max per day stops the next copy with a message, "sell with the leader" sells the same
fraction; every bad /copy input gets its sentence."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.signature import Signature

from localnet.pumpswap.market import PumpSwapMarket
from sniper_bot.domain.copy import LeaderTrade, copy_key, decide_buy, sell_amount
from sniper_bot.engine.copy import CopyTrader, decode_leader_trade
from sniper_bot.storage.repositories.copy import CopyRepository

from .harness import SOL, BotUnderTest, User, final, plain, sql_rows
from .test_pumpfun import curve_tokens, landed_ok, steady_slots, venue_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


def copy_trader(bot: BotUnderTest) -> CopyTrader:
    for name, service in bot.app._services:
        if name == "copy":
            trader = service.__self__  # type: ignore[attr-defined]
            assert isinstance(trader, CopyTrader)
            return trader
    raise AssertionError("the app runs no copy trader")


async def until(predicate: Any, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.05)


def copied(message: dict[str, Any]) -> bool:
    text = message.get("text", "")
    return "👥 Copied" in text and final(text)


async def test_a_followed_wallets_curve_trades_are_copied_once_with_the_users_rules(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    creator, leader, stranger = Keypair(), Keypair(), Keypair()
    for who in (creator, leader, stranger):
        bot.net.cluster.airdrop(who.pubkey(), 10 * SOL)
    mint = bot.net.launchpad.launch(creator, name="Lead", symbol="LEAD").mint
    trader = copy_trader(bot)

    added = await user.says(
        f"/copy add {leader.pubkey()} 0.05 - 0.08 sell",
        until=lambda t: "Copy trading on" in t, what="the follow",
    )  # fmt: skip
    text = plain(added["text"])
    assert "0.05 SOL a buy, 0.08 SOL a day, sells with the leader" in text, text
    follow_id = int(text.split("#", 1)[1].split(" ", 1)[0])
    await until(lambda: str(leader.pubkey()) in trader.leaders, "the trader follows the leader")

    queued = trader.leader_trades
    bot.net.launchpad.buy(mint, stranger, lamports=SOL // 2)  # nobody follows this one
    await asyncio.sleep(1.0)
    assert trader.leader_trades == queued
    assert await bot.orders_of(user) == []

    after = user.last_id()
    signature = bot.net.launchpad.buy(mint, leader, lamports=SOL)
    told = await user.wait_for(copied, after=after, what="with the copied buy")
    assert "✅ Bought" in plain(told["text"]), plain(told["text"])
    (order,) = await bot.orders_of(user)
    assert (order["side"], order["status"], order["amount"]) == ("BUY", "CONFIRMED", 50_000_000)
    assert order["idempotencyKey"] == copy_key(follow_id, signature)
    assert venue_of(order) == "pumpfun"
    assert landed_ok(bot, order["signature"])
    held = curve_tokens(bot, mint, wallet)
    assert held == order["outAmount"] > 0

    # the same leader trade again: a replayed event, then a restarted trader (fresh memory)
    replay = LeaderTrade(
        leader=str(leader.pubkey()), mint=str(mint), is_buy=True, sol_amount=SOL,
        token_amount=1, signature=signature, source="pumpfun",
    )  # fmt: skip
    assert [r.order_id for r in await trader.mirror(replay)] == [order["id"]]
    restarted = CopyTrader(
        follows=CopyRepository(bot.app.database), positions=bot.app.repos.positions,
        trading=bot.app.trading, transactions=bot.app.stack.rpc.get_transaction,  # type: ignore[union-attr]
    )  # fmt: skip
    await restarted.refresh()
    await restarted.mirror(replay)
    await asyncio.sleep(0.5)
    assert len(await bot.orders_of(user)) == 1

    # a second buy would make 0.10 SOL today: past the 0.08 SOL a day
    after = user.last_id()
    bot.net.launchpad.buy(mint, leader, lamports=SOL // 2)
    refused = await user.wait_for(
        lambda m: "Not copied" in m.get("text", ""), after=after, what="the day's limit"
    )
    assert "the day's limit of 0.08 SOL is reached" in plain(refused["text"])
    assert len(await bot.orders_of(user)) == 1

    # the leader sells a third of its bag: the user sells a third of theirs
    before = curve_tokens(bot, mint, leader.pubkey())
    sold = before // 3
    after = user.last_id()
    bot.net.launchpad.sell(mint, leader, tokens=sold)
    told = await user.wait_for(copied, after=after, what="with the copied sale")
    assert "sale of" in plain(told["text"])
    _, sell = await bot.orders_of(user)
    assert (sell["side"], sell["status"]) == ("SELL", "CONFIRMED")
    assert sell["amount"] == sell_amount(held, before, sold) == held * sold // before
    assert curve_tokens(bot, mint, wallet) == held - sell["amount"]

    listed = await user.says("/copy list", until=lambda t: "Wallets you copy" in t)
    assert f"#{follow_id} " in plain(listed["text"])
    await expect(user, f"/copy remove {follow_id}", "Stopped copying")
    await until(lambda: str(leader.pubkey()) not in trader.leaders, "the follow is dropped")
    bot.net.launchpad.buy(mint, leader, lamports=SOL // 10)
    await asyncio.sleep(1.0)
    assert len(await bot.orders_of(user)) == 2


async def test_a_followed_wallets_pumpswap_buy_is_seen_in_its_logs_and_the_risk_check_applies(
    bot: BotUnderTest,
) -> None:
    """No curve event here: the leader's PumpSwap swap reaches the copy trader through its
    logsSubscribe mentions of the wallet, decoded from getTransaction's token balances; the copy
    goes through the executor's risk check like any buy."""
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    creator, whale, leader = Keypair(), Keypair(), Keypair()
    for who, lamports in ((creator, 2 * SOL), (whale, 200 * SOL), (leader, 5 * SOL)):
        bot.net.cluster.airdrop(who.pubkey(), lamports)
    mint = bot.net.launchpad.launch(creator, name="Grad", symbol="GRAD").mint
    bot.net.launchpad.graduate(mint, whale)
    trader = copy_trader(bot)
    added = await user.says(
        f"/copy add {leader.pubkey()} 10%", until=lambda t: "Copy trading on" in t
    )
    follow_id = int(plain(added["text"]).split("#", 1)[1].split(" ", 1)[0])
    await until(lambda: str(leader.pubkey()) in trader.leaders, "the trader follows the leader")
    await asyncio.sleep(0.5)  # the logs subscription is sent with the refresh

    after = user.last_id()
    signature = PumpSwapMarket(bot.net.cluster, 11).buy(mint, leader, lamports=SOL)
    told = await user.wait_for(
        lambda m: "👥 Copy failed" in m.get("text", "") and final(m.get("text", "")),
        after=after, what="with the copy the risk check refused",
    )  # fmt: skip
    # the whale that graduated the coin holds nearly all of it: the buy's risk check refuses
    assert "❌" in plain(told["text"]), plain(told["text"])
    (order,) = await bot.orders_of(user)
    assert order["idempotencyKey"] == copy_key(follow_id, signature)
    assert (order["side"], order["status"]) == ("BUY", "FAILED")
    assert "honeypot" in str(order["error"])
    assert bot.landed_from(wallet) == []  # nothing signed for a refused copy
    (row,) = await sql_rows(bot.app, 'SELECT * FROM "CopyTrade" WHERE "followId" = :f', f=follow_id)
    assert (row["status"], row["orderId"]) == ("FAILED", order["id"])  # not counted as spent
    tx = await bot.app.stack.rpc.get_transaction(Signature.from_string(signature))  # type: ignore[union-attr]
    assert tx is not None
    decoded = decode_leader_trade(tx, str(leader.pubkey()))
    assert decoded is not None
    assert (decoded.mint, decoded.is_buy) == (str(mint), True)
    assert decoded.token_amount == curve_tokens(bot, mint, leader.pubkey())
    # the leader's SOL: the swap's lamports plus the new token account's rent
    assert SOL <= decoded.sol_amount <= SOL + SOL // 100
    assert order["amount"] == decoded.sol_amount * 1_000 // 10_000  # 10 % of the leader's


async def test_a_copy_claimed_by_a_process_that_died_before_its_order_is_placed_once(
    bot: BotUnderTest,
) -> None:
    """kill -9 between the claim and the order leaves a PLACED row without one: the recovery
    pass submits it under the same key, once, however often it runs."""
    user = bot.user()
    wallet = await user.funded(SOL)
    leader = Keypair().pubkey()
    mint = bot.launch("honest").mint
    added = await user.says(f"/copy add {leader} 0.02", until=lambda t: "Copy trading on" in t)
    follow_id = int(plain(added["text"]).split("#", 1)[1].split(" ", 1)[0])
    follows = CopyRepository(bot.app.database)
    (follow,) = [f for f in await follows.list_active() if f.id == follow_id]
    record, created = await follows.claim_buy(
        follow_id, "died-before-the-order", str(mint), lambda spent: decide_buy(follow, SOL, spent)
    )
    assert created
    assert (record.status, record.lamports, record.order_id) == ("PLACED", 20_000_000, None)
    restarted = CopyTrader(
        follows=follows, positions=bot.app.repos.positions, trading=bot.app.trading,
        transactions=bot.app.stack.rpc.get_transaction,  # type: ignore[union-attr]
        recover_after_s=0.0,
    )  # fmt: skip
    await asyncio.gather(restarted.recover(), restarted.recover())
    await restarted.recover()
    (order,) = await bot.orders_of(user)
    assert order["idempotencyKey"] == copy_key(follow_id, "died-before-the-order")
    assert (order["side"], order["amount"]) == ("BUY", 20_000_000)
    assert await follows.list_unordered(timedelta(0)) == []
    assert bot.token_balance(wallet, mint) == order["outAmount"] > 0


async def expect(user: User, text: str, words: str) -> None:
    reply = await user.says(text, until=lambda t: words in plain(t), what=f"'{words}'")
    assert "Something went wrong" not in plain(reply.get("text", ""))


async def test_every_bad_copy_input_gets_its_sentence(bot: BotUnderTest) -> None:
    user = bot.user()
    own = await user.funded(SOL)
    leader = Keypair().pubkey()
    mint = bot.launch("honest").mint
    for text, words in [
        ("/copy", "Usage:\n/copy add WALLET SOL|PCT%"),
        (f"/copy add {leader}", "Usage:"),
        (f"/copy add {leader} 0.1 1 2 3 sell", "Usage:"),
        ("/copy add notawallet 0.1", "That is not a wallet address."),
        (f"/copy add {mint} 0.1", "That is not a wallet address."),
        (f"/copy add {own} 0.1", "That is one of your own wallets"),
        (f"/copy add {leader} 0", "The amount must be greater than 0."),
        (f"/copy add {leader} -1", "The amount must be greater than 0."),
        (f"/copy add {leader} lots", "'lots' is not a number"),
        (f"/copy add {leader} 0.00001", "A copy must be at least 0.0001 SOL."),
        (f"/copy add {leader} 0%", "The share of the leader's size must be greater than 0%."),
        (f"/copy add {leader} -5%", "The share of the leader's size must be greater than 0%."),
        (f"/copy add {leader} 150%", "The share of the leader's size is at most 100%."),
        (f"/copy add {leader} 1.234%", "is not a percentage"),
        (f"/copy add {leader} 0.1 -2", "The max per trade: the amount must be greater than 0."),
        (f"/copy add {leader} 0.1 1 0", "The max per day: the amount must be greater than 0."),
        (f"/copy add {leader} 0.5 0.1", "The size (0.5 SOL) is above your max per trade"),
        (f"/copy add {leader} 10% 2 1", "The max per trade (2 SOL) is above the max per day"),
        ("/copy remove", "Usage: /copy remove ID"),
        ("/copy remove abc", "Usage: /copy remove ID"),
        ("/copy remove 99999999999999999999999", "No such followed wallet."),
        ("/copy list", "You follow no wallet yet."),
    ]:
        await expect(user, text, words)
    await expect(user, f"/copy add {leader} 25%", "25 % of the leader's size a buy, buys only")
    await expect(user, f"/copy add {leader} 0.1", "You already follow this wallet")
    max_leaders = bot.app.settings.trading.copy_max_leaders
    for _ in range(max_leaders - 1):
        await expect(user, f"/copy add {Keypair().pubkey()} 0.1", "Copy trading on")
    await expect(
        user, f"/copy add {Keypair().pubkey()} 0.1", f"the most there can be ({max_leaders})"
    )
    other = bot.user()
    await other.start()
    listed = await user.says("/copy list", until=lambda t: "Wallets you copy" in t)
    first = int(plain(listed["text"]).split("#", 1)[1].split(" ", 1)[0])
    await expect(other, f"/copy remove {first}", "No such followed wallet.")
