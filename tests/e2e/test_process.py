"""`sniper-bot run` as an operator runs it: a real process, its exit code and its stderr."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sniper_bot.config import load_settings
from sniper_bot.storage.database import Database

from .harness import SOL, User, e2e_env, plain, running_net
from .services import free_port

pytestmark = pytest.mark.asyncio

SNIPER_BOT = str(Path(sys.executable).with_name("sniper-bot"))
BOOT_TIMEOUT_S = 120.0  # importing aiogram alone takes seconds on a busy machine
STOP_DEADLINE_S = 10.0
TOKEN = "123456789:AAe2e-shaped-like-a-real-token-0000"  # never reaches Telegram
FINAL = {"CONFIRMED", "FAILED", "EXPIRED", "CANCELLED"}


def _base_env(data_dir: Path) -> dict[str, str]:
    """A clean environment: nothing of the test process leaks into the bot's settings."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data_dir),
            "DATA_DIR": str(data_dir), "LOG_FORMAT": "json"}  # fmt: skip


async def _cli(
    *args: str, env: dict[str, str], cwd: Path, timeout_s: float = 60.0
) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        SNIPER_BOT,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


def _problem_lines(stderr: str) -> list[str]:
    """The operator-facing lines (structured logs may share stderr once logging is set up)."""
    return [line for line in stderr.splitlines() if line.startswith("config error ")]


async def test_bad_env_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    env = _base_env(tmp_path) | {
        "SESSION_MASTER_SECRET": secrets.token_hex(32),
        "BOT_TOKEN": TOKEN,
        "METRICS_PORT": "abc",
        "DEFAULT_SLIPPAGE_BPS": "0",
        "LOG_FORMAT": "xml",
    }

    code, stderr = await _cli("run", env=env, cwd=tmp_path)

    assert code == 2
    assert "Traceback" not in stderr
    lines = _problem_lines(stderr)
    assert lines == stderr.strip().splitlines()  # nothing but the problems, one per line
    assert len(lines) == 3, lines
    named = {line.removeprefix("config error ").split(":")[0] for line in lines}
    assert named == {"METRICS_PORT", "DEFAULT_SLIPPAGE_BPS", "LOG_FORMAT"}
    assert "(got 'abc'); expected a TCP port" in stderr


async def test_bad_env_reports_field_and_consistency_problems_together(tmp_path: Path) -> None:
    # A bad METRICS_PORT and no SESSION_MASTER_SECRET; everything else `run` needs is there.
    env = _base_env(tmp_path) | {"METRICS_PORT": "abc", "BOT_TOKEN": TOKEN}

    code, stderr = await _cli("run", env=env, cwd=tmp_path)

    assert code == 2
    named = {line.removeprefix("config error ").split(":")[0] for line in _problem_lines(stderr)}
    assert named == {"METRICS_PORT", "SESSION_MASTER_SECRET"}


async def test_run_refuses_an_unmigrated_database_and_names_the_fix(tmp_path: Path) -> None:
    env = _base_env(tmp_path) | {
        "SESSION_MASTER_SECRET": secrets.token_hex(32),
        "SOLANA_RPC_URL": "http://127.0.0.1:9",
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": "http://127.0.0.1:9",
    }

    code, stderr = await _cli("run", env=env, cwd=tmp_path)

    assert code == 2
    assert "Traceback" not in stderr
    lines = _problem_lines(stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("config error DATABASE_URL: the database schema is at nothing")
    assert "run `sniper-bot migrate`" in lines[0]


async def _wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.returncode is None, "sniper-bot run exited while starting"
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"sniper-bot run did not answer {url} within {BOOT_TIMEOUT_S:.0f} s")


async def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, "condition not met within 30 s"
        await asyncio.sleep(0.01)


async def _migrate(env: dict[str, str]) -> None:
    """What `sniper-bot migrate` does, in this process (an interpreter start costs seconds)."""
    settings = load_settings(env)
    database = Database(settings.database_url)
    try:
        await database.connect(attempts=1)
        await database.upgrade()
    finally:
        await database.dispose()


def _orders(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute('SELECT * FROM "SniperOrder" ORDER BY "createdAt"').fetchall()
        return [dict(row) for row in rows]
    finally:
        conn.close()


async def test_sigterm_stops_the_app_within_10_seconds_with_orders_persisted(
    tmp_path: Path,
) -> None:
    async with running_net(seed=9) as net:
        port = free_port()
        env = _base_env(tmp_path) | e2e_env(net, tmp_path)
        env |= {"SESSION_MASTER_SECRET": secrets.token_hex(32), "METRICS_PORT": str(port)}
        await _migrate(env)
        log = (tmp_path / "stderr.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            SNIPER_BOT, "run", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            t0 = time.monotonic()
            await _wait_healthy(f"http://127.0.0.1:{port}/health", proc)
            print(f"sniper-bot run answered /health after {time.monotonic() - t0:.1f} s")
            user = User(net, 910_001)
            await user.funded(2 * SOL)
            token = net.factory.create("honest", liquidity_sol=100)
            card = await user.card(token.mint)
            first = await user.buy(card, "Buy 0.1 SOL")
            assert "✅ Bought" in plain(first["text"])
            await user.press_data(card["message_id"], user.button(card, "Buy 0.5 SOL"))
            db = tmp_path / "sniper-bot.sqlite"
            await _until(lambda: len(_orders(db)) == 2)

            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), STOP_DEADLINE_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            log.close()

    assert code == 0
    logged = (tmp_path / "stderr.log").read_text()
    for event in ("service_failed", "service_cancelled", "service_stop_deadline"):
        assert event not in logged
    confirmed, in_flight = _orders(tmp_path / "sniper-bot.sqlite")
    assert (confirmed["status"], confirmed["amount"]) == ("CONFIRMED", SOL // 10)
    assert in_flight["amount"] == SOL // 2
    # Whatever the stop interrupted is on disk in a state recovery resumes from.
    if in_flight["status"] in ("SIGNED", "SENT"):
        assert in_flight["signature"]
        assert in_flight["signedTx"]
    else:
        assert in_flight["status"] in FINAL | {"PENDING", "QUOTED"}
