"""``/snipe next SOL CLAUSE...`` through the real bot and the fake Telegram: a filter snipe arms on
the hot path with its own durable nonce, is listed in /snipe in the words the user typed, and
fires on the next pump.fun create that matches every clause: a coin whose name does not match,
and one whose dev bought more than ``dev<=`` allows (in the create's own transaction), are not
bought; the matching one is, from the create event. Every bad clause gets its own sentence and
arms nothing."""

from __future__ import annotations

import pytest
from solders.compute_budget import set_compute_unit_limit
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.market import instructions as tix
from localnet.pump.launchpad import create_v2_instruction, trade_v2_instruction
from localnet.pump.state import BUYBACK_FEE_RECIPIENTS, FEE_RECIPIENTS
from sniper_bot.solana import pumpfun as pf

from .harness import SOL, BotUnderTest, final, plain, sql_rows
from .test_pumpfun import curve_tokens, landed_ok, steady_slots

pytestmark = pytest.mark.asyncio(loop_scope="module")


def launch_with_dev_buy(
    bot: BotUnderTest, dev: Keypair, name: str, symbol: str, dev_lamports: int
) -> Pubkey:
    """``create_v2`` and the dev's buy in ONE transaction (as the pump.fun UI sends them)."""
    pad, mint = bot.net.launchpad, Keypair()
    ixs = [set_compute_unit_limit(1_000_000),
           create_v2_instruction(mint.pubkey(), dev.pubkey(), dev.pubkey(), name, symbol,
                                 f"https://localnet.invalid/{mint.pubkey()}.json")]  # fmt: skip
    if dev_lamports > 0:
        tokens, _ = pad.project_buy(pad.initial_curve(dev.pubkey()), dev_lamports)
        user = dev.pubkey()
        ixs.append(tix.create_associated_token_account_idempotent(
            user, user, mint.pubkey(), pf.TOKEN_2022_PROGRAM_ID))  # fmt: skip
        ixs.append(trade_v2_instruction("buy", mint.pubkey(), user, user, tokens, dev_lamports * 2,
                                        FEE_RECIPIENTS[0], BUYBACK_FEE_RECIPIENTS[0]))  # fmt: skip
    cluster = bot.net.cluster
    message = MessageV0.try_compile(dev.pubkey(), ixs, [], cluster.latest_blockhash())
    outcome = cluster.send_transaction(VersionedTransaction(message, [dev, mint]))
    assert outcome.err is None, outcome.logs
    return mint.pubkey()


async def test_a_filter_snipe_fires_on_the_next_matching_create_only(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    dev = Keypair()
    bot.net.cluster.airdrop(dev.pubkey(), 20 * SOL)

    armed = await user.says(
        "/snipe next 0.04 name=moon,lune dev<=0.5", until=lambda t: "ARMED" in t, what="armed"
    )
    text = plain(armed["text"])
    assert "ARMED: 0.04 SOL of the next coin matching name=lune,moon dev<=0.5 SOL" in text, text
    assert "next pump.fun launch that matches" in text
    (row,) = await sql_rows(
        bot.app,
        'SELECT t."launchFilter", t."nonceStatus", t."tokenMint" FROM "SnipeTarget" t '
        'JOIN "User" u ON u.id = t."userId" WHERE u."telegramId" = :tg',
        tg=user.user_id,
    )
    assert row["nonceStatus"] == "READY"  # the hot path owns it: its own durable nonce
    assert row["tokenMint"] is None
    assert row["launchFilter"] == (
        '{"dev_buy_max_lamports":500000000,"name_contains":["lune","moon"]}'
    )
    listed = await user.says("/snipe", until=lambda t: "Snipes" in t, what="the list")
    assert "the next coin matching name=lune,moon dev<=0.5 SOL" in plain(listed["text"])

    after = user.last_id()
    sun = launch_with_dev_buy(bot, dev, "Sun Coin", "SUN", SOL // 10)  # name: no
    whale = launch_with_dev_buy(bot, dev, "Moon Whale", "MWH", SOL)  # dev bought 1 SOL > 0.5
    moon = launch_with_dev_buy(bot, dev, "To The MOON", "TTM", SOL // 5)  # every clause: yes
    (settled,) = await user.wait_for_many(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        1, after=after, what="the filter snipe",
    )  # fmt: skip
    assert "✅ Bought" in settled["text"], plain(settled["text"])
    (order,) = await bot.orders_of(user)
    assert (order["tokenMint"], order["kind"], order["status"]) == (str(moon), "SNIPE", "CONFIRMED")
    assert landed_ok(bot, order["signature"])
    assert curve_tokens(bot, moon, wallet) == int(order["outAmount"]) > 0
    assert curve_tokens(bot, sun, wallet) == curve_tokens(bot, whale, wallet) == 0
    fired = await sql_rows(
        bot.app,
        'SELECT t.status, t."tokenMint" FROM "SnipeTarget" t JOIN "User" u ON u.id = t."userId" '
        'WHERE u."telegramId" = :tg',
        tg=user.user_id,
    )
    assert [(r["status"], r["tokenMint"]) for r in fired] == [("FIRED", str(moon))]


BAD = [
    ("/snipe next", "Usage: /snipe next SOL CLAUSE..."),
    ("/snipe next 0.1", "Usage: /snipe next SOL CLAUSE..."),
    ("/snipe next lots name=moon", "'lots' is not a number"),
    ("/snipe next 0.1 moon", "'moon' is not a clause: write KEY=VALUE"),
    ("/snipe next 0.1 colour=red", "Unknown clause 'colour'; use name, symbol, dev"),
    ("/snipe next 0.1 name=", "'name=' has no value after '='."),
    ("/snipe next 0.1 name=a,,b", "name= has an empty word"),
    ("/snipe next 0.1 name=a name=b", "'name' is given twice"),
    ("/snipe next 0.1 dev=1", "Write the dev buy bound as dev<=SOL or dev>=SOL"),
    ("/snipe next 0.1 dev<=many", "dev<=many: 'many' is not a number"),
    ("/snipe next 0.1 dev<=1 dev>=2", "dev>=2 SOL is above dev<=1 SOL: no launch can match."),
    ("/snipe next 0.1 name<=x", "only dev takes <= or >=; write name=VALUE."),
    ("/snipe next 0.1 mayhem=maybe", "mayhem=maybe: write mayhem=yes or mayhem=no."),
    ("/snipe next 0.1 creator=notanaddress", "creator: 'notanaddress' is not a wallet address"),
    (
        "/snipe next 0.1 name=" + "x" * 33,
        "Filter name_contains term '" + "x" * 33 + "' has 33 characters; at most 32.",
    ),
    ("/snipe next 0.1 symbol=" + ",".join("abcdefghi"), "Filter symbol_contains has 9 terms"),
    (
        f"/snipe next 0.1 creator={Keypair().pubkey()} notcreator=SAME",
        "is both allowed and denied; pick one.",
    ),
    ("/snipe grad notamint 0.1", "Usage: /snipe grad MINT SOL"),
    (f"/snipe grad {Keypair().pubkey()} -1", "the amount must be greater than 0"),
]


async def test_every_bad_filter_clause_gets_its_sentence_and_arms_nothing(
    sqlite_bot: BotUnderTest,
) -> None:
    user = sqlite_bot.user()
    await user.funded(SOL)
    for command, sentence in BAD:
        if "notcreator=SAME" in command:
            same = command.split("creator=")[1].split()[0]
            command = command.replace("SAME", same)
        answer = await user.says(command, what=f"the answer to {command}")
        assert sentence in plain(answer["text"]), (command, plain(answer["text"]))
    rows = await sql_rows(
        sqlite_bot.app,
        'SELECT t.id FROM "SnipeTarget" t JOIN "User" u ON u.id = t."userId" '
        'WHERE u."telegramId" = :tg',
        tg=user.user_id,
    )
    assert rows == []
