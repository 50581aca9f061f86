"""A ladder survives ``kill -9`` without a double or skipped step: ``sniper-bot run`` (a real
process on localnet and PostgreSQL) holds a pump.fun position with the ladder 50 % at 1.3x, 25 % at
1.8x (set with /ladder through the fake Telegram); another trader's buy lifts the curve past 1.3x
and the process is killed the moment step 1's order row (``exit:<id>:<opened_at>:tp1``) exists.
The restarted process finishes step 1 under that same key (replayed or recovered: one order, one
sale on chain) and does not sell it again; the trader's next buy past 1.8x sells step 2 once.
The wallet's tokens on chain are exactly the buy's less the two steps' amounts."""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path

import asyncpg
import pytest
from solders.keypair import Keypair

from chaos.orders import asyncpg_dsn, eventually
from e2e.harness import SOL, User, e2e_env, plain, running_net
from e2e.test_process import SNIPER_BOT, _base_env, _migrate, _wait_healthy
from support.services import free_port, postgres_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def _start(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            SNIPER_BOT, "run", env=env, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    await _wait_healthy(f"http://127.0.0.1:{env['METRICS_PORT']}/health", proc)
    return proc


async def _fetch(database_url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


SELLS = (
    'SELECT "idempotencyKey", status, amount, signature FROM "SniperOrder" WHERE side = \'SELL\' '
    'ORDER BY "createdAt"'
)


async def test_a_kill_between_ladder_steps_neither_repeats_nor_skips_a_step(
    tmp_path: Path,
) -> None:
    async with postgres_database("sniper_ladder_kill") as database_url, running_net(seed=19) as net:
        env = _base_env(tmp_path) | e2e_env(net, tmp_path, database_url=database_url)
        env |= {"SESSION_MASTER_SECRET": secrets.token_hex(32), "METRICS_PORT": str(free_port())}
        await _migrate(env)
        log = tmp_path / "stderr.log"
        proc = await _start(env, tmp_path, log)
        try:
            user = User(net, 951_001)
            wallet = await user.funded(2 * SOL)
            saved = await user.says("/ladder 1.3x:50 1.8x:25", until=lambda t: "Saved" in t)
            assert "50% at 1.3x, 25% at 1.8x" in plain(saved["text"])
            await _fetch(database_url, 'UPDATE "UserSettings" SET "slippageBps" = 1500')
            creator = Keypair()
            net.cluster.airdrop(creator.pubkey(), 5 * SOL)
            mint = net.launchpad.launch(creator, name="Kill Ladder", symbol="KILL").mint
            card = None
            for _ in range(30):  # the coin readable at the bot's commitment
                reply = await user.says(str(mint), until=lambda t: "Risk:" in t or "No token" in t)
                if "Risk:" in reply["text"]:
                    card = reply
                    break
                await asyncio.sleep(0.2)
            assert card is not None
            bought = await user.presses(card, "Buy 0.1 SOL", until=lambda t: "✅" in t or "❌" in t)
            assert "✅ Bought" in plain(bought["text"]), plain(bought["text"])
            held = int(net.launchpad.token_balance(mint, wallet))
            assert held > 0
            await asyncio.sleep(5)  # two exit passes: the position is watched

            trader = Keypair()
            net.cluster.airdrop(trader.pubkey(), 40 * SOL)
            net.launchpad.buy(mint, trader, lamports=6 * SOL)  # about x1.45: step 1

            async def step1_ordered() -> bool:
                rows = await _fetch(database_url, 'SELECT 1 FROM "SniperOrder" WHERE '
                                    "\"idempotencyKey\" LIKE 'exit:%:tp1'")  # fmt: skip
                return bool(rows)

            await eventually(step1_ordered, "step 1's order row", 60)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            at_kill = await _fetch(database_url, SELLS)
            print(f"at the kill: {[(r[0][-4:], r[1]) for r in at_kill]}")

            proc = await _start(env, tmp_path, log)

            async def step1_done() -> bool:
                rows = await _fetch(database_url, SELLS)
                return [r["status"] for r in rows] == ["CONFIRMED"]

            await eventually(step1_done, "step 1 confirmed once", 90)
            await asyncio.sleep(5)  # passes after the restart: step 1 is not sold again
            (first,) = await _fetch(database_url, SELLS)
            assert first["amount"] == held * 50 // 100
            assert int(net.launchpad.token_balance(mint, wallet)) == held - first["amount"]

            net.launchpad.buy(mint, trader, lamports=9 * SOL)  # about x2.2: step 2

            async def step2_done() -> bool:
                rows = await _fetch(database_url, SELLS)
                return len(rows) == 2 and all(r["status"] == "CONFIRMED" for r in rows)

            await eventually(step2_done, "step 2 confirmed", 90)
            await asyncio.sleep(3)
            sells = await _fetch(database_url, SELLS)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()

        assert [str(r["idempotencyKey"]).rsplit(":", 1)[1] for r in sells] == ["tp1", "tp2"]
        left = held - sells[0]["amount"]
        assert sells[1]["amount"] == left * 25 // 50
        assert int(net.launchpad.token_balance(mint, wallet)) == left - sells[1]["amount"]
        # no step twice: the tokens on chain above are exactly the buy's less the two steps'
        assert len({r["signature"] for r in sells}) == 2
