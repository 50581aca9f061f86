"""Issue 18 item 5 through the real bot, the fake Telegram and localnet (SQLite, and PostgreSQL +
Redis): a paper user's ``/snipe next`` filter snipe and ``/snipe dev CREATOR`` snipe arm on paper
(no durable nonce), are matched by the hot path's armed book on the next matching pump.fun create
and fill in the paper book once each, every message marked 📝 PAPER; not a lamport moves, no
transaction from the wallet, no real order. A real user's filter snipe on the same create still
fires for real (a signed buy that lands)."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair

from .harness import SOL, BotUnderTest, final, plain, sql_rows
from .test_filter_snipe import launch_with_dev_buy
from .test_paper import rpc_balance
from .test_paper_standing import PAPER, paper_keys, paper_on
from .test_pumpfun import curve_tokens, landed_ok, steady_slots

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def targets_of(bot: BotUnderTest, telegram_id: int) -> list[dict[str, object]]:
    return await sql_rows(
        bot.app,
        'SELECT t.id, t.status, t.paper, t."tokenMint", t."nonceAccount" FROM "SnipeTarget" t '
        'JOIN "User" u ON u.id = t."userId" WHERE u."telegramId" = :tg ORDER BY t.id',
        tg=telegram_id,
    )


async def test_paper_filter_and_creator_snipes_fill_on_paper_beside_a_real_one(
    bot: BotUnderTest,
) -> None:
    paper_user, real_user = bot.user(), bot.user()
    paper_wallet = await paper_user.funded(2 * SOL)
    real_wallet = await real_user.funded(2 * SOL)
    await paper_on(paper_user)
    await steady_slots(bot)
    dev, other = Keypair(), Keypair()
    bot.net.cluster.airdrop(dev.pubkey(), 20 * SOL)
    bot.net.cluster.airdrop(other.pubkey(), 20 * SOL)

    armed = await paper_user.says(
        "/snipe next 0.04 name=moon", until=lambda t: "ARMED" in t, what="paper filter armed"
    )
    assert PAPER in plain(armed["text"]), armed["text"]
    armed = await paper_user.says(
        f"/snipe dev {dev.pubkey()} 0.03", until=lambda t: "ARMED" in t, what="paper dev armed"
    )
    assert PAPER in plain(armed["text"]), armed["text"]
    rows = await targets_of(bot, paper_user.user_id)
    assert [(bool(r["paper"]), r["nonceAccount"]) for r in rows] == [(True, None)] * 2
    await real_user.says(
        "/snipe next 0.05 name=moon", until=lambda t: "ARMED" in t, what="real filter armed"
    )

    paper_after, real_after = paper_user.last_id(), real_user.last_id()
    sun = launch_with_dev_buy(bot, other, "Sun Coin", "SUN", 0)  # matches nobody
    moon = launch_with_dev_buy(bot, dev, "To The MOON", "TTM", 0)  # matches all three
    settled = await paper_user.wait_for_many(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        2, after=paper_after, what="the two paper snipes",
    )  # fmt: skip
    for message in settled:
        text = plain(message["text"])
        assert text.startswith(f"{PAPER} · 🎯 Snipe settled (simulated)"), text
        assert "✅ Bought" in text, text
        assert "Tx:" not in text
    (real,) = await real_user.wait_for_many(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        1, after=real_after, what="the real filter snipe",
    )  # fmt: skip
    assert "✅ Bought" in plain(real["text"])
    assert PAPER not in plain(real["text"])
    (order,) = await bot.orders_of(real_user)
    assert (order["tokenMint"], order["kind"], order["status"]) == (str(moon), "SNIPE", "CONFIRMED")
    assert landed_ok(bot, order["signature"])
    assert curve_tokens(bot, moon, real_wallet) == int(order["outAmount"]) > 0

    rows = await targets_of(bot, paper_user.user_id)
    assert [(r["status"], r["tokenMint"]) for r in rows] == [("FIRED", str(moon))] * 2
    # one paper fill per target, under its snipe:<id> key
    keys = sorted(await paper_keys(bot, paper_user))  # filled concurrently: any order
    assert keys == sorted(f"snipe:{r['id']}" for r in rows)
    # nothing on chain for the paper user: not a lamport, no transaction, no real order
    assert await rpc_balance(bot, paper_wallet) == 2 * SOL
    assert bot.txs.seen_from(paper_wallet) == []
    assert await bot.orders_of(paper_user) == []
    assert curve_tokens(bot, moon, paper_wallet) == curve_tokens(bot, sun, paper_wallet) == 0

    # a later matching create fills nothing more: each target fired once
    later = launch_with_dev_buy(bot, dev, "Moon Again", "MAG", 0)
    await real_user.says("/snipe", until=lambda t: "Snipes" in t, what="a round trip")
    assert len(await paper_keys(bot, paper_user)) == 2
    assert curve_tokens(bot, later, real_wallet) == 0
