"""`sniper-bot demo` end to end: buy, honeypot blocked, sell, snipes (a Raydium pool, a pump.fun
coin on its curve, sold back), withdraw, take-profit."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import pytest

import localnet.node
from e2e.harness import CHAT_PACE_SCALE
from localnet.market.keys import derive_keypair
from localnet.telegram import fake as fake_telegram
from sniper_bot.demo import run_demo
from sniper_bot.telegram import bot as telegram_bot
from sniper_bot.telegram import limits as telegram_limits


@pytest.fixture
def scaled_chat_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's fake Bot API and its bot's pacer at ``CHAT_PACE_SCALE`` times the per-chat rate,
    as in the e2e harness: nearly every reply of the script waited ~1 s for its chat slot. The
    shipped pace is what `sniper-bot demo` runs in test_cli (and tests/telegram, tests/localnet)."""
    rate = fake_telegram.CHAT_RATE_PER_S * CHAT_PACE_SCALE
    monkeypatch.setattr(
        localnet.node,
        "FakeTelegram",
        functools.partial(fake_telegram.FakeTelegram, chat_rate_per_s=rate),
    )
    pacer = functools.partial(
        telegram_limits.FloodPacer, chat_rate=telegram_limits.CHAT_RATE_PER_S * CHAT_PACE_SCALE
    )
    monkeypatch.setattr(telegram_bot, "FloodPacer", pacer)


# the whole demo script, ~20 s on an idle machine: allow for two busy cores (each step keeps its own
# STEP_TIMEOUT_S, and a step the bot answered otherwise fails at once)
@pytest.mark.timeout(360)
@pytest.mark.usefixtures("scaled_chat_pace")
async def test_demo_script_completes_with_a_buy_a_sell_and_a_fired_snipe(tmp_path: Path) -> None:
    await run_demo(seed=11, metrics_port=0, data_dir=tmp_path, duration_s=0.1)
    pump_mint = derive_keypair(11, "pumpfun:MOON").pubkey()
    db = sqlite3.connect(tmp_path / "sniper-bot.sqlite")
    try:
        rows = db.execute(
            'SELECT kind, side, status FROM "SniperOrder" ORDER BY "createdAt"'
        ).fetchall()
        venues = db.execute(
            'SELECT json_extract(quote, \'$.venue\') FROM "SniperOrder" WHERE "tokenMint" = ? '
            'ORDER BY "createdAt"',
            (str(pump_mint),),
        ).fetchall()
        snipes = db.execute('SELECT status FROM "SnipeTarget"').fetchall()
        withdrawals = db.execute('SELECT asset, amount, status FROM "Withdrawal"').fetchall()
        checks = db.execute('SELECT risk_score, is_honeypot FROM "HoneypotCheck"').fetchall()
    finally:
        db.close()
    assert rows == [
        ("MANUAL", "BUY", "CONFIRMED"),
        ("MANUAL", "SELL", "CONFIRMED"),
        ("SNIPE", "BUY", "CONFIRMED"),
        ("SNIPE", "BUY", "CONFIRMED"),  # the pump.fun coin, on its curve
        ("MANUAL", "SELL", "CONFIRMED"),  # sold back into the curve
        ("MANUAL", "BUY", "CONFIRMED"),
        ("MANUAL", "SELL", "CONFIRMED"),  # the automatic take-profit
    ]
    assert snipes == [("FIRED",), ("FIRED",)]
    assert venues == [("pumpfun",), ("pumpfun",)]  # the MOON snipe and sell, both on the curve
    assert withdrawals == [("SOL", 500_000_000, "CONFIRMED")]
    assert any(score >= 70 and honeypot for score, honeypot in checks)
    assert any(score < 30 for score, _ in checks)
