"""The hot path through the real bot and the fake Telegram: ``/snipe MINT SOL`` on a coin that does
not exist yet and ``/snipe dev CREATOR SOL`` both arm with their own durable nonce; the creator
launches that mint on localnet's pump program; both buys are built from the create event, land,
the user is told and holds the tokens as positions. Event -> wire latency is printed (never
asserted)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from sniper_bot.domain.money import format_tokens
from sniper_bot.solana.programs import PUMP_PROGRAM_ID

from .harness import SOL, BotUnderTest, final, plain, sql_rows
from .test_pumpfun import curve_tokens, landed_ok, steady_slots
from .test_trade_settings import press_setting

pytestmark = pytest.mark.asyncio(loop_scope="module")


def quote_of(order: dict[str, Any]) -> dict[str, Any]:
    quote = order["quote"]
    return dict(json.loads(quote) if isinstance(quote, str) else quote)


async def test_mint_and_creator_snipes_fire_from_the_create_and_land(bot: BotUnderTest) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    mint_kp, creator = Keypair(), Keypair()
    mint = mint_kp.pubkey()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)

    armed = await user.says(f"/snipe {mint} 0.05", until=lambda t: "ARMED" in t, what="armed")
    assert "ARMED: 0.05 SOL of" in plain(armed["text"])
    dev = await user.says(
        f"/snipe dev {creator.pubkey()} 0.03", until=lambda t: "ARMED" in t, what="dev armed"
    )
    assert f"the next coin of dev {str(creator.pubkey())[:4]}" in plain(dev["text"])
    targets = await sql_rows(
        bot.app,
        'SELECT id, "nonceAccount", "nonceValue", "nonceStatus" FROM "SnipeTarget" ORDER BY id',
    )
    mine = targets[-2:]
    assert all(t["nonceAccount"] and t["nonceStatus"] == "READY" for t in mine), mine

    after = user.last_id()
    bot.net.launchpad.launch(creator, name="Hot Coin", symbol="HOT", mint=mint_kp)
    settled = await user.wait_for_many(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        2,
        after=after,
        what="both snipe results",
    )
    assert all("✅ Bought" in m["text"] for m in settled), [plain(m["text"]) for m in settled]
    orders = await bot.orders_of(user)
    assert sorted(o["amount"] for o in orders) == [30_000_000, 50_000_000]
    blockhashes = set()
    for order in orders:
        assert (order["kind"], order["status"]) == ("SNIPE", "CONFIRMED")
        assert quote_of(order)["quote"]["fired"] is True  # recorded after the send
        assert landed_ok(bot, order["signature"])
        tx = VersionedTransaction.from_bytes(bytes(order["signedTx"]))
        blockhashes.add(str(tx.message.recent_blockhash))
    assert blockhashes == {t["nonceValue"] for t in mine}  # each carried its own armed nonce
    held = curve_tokens(bot, mint, wallet)
    assert held == sum(int(o["outAmount"]) for o in orders) > 0
    positions = await user.says("/positions", until=lambda t: "position" in t.lower())
    assert format_tokens(held, 6) in plain(positions["text"])
    fired = await sql_rows(bot.app, 'SELECT status, "tokenMint" FROM "SnipeTarget" ORDER BY id')
    assert [(r["status"], r["tokenMint"]) for r in fired[-2:]] == [("FIRED", str(mint))] * 2

    registry = bot.app.metrics.registry
    labels = {"source": "pumpfun", "venue": "pumpfun"}
    count = registry.get_sample_value("snipe_latency_seconds_count", labels)
    total = registry.get_sample_value("snipe_latency_seconds_sum", labels)
    assert count is not None
    assert count >= 2
    assert total is not None
    print(f"\nhot snipe event->wire: {count:.0f} orders, mean {total / count * 1000:.3f} ms")
    # landing slot - create slot, observed once per fired order after it landed
    deltas = registry.get_sample_value("landed_slot_delta_count", {"venue": "pumpfun"})
    delta_sum = registry.get_sample_value("landed_slot_delta_sum", {"venue": "pumpfun"})
    assert deltas is not None
    assert deltas >= 2
    assert delta_sum is not None
    assert 0 <= delta_sum <= 64 * deltas  # landed within the slots right after the create
    print(f"landed slot - create slot: mean {delta_sum / deltas:.1f} over {deltas:.0f} orders")


async def dumped_coins(bot: BotUnderTest, creator: Keypair, count: int) -> None:
    """``count`` coins of ``creator``, each dev buy sold back within seconds (a rug on a curve),
    seen by the bot's own pump.fun listener (its creator reputation counts the dumps)."""
    pad = bot.net.launchpad
    for n in range(count):
        done = pad.launch(creator, name=f"Rug {n}", symbol=f"RUG{n}", dev_buy_lamports=SOL // 2)
        pad.sell(done.mint, creator, tokens=done.dev_tokens)
    reputation = bot.app.stack.reputation
    for _ in range(500):
        stats = reputation.get(str(creator.pubkey()))
        if stats is not None and stats.dumps >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the bot never saw the dumps: {reputation.get(str(creator.pubkey()))}")


async def test_a_serial_ruggers_launch_is_not_bought_and_the_user_is_told_why(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    rugger, honest = Keypair(), Keypair()
    for dev in (rugger, honest):
        bot.net.cluster.airdrop(dev.pubkey(), 5 * SOL)
    await dumped_coins(bot, rugger, 2)
    for dev in (rugger, honest):
        await user.says(
            f"/snipe dev {dev.pubkey()} 0.02", until=lambda t: "ARMED" in t, what="dev armed"
        )

    after = user.last_id()
    coin = bot.net.launchpad.launch(rugger, name="Rug again", symbol="RUG3")
    (told,) = await user.wait_for_many(
        lambda m: "skipped this coin" in m.get("text", ""), 1, after=after, what="the skip"
    )
    text = plain(told["text"])
    assert "serial_rugger" in text, text
    assert "dumps=2" in text, text
    assert "ARMED" in text, text  # still waiting for the creator's next coin
    assert curve_tokens(bot, coin.mint, wallet) == 0
    assert not [o for o in await bot.orders_of(user) if o["tokenMint"] == str(coin.mint)]
    rows: list[dict[str, Any]] = []
    for _ in range(250):  # written after the decision, off the path
        rows = await sql_rows(
            bot.app, 'SELECT risk_score, details FROM "HoneypotCheck" WHERE token_mint = :mint',
            mint=str(coin.mint),
        )  # fmt: skip
        if rows:
            break
        await asyncio.sleep(0.02)
    (row,) = rows
    details = row["details"] if isinstance(row["details"], dict) else json.loads(row["details"])
    assert (details["source"], details["blocked"]) == ("hot_path", True)
    assert any(f["code"] == "serial_rugger" for f in details["findings"])

    after = user.last_id()
    honest_coin = bot.net.launchpad.launch(honest, name="Fair", symbol="FAIR")
    (settled,) = await user.wait_for_many(
        lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
        1, after=after, what="the honest snipe",
    )  # fmt: skip
    assert "✅ Bought" in settled["text"], plain(settled["text"])
    assert curve_tokens(bot, honest_coin.mint, wallet) > 0


async def test_mev_protection_never_reaches_the_public_mempool(bot: BotUnderTest) -> None:
    """This bot has no Jito block engine: with MEV protection a hot snipe is refused at arm
    time; one armed before the switch is refused at fire time (nothing signed or sent)."""
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    armed = await user.says(
        f"/snipe dev {creator.pubkey()} 0.02", until=lambda t: "ARMED" in t, what="dev armed"
    )
    assert "ARMED" in plain(armed["text"])
    screen = await user.says("/settings", until=lambda t: "Settings" in t, what="settings")
    await press_setting(user, screen, "MEV protection: off", shows="MEV protection: on")

    refused = await user.says(
        f"/snipe dev {Keypair().pubkey()} 0.02",
        until=lambda t: "MEV protection is on" in t, what="the arm refusal",
    )  # fmt: skip
    assert "no Jito block engine configured. Nothing was armed." in plain(refused["text"])
    targets = await sql_rows(
        bot.app, 'SELECT t.status FROM "SnipeTarget" t JOIN "User" u ON u.id = t."userId" '
        'WHERE u."telegramId" = :tg', tg=user.user_id,
    )  # fmt: skip
    assert [t["status"] for t in targets] == ["ARMED"]  # only the one armed before the switch

    pump_txs: list[str] = []  # every transaction of this wallet naming pump.fun that reaches
    # the cluster (RPC sendTransaction, simulation, or a bundle)

    def pump_guard(tx: VersionedTransaction) -> None:
        keys = list(tx.message.account_keys)
        if keys and keys[0] == wallet and PUMP_PROGRAM_ID in keys:
            pump_txs.append(str(tx.signatures[0]))

    bot.net.cluster.add_transaction_guard(pump_guard)
    hot = bot.app.hot_arming
    assert hot is not None
    assert await hot.reconcile_settings() == 1  # the armed one now carries MEV protection
    after = user.last_id()
    coin = bot.net.launchpad.launch(creator, name="Mempool", symbol="MEM")
    (told,) = await user.wait_for_many(
        lambda m: "Snipe settled" in m.get("text", ""), 1, after=after, what="the fire refusal"
    )
    text = plain(told["text"])
    assert "FAILED" in text, text
    assert "MEV protection is on" in text, text
    assert "nothing was sent" in text, text
    assert curve_tokens(bot, coin.mint, wallet) == 0
    await hot.wait_idle(5.0)
    assert pump_txs == []  # nothing signed for pump.fun, nothing sent to RPC
    assert not [o for o in await bot.orders_of(user) if o["tokenMint"] == str(coin.mint)]
