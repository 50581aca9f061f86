"""A DCA plan survives ``kill -9`` without a double part: ``sniper-bot run`` (a real process on
localnet and PostgreSQL) is killed the moment part 0's order row exists (before or while it
lands, usually before ``partsDone`` advances); the restarted process replays ``dca:<id>:0`` (the
same order), then runs part 1: two orders, two swaps on chain, the tokens of exactly two buys."""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path

import asyncpg
import pytest
from solders.pubkey import Pubkey

from chaos.orders import asyncpg_dsn, eventually
from e2e.harness import SOL, TxRecorder, User, e2e_env, running_net
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


async def test_a_dca_plan_killed_during_a_part_resumes_without_doubling_it(
    tmp_path: Path,
) -> None:
    async with postgres_database("sniper_dca_kill") as database_url, running_net(seed=17) as net:
        txs = TxRecorder()
        net.cluster.add_transaction_guard(txs)
        env = _base_env(tmp_path) | e2e_env(net, tmp_path, database_url=database_url)
        env |= {"SESSION_MASTER_SECRET": secrets.token_hex(32), "METRICS_PORT": str(free_port())}
        await _migrate(env)
        log = tmp_path / "stderr.log"
        proc = await _start(env, tmp_path, log)
        try:
            user = User(net, 950_001)
            wallet = await user.funded(2 * SOL)
            token = net.factory.create("honest", liquidity_sol=200)
            await user.says(f"/dca buy {token.mint} 0.1 2 10s",
                            until=lambda t: "DCA plan started" in t, what="the plan")  # fmt: skip

            async def part0_ordered() -> bool:
                rows = await _fetch(database_url, 'SELECT 1 FROM "SniperOrder" WHERE '
                                    "\"idempotencyKey\" LIKE 'dca:%:0'")  # fmt: skip
                return bool(rows)

            await eventually(part0_ordered, "part 0's order row", 60)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            (plan,) = await _fetch(database_url, 'SELECT id, "partsDone" FROM "DcaPlan"')
            at_kill = await _fetch(database_url, 'SELECT status FROM "SniperOrder"')
            print(f"at the kill: partsDone={plan['partsDone']} orders={[r[0] for r in at_kill]}")

            proc = await _start(env, tmp_path, log)

            async def done() -> bool:
                rows = await _fetch(database_url, 'SELECT status, "partsDone" FROM "DcaPlan"')
                orders = await _fetch(database_url, 'SELECT status FROM "SniperOrder"')
                return tuple(rows[0]) == ("DONE", 2) and all(
                    o[0] in ("CONFIRMED", "FAILED") for o in orders
                )

            await eventually(done, "the plan DONE and its orders final", 120)
            orders = await _fetch(
                database_url,
                'SELECT "idempotencyKey", status, amount, "outAmount" FROM "SniperOrder" '
                'ORDER BY "idempotencyKey"',
            )
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()

        assert [r["idempotencyKey"] for r in orders] == [f"dca:{plan['id']}:0",
                                                         f"dca:{plan['id']}:1"]  # fmt: skip
        assert [r["status"] for r in orders] == ["CONFIRMED", "CONFIRMED"]
        assert sum(r["amount"] for r in orders) == SOL // 10
        held = sum(
            int.from_bytes(bytes(a.data[64:72]), "little")
            for _, a in net.cluster.token_accounts_by_owner(wallet, mint=Pubkey.from_string(
                str(token.mint)))
        )  # fmt: skip
        assert held == sum(r["outAmount"] for r in orders)  # exactly two buys' tokens
        landed = [s for s in txs.seen_from(wallet) if (o := net.cluster.history.get(s)) and o.ok]
        assert len(landed) == 2, landed
