"""A trading process to SIGKILL: runs a buy or ``recover_all`` against the test's localnet + DB.

Started by the crash-safety test as ``python crash_runner.py serve`` (``asyncio.
create_subprocess_exec(sys.executable, ...)``). It imports the bot once, then for each job read
from stdin (one JSON object per line) it forks a fresh process that runs the job and may kill
itself with SIGKILL at a state boundary of the order or after a delay. Forking keeps each kill
point at a few milliseconds instead of seconds of interpreter start-up; every job still runs in
its own OS process with its own event loop, HTTP and database connections, and dies for real.

Job (stdin):   {"job": "7", "mode": "buy" | "recover", "rpc": [url...], "jupiter": url,
                "db": sqlalchemy_url, "worker_id": "kp-7", "lease_s": 60.0,
                "wallets": [{"user_id": 1, "wallet_id": 2, "secret": "<64-byte hex>"}],
                "buy": {"user_id": 1, "wallet_id": 2, "mint": "...", "lamports": 10000000,
                        "key": "idempotency key"},
                "kill_at": ["signed", 1] | null,  "kill_after_s": 0.12 | null,
                "kill_after_claim_s": 0.05 | null, "warm": false}
Result (stdout): {"job": "7", "pid": 1234, "exit": 0 | 1 | null, "signal": 9 | null}

The parent process is single-threaded (select + waitpid), so forking it is safe. Children log
to stderr only; stdout carries nothing but result lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import signal
import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.errors import PermanentError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.storage import Database, Repositories
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue

SLIPPAGE_BPS = 300


@dataclass(frozen=True)
class UnlockedWallet:
    wallet_id: int
    keypair: Keypair

    @property
    def pubkey(self) -> Pubkey:
        return self.keypair.pubkey()

    def sign_message(self, message: bytes) -> Signature:
        return self.keypair.sign_message(message)


class Signers:
    """The wallets unlocked in this process; any other wallet is locked."""

    def __init__(self, wallets: list[dict[str, Any]]) -> None:
        self._by_id = {
            int(w["wallet_id"]): UnlockedWallet(
                int(w["wallet_id"]), Keypair.from_bytes(bytes.fromhex(w["secret"]))
            )
            for w in wallets
        }

    async def signer(self, user_id: int, wallet_id: int | None = None) -> UnlockedWallet:
        wallet = self._by_id.get(wallet_id or -1)
        if wallet is None:
            raise PermanentError(f"wallet {wallet_id} of user {user_id} is locked in this process")
        return wallet


def _suicide() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _killer(kill_at: list[Any] | None, after_claim_s: float | None) -> Any:
    """SIGKILL at the n-th time a boundary is reached, or a delay after the order is claimed."""
    seen: Counter[str] = Counter()

    async def boundary(name: str, order: Order) -> None:
        del order
        seen[name] += 1
        if kill_at is not None and kill_at[0] == name and seen[name] == int(kill_at[1]):
            _suicide()
        if name == "claimed" and after_claim_s is not None and seen[name] == 1:
            asyncio.get_running_loop().call_later(after_claim_s, _suicide)

    return boundary


async def run_job(cmd: dict[str, Any], db: Database | None = None) -> None:
    if cmd.get("kill_after_s") is not None:
        asyncio.get_running_loop().call_later(float(cmd["kill_after_s"]), _suicide)
    metrics = Metrics()
    if db is None:
        db = Database(cmd["db"], pool_size=2)
    await db.connect(attempts=1)
    repos = Repositories.build(db)
    async with aiohttp.ClientSession() as session:
        endpoints = [
            EndpointConfig(name=f"ep{i}", url=url, rate_per_s=10_000, priority=i)
            for i, url in enumerate(cmd["rpc"])
        ]
        breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        rpc = SolanaRpc(RpcPool(endpoints, breakers, metrics, session, default_timeout_s=5.0))
        executor = SwapExecutor(
            venue=JupiterVenue(JupiterClient(session, cmd["jupiter"] + "/swap/v1")),
            rpc=rpc,
            orders=repos.orders,
            trades=repos.trades,
            metrics=metrics,
            config=ExecutorConfig(
                worker_id=cmd["worker_id"],
                lease_s=float(cmd.get("lease_s", 60.0)),
                poll_interval_s=0.01,
                resend_interval_s=0.1,
                land_deadline_s=30.0,
                cosigners="presigned",
            ),
            boundary=_killer(cmd.get("kill_at"), cmd.get("kill_after_claim_s")),
        )
        service = TradingService(
            executor=executor,
            orders=repos.orders,
            signers=Signers(cmd["wallets"]),
            metrics=metrics,
            max_priority_fee_lamports=1_000_000,
            max_pending_age_s=600.0,
        )
        try:
            if cmd["mode"] == "buy":
                b = cmd["buy"]
                await service.buy(
                    int(b["user_id"]),
                    int(b["wallet_id"]),
                    str(b["mint"]),
                    int(b["lamports"]),
                    SLIPPAGE_BPS,
                    FeeLevel.LOW,
                    str(b["key"]),
                )
            else:
                await service.recover_all()
        finally:
            await rpc.pool.close()
            await db.dispose()


def _run(cmd: dict[str, Any], db: Database | None) -> int:
    try:
        asyncio.run(run_job(cmd, db))
    except BaseException:
        traceback.print_exc(file=sys.stderr)
        return 1
    finally:
        sys.stderr.flush()
    return 0


def _report(job: str, pid: int, status: int | None, exit_code: int | None = None) -> None:
    if status is not None:
        exit_code = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None
    result = {
        "job": job,
        "pid": pid,
        "exit": exit_code,
        "signal": os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None,
    }
    os.write(1, (json.dumps(result) + "\n").encode())


def _start(cmd: dict[str, Any], engines: dict[str, Database]) -> int | None:
    """Fork a child for ``cmd`` (its pid), or run a ``"warm": true`` job here (None).

    A warm job runs in this process first so the engine it leaves (no open connection, but
    SQLAlchemy's compiled statements cached) is inherited by every child forked afterwards.
    """
    db = engines.get(cmd["db"])
    if cmd.get("warm"):
        db = engines.setdefault(cmd["db"], Database(cmd["db"], pool_size=2))
        _report(str(cmd["job"]), os.getpid(), None, _run(cmd, db))
        return None
    pid = os.fork()
    if pid == 0:
        os._exit(_run(cmd, db))
    return pid


def serve() -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )
    engines: dict[str, Database] = {}
    children: dict[int, str] = {}
    buffer = b""
    stdin = sys.stdin.fileno()
    open_input = True
    while open_input or children:
        timeout = 0.005 if children else None
        readable = select.select([stdin], [], [], timeout)[0] if open_input else []
        if not open_input:
            select.select([], [], [], 0.005)
        if readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                open_input = False
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                cmd = json.loads(line)
                pid = _start(cmd, engines)
                if pid is not None:
                    children[pid] = str(cmd["job"])
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            job = children.pop(pid, None)
            if job is not None:
                _report(job, pid, status)


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: crash_runner.py serve  (jobs as JSON lines on stdin)")
    serve()
