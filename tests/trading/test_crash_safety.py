"""Crash safety: SIGKILL a trading process at every state boundary, restart it, count the swaps.

For each kill point a fresh wallet and token: a real process (``crash_runner.py``) runs a buy and
kills itself with SIGKILL at a chosen boundary (``claimed``, ``quoted``, ``signed``, ``sent``,
``trade_recorded``, ``confirmed``) or a random delay after claiming the order (mid-flight: inside
an RPC call or a database write); a new process then runs
``TradingService.recover_all()`` (sometimes killed again mid-recovery, then restarted). The order
must end final, and the chain must show at most one landed swap: the wallet's token balance is
zero or exactly the recorded fill, its SOL dropped by exactly that fill's cost (or nothing, or
only a failed transaction's fee), and the trade and position were applied once. The
``trade_recorded`` kill is the gap between recording the trade and moving the order to
CONFIRMED (storage has no single call for both): recovery must close it without a second trade.

Randomised with a fixed seed (``CRASH_SEED`` overrides it); one localnet for the whole test.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount

from localnet.node import Localnet
from localnet.testing import running_localnet
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.solana.pda import associated_token_address
from sniper_bot.storage import Database, Repositories

RUNNER = Path(__file__).with_name("crash_runner.py")
SEED = int(os.environ.get("CRASH_SEED", "20240605"))
KILL_POINTS = int(os.environ.get("CRASH_KILL_POINTS", "54"))
PARALLEL = int(os.environ.get("CRASH_PARALLEL", "4"))
AIRDROP = 1_000_000_000
BUY_LAMPORTS = 10_000_000
BUY_BOUNDARIES = ("claimed", "quoted", "signed", "sent", "trade_recorded", "confirmed")
RECOVERY_BOUNDARIES = ("claimed", "pending", "quoted", "signed", "sent", "trade_recorded")
SECRET = SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80)

pytestmark = pytest.mark.slow


class Runner:
    """The fork server: one ``crash_runner.py serve`` process; each job is a forked child."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._ids = itertools.count()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._proc.stdout is not None
        async for line in self._proc.stdout:
            result = json.loads(line)
            self._waiting.pop(result["job"]).set_result(result)
        for future in self._waiting.values():
            future.set_exception(RuntimeError("crash runner exited; see its stderr"))

    async def run(self, **job: Any) -> dict[str, Any]:
        job_id = str(next(self._ids))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[job_id] = future
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps({**job, "job": job_id}) + "\n").encode())
        await self._proc.stdin.drain()
        return await asyncio.wait_for(future, timeout=60)

    async def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._proc.wait(), timeout=30)
        if self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        await self._reader


@dataclass
class Point:
    """One kill point: its own user, wallet and token."""

    n: int
    user_id: int
    wallet_id: int
    keypair: Keypair
    mint: Pubkey
    token_program: Pubkey
    kills: list[dict[str, Any]] = field(default_factory=list)

    @property
    def wallet(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "wallet_id": self.wallet_id,
            "secret": bytes(self.keypair).hex(),
        }


@dataclass
class Crash:
    net: Localnet
    repos: Repositories
    runner: Runner
    base: dict[str, Any]

    async def point(self, n: int) -> Point:
        token = self.net.factory.create("honest")
        kp = Keypair()
        self.net.cluster.airdrop(kp.pubkey(), AIRDROP)
        user = await self.repos.users.get_or_create(100_000 + n, f"kp{n}")
        wallet = await self.repos.wallets.create(user.id, str(kp.pubkey()), SECRET, "main")
        return Point(n, user.id, wallet.id, kp, token.mint, token.token_program)

    async def buy(self, p: Point, **kill: Any) -> dict[str, Any]:
        buy = {
            "user_id": p.user_id,
            "wallet_id": p.wallet_id,
            "mint": str(p.mint),
            "lamports": BUY_LAMPORTS,
            "key": f"buy-{p.n}",
        }
        result = await self.runner.run(
            **self.base,
            mode="buy",
            worker_id=kill.pop("worker_id", f"kp-{p.n}"),
            wallets=[p.wallet],
            buy=buy,
            **kill,
        )
        p.kills.append({"stage": "buy", **kill, **result})
        return result

    async def recover(self, worker_id: str, wallets: list[dict[str, Any]], **kw: Any) -> Any:
        return await self.runner.run(
            **self.base, mode="recover", worker_id=worker_id, wallets=wallets, **kw
        )

    def tokens_held(self, p: Point) -> int:
        ata = associated_token_address(p.keypair.pubkey(), p.mint, p.token_program)
        account = self.net.cluster.get_account(ata)
        if account is None:
            return 0
        return int(TokenAccount.from_bytes(bytes(account.data[:165])).amount)

    async def assert_at_most_one_swap(self, p: Point) -> str:
        orders = await self.repos.orders.list_for_user(p.user_id)
        spent = AIRDROP - self.net.cluster.get_balance(p.keypair.pubkey())
        held = self.tokens_held(p)
        trades = await self.repos.trades.list_trades(p.user_id)
        position = await self.repos.positions.get_position(p.user_id, p.wallet_id, str(p.mint))
        context = f"kill point {p.n}: {p.kills}"
        assert len(orders) <= 1, context
        if not orders:  # killed before the order row existed
            assert (spent, held, trades) == (0, 0, []), context
            return "no order"
        order = orders[0]
        assert order.is_final, f"{context}: {order}"
        if order.status is OrderStatus.CONFIRMED:
            assert order.out_amount is not None
            assert order.in_amount is not None
            assert order.fee_lamports is not None
            assert held == order.out_amount > 0, context
            assert spent == order.in_amount + order.fee_lamports, context
            assert [(t.order_id, t.signature) for t in trades] == [(order.id, order.signature)]
            assert position is not None
            assert position.token_amount == held, context
        else:
            assert held == 0, f"{context}: {order}"
            assert trades == [], context
            assert spent in (0, order.fee_lamports or 0), f"{context}: {order}"
        return order.status.value


@pytest.fixture
async def crash(pg_url: str, tmp_path: Path) -> AsyncIterator[Crash]:
    async with running_localnet(seed=5, slot_ms=50) as net:
        urls = net.urls
        assert urls is not None
        db = Database(pg_url, pool_size=5)
        await db.connect(attempts=1)
        await db.upgrade()
        stderr = (tmp_path / "crash_runner.stderr").open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(RUNNER),
            "serve",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
        runner = Runner(proc)
        base = {
            "rpc": [urls.rpc[name]["http"] for name in ("helius", "quicknode", "public")],
            "jupiter": urls.jupiter,
            "db": pg_url,
        }
        crash = Crash(net, Repositories.build(db), runner, base)
        try:
            # One buy inside the runner itself: its imports done and its SQL compiled once,
            # inherited by every process it forks afterwards.
            warm = await crash.point(-1)
            assert (await crash.buy(warm, warm=True))["exit"] == 0
            assert await crash.assert_at_most_one_swap(warm) == "CONFIRMED"
            yield crash
        finally:
            await runner.close()
            stderr.close()
            errors = (tmp_path / "crash_runner.stderr").read_text()
            if "Traceback" in errors:
                print(errors[-4000:])
            await db.dispose()


def _plan(rng: random.Random, n: int, buy_s: float) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The buy's kill (boundary, or a delay within one buy's duration) and, sometimes, a kill
    during the first recovery."""
    if n % 3 == 2:  # mid-flight: inside an HTTP call or a database write, not at a boundary
        buy_kill: dict[str, Any] = {"kill_after_claim_s": round(rng.uniform(0, 0.8) * buy_s, 3)}
    else:
        buy_kill = {"kill_at": [rng.choice(BUY_BOUNDARIES), 1]}
    again = {"kill_at": [rng.choice(RECOVERY_BOUNDARIES), 1]} if rng.random() < 0.3 else None
    return buy_kill, again


async def test_sigkill_at_any_boundary_then_recovery_ends_final_with_at_most_one_swap(
    crash: Crash,
) -> None:
    # How long one uninterrupted buy takes on this machine now: delays are drawn within it.
    calibration = await crash.point(-2)
    t = time.perf_counter()
    assert (await crash.buy(calibration))["exit"] == 0
    buy_s = time.perf_counter() - t
    assert await crash.assert_at_most_one_swap(calibration) == "CONFIRMED"
    rng = random.Random(SEED)
    plans = [_plan(rng, n, buy_s) for n in range(KILL_POINTS)]
    gate = asyncio.Semaphore(PARALLEL)
    killed_at: Counter[str] = Counter()

    async def one(n: int) -> str:
        buy_kill, recovery_kill = plans[n]
        async with gate:
            p = await crash.point(n)
            result = await crash.buy(p, **buy_kill)
            if "kill_at" in buy_kill:  # every buy passes every boundary: the kill must fire
                assert result["signal"] == 9, p.kills
                killed_at[buy_kill["kill_at"][0]] += 1
            else:
                assert result["signal"] == 9 or result["exit"] == 0, p.kills
                killed_at["mid-flight" if result["signal"] == 9 else "delay after the end"] += 1
            if recovery_kill is not None:
                again = await crash.recover(f"kp-{p.n}", [p.wallet], **recovery_kill)
                p.kills.append({"stage": "recover", **recovery_kill, **again})
            final = await crash.recover(f"kp-{p.n}", [p.wallet])
            assert final["exit"] == 0, p.kills
            return await crash.assert_at_most_one_swap(p)

    outcomes = Counter(await asyncio.gather(*(one(n) for n in range(KILL_POINTS))))
    print(f"seed={SEED} buy={buy_s:.3f}s outcomes={dict(outcomes)} kills={dict(killed_at)}")
    assert set(BUY_BOUNDARIES) <= set(killed_at)
    assert outcomes["CONFIRMED"] >= KILL_POINTS // 2, outcomes


async def test_two_concurrent_recovery_workers_produce_one_swap_per_order(crash: Crash) -> None:
    """Orders left at every boundary by dead workers with no lease; two workers race on all."""
    points = [await crash.point(1_000 + i) for i in range(len(BUY_BOUNDARIES) + 1)]
    assert BUY_BOUNDARIES[2:] == ("signed", "sent", "trade_recorded", "confirmed")
    kills = [{"kill_at": [b, 1]} for b in BUY_BOUNDARIES] + [{"kill_after_s": 0.0}]  # no order
    for p, kill in zip(points, kills, strict=True):
        await crash.buy(p, lease_s=0.0, **kill)
    wallets = [p.wallet for p in points]
    first, second = await asyncio.gather(
        crash.recover("recover-a", wallets, lease_s=0.0),
        crash.recover("recover-b", wallets, lease_s=0.0),
    )
    assert first["exit"] == second["exit"] == 0
    outcomes = [await crash.assert_at_most_one_swap(p) for p in points]
    assert outcomes[2:6] == ["CONFIRMED"] * 4, outcomes  # signed or later: the same bytes land
