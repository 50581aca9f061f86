"""Issue 15: the hot path's at-most-once, attacked with SIGKILL: "a crash or a second replica
never buys twice, every order final after restart", with no database write before the send.

Localnet (LiteSVM executing the real pump.fun buy) and real PostgreSQL. Each kill point is its
own user, wallet, durable nonce account (``NonceManager.create``) and ARMED target; a few points
share one real launch (its create event is what the buy is built from). A real process
(``test_hot_kill_runner.py``, forked by ``tests/trading/crash_runner.py``'s server) fires the
snipe as the hot path does, build -> send to every relay -> ``record_fired_snipe`` -> landing,
and is SIGKILLed at a random point: a boundary (built, sent, recorded, claimed, trade_recorded,
confirmed) or a random delay (inside the send, the insert, the landing's RPC calls). Some
points fire twice at once (two replicas: the same bytes, or other bytes for the same order, a
Jito tip making the difference), each replica killed independently. Then a restarted process
runs ``recover_all`` + ``recover_armed_nonce(void_unconsumed=True)``, itself killed sometimes,
and a last recovery runs to the end.

Per point, afterwards: at most one order; it is final; the wallet holds exactly the recorded
fill (CONFIRMED) or nothing; one trade row at most, with the order's signature; a landed buy is
never left without its order; the SOL spent is the fill plus fee plus whole void fees only.

Randomised with a fixed seed (``HOT_KILL_SEED`` overrides it).
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hotpath.conftest import Chain, build_rpc
from hotpath.test_build_localnet import create_event
from localnet.node import Localnet
from localnet.testing import running_localnet
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.hotpath.build import CurveLaunch
from sniper_bot.hotpath.nonce import NonceManager, RpcNonceChain
from sniper_bot.solana import pumpfun as pf
from sniper_bot.storage import Database, Repositories
from sniper_bot.wallet.sessions import UnlockedWallet
from trading.test_crash_safety import Runner

RUNNER = Path(__file__).with_name("test_hot_kill_runner.py")
SEED = int(os.environ.get("HOT_KILL_SEED", "15015"))
POINTS = int(os.environ.get("HOT_KILL_POINTS", "104"))
PARALLEL = 4
PER_LAUNCH = 8
AIRDROP = 200_000_000
BUY = 5_000_000
TIP = 20_000
VOID_FEE = 5_000
FIRE_BOUNDARIES = ("built", "sent", "recorded", "claimed", "trade_recorded", "confirmed")
RECOVERY_BOUNDARIES = ("claimed", "trade_recorded", "confirmed")
SECRET = SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80)

pytestmark = pytest.mark.slow


@dataclass
class Point:
    n: int
    user_id: int
    wallet_id: int
    keypair: Keypair
    target_id: int
    nonce_account: Pubkey
    nonce_value: str
    launch: CurveLaunch
    base_balance: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def wallet(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "wallet_id": self.wallet_id,
                "secret": bytes(self.keypair).hex()}  # fmt: skip


@dataclass
class Hot:
    net: Localnet
    rpc: SolanaRpc
    nonces: NonceManager
    repos: Repositories
    runner: Runner
    base: dict[str, Any]
    accounts: dict[str, str]
    tip_account: Pubkey

    async def launch(self) -> CurveLaunch:
        user = UnlockedWallet(user_id=0, wallet_id=0, pubkey=Pubkey.default(), keypair=Keypair())
        event, instruction = await create_event(Chain(self.net, self.rpc, self.nonces, user))
        return CurveLaunch.from_create_event(event, instruction)

    async def point(self, n: int, launch: CurveLaunch) -> Point:
        kp = Keypair()
        self.net.cluster.airdrop(kp.pubkey(), AIRDROP)
        user = await self.repos.users.get_or_create(700_000 + n, f"hot{n}")
        wallet = await self.repos.wallets.create(user.id, str(kp.pubkey()), SECRET, "main")
        key = UnlockedWallet(user_id=user.id, wallet_id=wallet.id, pubkey=kp.pubkey(), keypair=kp)
        nonce = await self.nonces.create(key)
        target = await self.repos.snipes.arm(
            user_id=user.id, wallet_id=wallet.id, creator=str(Keypair().pubkey()),
            amount_lamports=BUY, slippage_bps=500, priority_fee=FeeLevel.LOW,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            nonce_account=str(nonce.address), nonce_value=str(nonce.value),
        )  # fmt: skip
        p = Point(n, user.id, wallet.id, kp, target.id, nonce.address, str(nonce.value), launch)
        p.base_balance = self.net.cluster.get_balance(kp.pubkey())
        return p

    def fire_job(self, p: Point, worker: str, tip: int, **kill: Any) -> dict[str, Any]:
        launch = p.launch
        fire = {
            "target_id": p.target_id, "lamports": BUY, "nonce_account": str(p.nonce_account),
            "nonce_value": p.nonce_value, "tip": tip, "tip_account": str(self.tip_account),
            "launch": {
                "mint": str(launch.mint), "bonding_curve": str(launch.bonding_curve),
                "creator": str(launch.creator), "token_program": str(launch.token_program),
                "vt": launch.virtual_token_reserves, "vs": launch.virtual_sol_reserves,
                "rt": launch.real_token_reserves, "supply": launch.token_total_supply,
            },
            **self.accounts,
        }  # fmt: skip
        # lease 0: a dead replica's lease has lapsed at once, two live ones race by CAS alone
        return {**self.base, "mode": "fire", "worker_id": worker, "lease_s": 0.0,
                "wallets": [p.wallet], "fire": fire, **kill}  # fmt: skip

    async def fire(self, p: Point, worker: str, tip: int, **kill: Any) -> dict[str, Any]:
        result = await self.runner.run(**self.fire_job(p, worker, tip, **kill))
        p.log.append({"job": "fire", "worker": worker, "tip": tip, **kill, **result})
        return result

    async def recover(self, p: Point, **kill: Any) -> dict[str, Any]:
        result = await self.runner.run(
            **self.base, mode="recover", worker_id=f"recover-{p.n}", lease_s=5.0,
            wallets=[p.wallet], targets=[p.target_id], **kill,
        )  # fmt: skip
        p.log.append({"job": "recover", **kill, **result})
        return result

    def held(self, p: Point) -> int:
        ata = pf.associated_token_address(p.keypair.pubkey(), p.launch.mint, p.launch.token_program)
        account = self.net.cluster.get_account(ata)
        return 0 if account is None else int.from_bytes(bytes(account.data)[64:72], "little")

    async def check(self, p: Point) -> str:
        """The invariant for one point; returns its outcome."""
        context = f"point {p.n}: {p.log}"
        orders = await self.repos.orders.list_for_user(p.user_id)
        trades = await self.repos.trades.list_trades(p.user_id)
        held = self.held(p)
        spent = p.base_balance - self.net.cluster.get_balance(p.keypair.pubkey())
        assert len(orders) <= 1, context
        if not orders:  # died before any record, and recovery found no buy of ours
            assert (held, trades) == (0, []), context
            assert spent % VOID_FEE == 0, context  # voids only
            assert spent <= 3 * VOID_FEE, context
            return "no order"
        order = orders[0]
        assert order.is_final, f"{context}: {order}"
        if order.status is OrderStatus.CONFIRMED:
            assert order.in_amount is not None, context
            assert order.fee_lamports is not None, context
            assert order.out_amount is not None, context
            assert held == order.out_amount > 0, context  # one buy's tokens, never two
            assert [(t.order_id, t.signature) for t in trades] == [(order.id, order.signature)]
            position = await self.repos.positions.get_position(
                p.user_id, p.wallet_id, str(p.launch.mint)
            )
            assert position is not None, context
            assert position.token_amount == held, context
            rest = spent - order.in_amount - order.fee_lamports
        else:
            assert held == 0, f"{context}: {order}"
            assert trades == [], context
            rest = spent - (order.fee_lamports or 0)
        assert rest >= 0, f"{context}: {order} spent {spent}"
        assert rest % VOID_FEE == 0, f"{context}: {order} spent {spent}"  # whole void fees only
        assert rest <= 3 * VOID_FEE, f"{context}: {order} spent {spent}"
        return order.status.value


async def account_data(rpc: SolanaRpc) -> dict[str, str]:
    global_acc, fee_acc = await rpc.get_multiple_accounts([pf.GLOBAL, pf.FEE_CONFIG])
    assert global_acc is not None
    assert fee_acc is not None
    return {
        "global": base64.b64encode(bytes(global_acc.data)).decode(),
        "fee_config": base64.b64encode(bytes(fee_acc.data)).decode(),
    }


@pytest.fixture
async def hot(pg_url: str, tmp_path: Path) -> AsyncIterator[Hot]:
    async with (
        running_localnet(seed=15, slot_ms=20) as net,
        aiohttp.ClientSession() as session,
    ):
        urls = net.urls
        assert urls is not None
        db = Database(pg_url, pool_size=5)
        await db.connect(attempts=1)
        await db.upgrade()
        rpc = build_rpc(net, session)
        nonces = NonceManager(RpcNonceChain(rpc), poll_s=0.01, confirm_timeout_s=10.0)
        stderr_path = tmp_path / "hot_kill_runner.stderr"
        stderr = stderr_path.open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(RUNNER), "serve",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
        runner = Runner(proc)
        base = {
            "rpc": [urls.rpc[name]["http"] for name in ("helius", "quicknode", "public")],
            "jupiter": urls.jupiter,
            "db": pg_url,
        }
        tip_account = Keypair().pubkey()
        net.cluster.airdrop(tip_account, AIRDROP)  # rent-exempt: small tips may land in it
        hot = Hot(net, rpc, nonces, Repositories.build(db), runner, base,
                  await account_data(rpc), tip_account)  # fmt: skip
        try:
            # one fire inside the server itself: imports and compiled SQL inherited by every fork
            warm = await hot.point(-1, await hot.launch())
            job = hot.fire_job(warm, "warm", 0)
            assert (await runner.run(**job, warm=True))["exit"] == 0
            assert await hot.check(warm) == "CONFIRMED"
            yield hot
        finally:
            await runner.close()
            stderr.close()
            errors = stderr_path.read_text()
            if "Traceback" in errors:
                print(errors[-4000:])
            await rpc.pool.close()
            await db.dispose()


def _kill(rng: random.Random, boundaries: tuple[str, ...], span_s: float) -> dict[str, Any]:
    """A boundary kill or a random moment within ``span_s`` (inside a send, write or poll)."""
    if rng.random() < 0.45:
        return {"kill_at": [rng.choice(boundaries), 1]}
    return {"kill_after_s": round(rng.uniform(0.0, span_s), 4)}


def _plan(rng: random.Random, fire_s: float, recover_s: float) -> dict[str, Any]:
    replicas = 2 if rng.random() < 0.35 else 1
    tips = [0] if replicas == 1 else [0, rng.choice([0, TIP])]  # same bytes, or other bytes
    return {
        "fires": [_kill(rng, FIRE_BOUNDARIES, fire_s) for _ in tips],
        "tips": tips,
        "recovery_kill": _kill(rng, RECOVERY_BOUNDARIES, recover_s)
        if rng.random() < 0.35
        else None,
    }


async def test_sigkill_around_the_send_and_two_replicas_never_buy_twice(hot: Hot) -> None:
    t0 = time.perf_counter()
    # How long one uninterrupted fire and one recovery take here: random kills fall within.
    launches = [await hot.launch() for _ in range(-(-POINTS // PER_LAUNCH))]
    calibration = await hot.point(-2, launches[0])
    t = time.perf_counter()
    assert (await hot.fire(calibration, "calibrate", 0))["exit"] == 0
    fire_s = time.perf_counter() - t
    t = time.perf_counter()
    assert (await hot.recover(calibration))["exit"] == 0
    recover_s = time.perf_counter() - t
    assert await hot.check(calibration) == "CONFIRMED"

    rng = random.Random(SEED)
    plans = [_plan(rng, fire_s, recover_s) for _ in range(POINTS)]
    gate = asyncio.Semaphore(PARALLEL)
    setup = asyncio.Semaphore(8)
    kills: Counter[str] = Counter()

    async def make(n: int) -> Point:
        async with setup:
            return await hot.point(n, launches[n // PER_LAUNCH])

    points = list(await asyncio.gather(*(make(n) for n in range(POINTS))))
    t_setup = time.perf_counter() - t0

    async def one(p: Point) -> str:
        plan = plans[p.n]
        async with gate:
            fires = await asyncio.gather(*(
                hot.fire(p, f"replica-{p.n}-{i}", tip, **kill)
                for i, (tip, kill) in enumerate(zip(plan["tips"], plan["fires"], strict=True))
            ))  # fmt: skip
            for result, kill in zip(fires, plan["fires"], strict=True):
                assert result["signal"] == 9 or result["exit"] == 0, p.log
                if result["signal"] == 9:
                    kills[f"fire:{kill['kill_at'][0] if 'kill_at' in kill else 'random'}"] += 1
            if plan["recovery_kill"] is not None:
                again = await hot.recover(p, **plan["recovery_kill"])
                assert again["signal"] == 9 or again["exit"] == 0, p.log
                if again["signal"] == 9:
                    kills["recovery"] += 1
            final = await hot.recover(p)
            assert final["exit"] == 0, p.log
            outcome = await hot.check(p)
            if len(plan["tips"]) == 2:
                kills["two replicas" + (" (other bytes)" if plan["tips"][1] else "")] += 1
            return outcome

    outcomes = Counter(await asyncio.gather(*(one(p) for p in points)))
    sigkills = sum(n for k, n in kills.items() if k.startswith(("fire:", "recovery")))
    print(
        f"seed={SEED} points={POINTS} fire={fire_s:.3f}s recover={recover_s:.3f}s "
        f"setup={t_setup:.1f}s total={time.perf_counter() - t0:.1f}s "
        f"outcomes={dict(outcomes)} kills={dict(kills)} sigkills={sigkills}"
    )
    assert sigkills >= 100, kills
    assert {f"fire:{b}" for b in FIRE_BOUNDARIES[:4]} <= set(kills), kills
    assert outcomes["CONFIRMED"] >= POINTS // 2, outcomes
