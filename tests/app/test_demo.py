"""`sniper-bot demo` end to end: buy, honeypot blocked, sell, snipes (a Raydium pool, a pump.fun
coin on its curve, sold back), withdraw, take-profit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localnet.market.keys import derive_keypair
from sniper_bot.demo import run_demo


# the whole demo script, ~20 s on an idle machine: allow for two busy cores (each step keeps its own
# STEP_TIMEOUT_S, and a step the bot answered otherwise fails at once)
@pytest.mark.timeout(360)
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
