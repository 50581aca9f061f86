"""Issue 10 item 3: `sniper-bot run` killed (SIGKILL) or stopped (SIGTERM) while buys are in
flight, then started again: every order that ends reaches its owner exactly once.

A real process on localnet and PostgreSQL; ten users each press a buy button; the process is
signalled as soon as the first swap is signed (others are quoting, sending or landing). After the
restart, recovery finishes what was left; an owner learns the result either from the message the
handler showed before the stop or, for an order that ended untold, from the order outbox.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from e2e.harness import SOL, TxRecorder, User, e2e_env, running_net
from e2e.test_process import SNIPER_BOT, _base_env, _migrate, _wait_healthy
from support.services import free_port, postgres_database

from .orders import (
    FINAL,
    TOLD_QUIET_S,
    all_marked_told,
    asyncpg_dsn,
    eventually,
    order_rows,
    tally,
)

USERS = 10
SETTLE_S = 150.0  # generous: only bounds a failing run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


async def _start(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            SNIPER_BOT, "run", env=env, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    await _wait_healthy(f"http://127.0.0.1:{env['METRICS_PORT']}/health", proc)
    return proc


async def _stop(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    if proc.returncode is None:
        proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _first_signed(database_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    query = 'SELECT count(*) > 0 FROM "SniperOrder" WHERE signature IS NOT NULL'
    try:
        signed = False
        while not signed:
            await asyncio.sleep(0.01)  # a poll of the row, as an operator would watch it
            signed = bool(await conn.fetchval(query))
    finally:
        await conn.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_every_order_ended_around_a_stop_reaches_its_owner_once(
    tmp_path: Path, sig: signal.Signals
) -> None:
    async with postgres_database("sniper_chaos") as database_url, running_net(seed=13) as net:
        txs = TxRecorder()
        net.cluster.add_transaction_guard(txs)
        env = _base_env(tmp_path) | e2e_env(net, tmp_path, database_url=database_url)
        env |= {"SESSION_MASTER_SECRET": secrets.token_hex(32), "METRICS_PORT": str(free_port())}
        await _migrate(env)
        log = tmp_path / "stderr.log"
        proc = await _start(env, tmp_path, log)
        try:
            users = [User(net, 930_001 + i) for i in range(USERS)]
            wallets = list(await asyncio.gather(*(u.funded(2 * SOL) for u in users)))
            token = net.factory.create("honest", liquidity_sol=200)
            cards: list[dict[str, Any]] = list(
                await asyncio.gather(*(u.card(token.mint) for u in users))
            )
            for user, card in zip(users, cards, strict=True):
                await user.press_data(card["message_id"], user.button(card, "Buy 0.1 SOL"))
            await asyncio.wait_for(_first_signed(database_url), 60)
            await _stop(proc, sig)
            before = {r["id"]: r["status"] for r in await order_rows(database_url)}
            print(f"at the {sig.name}: {sorted(before.values())}")

            proc = await _start(env, tmp_path, log)

            async def all_final_and_told() -> bool:
                rows = await order_rows(database_url)
                if len(rows) < USERS or any(r["status"] not in FINAL for r in rows):
                    return False
                counts = (await tally(database_url, net, txs, wallets)).messages
                return all(n >= 1 for n in counts.values()) and all_marked_told(rows)

            try:
                await eventually(
                    all_final_and_told, "every order final, told and marked told", SETTLE_S
                )
                await asyncio.sleep(TOLD_QUIET_S)  # a second message would show by now
            finally:
                result = await tally(database_url, net, txs, wallets)
                recovered = sum(1 for s in before.values() if s not in FINAL)
                print(result.line(f"{sig.name} mid-buy") + f" | ended in recovery={recovered}")
        finally:
            await _stop(proc, signal.SIGTERM)

    assert len(result.orders) == USERS
    assert result.non_final == 0, result.statuses
    assert result.swaps_on_chain == result.trade_rows == result.statuses["CONFIRMED"]
    assert all(n == 1 for n in result.messages.values()), result.messages
