"""The process the hot-path kill test SIGKILLs (no tests here: ``test_hot_kill.py`` runs it).

``python test_hot_kill_runner.py serve`` is ``tests/trading/crash_runner.py``'s fork server (one
interpreter that imports the bot once and forks a fresh process per job, each with its own event
loop, HTTP and database connections, dying for real by SIGKILL) with this module's jobs:

* ``"fire"``: what the hot path does for one armed snipe: build the pump.fun buy from the launch
  (``hotpath.build.build_curve_buy`` with the target's durable nonce), write it to every relay
  (the three RPC endpoints, no preflight), *then* ``TradingService.record_fired_snipe`` and wait
  for its background landing. Kill points: ``kill_at`` = ``["built" | "sent" | "recorded" |
  <executor boundary: claimed, trade_recorded, confirmed, failed>, n]`` or ``kill_after_s``
  (a random moment: inside the send, the insert, an RPC call of the landing).
* ``"recover"``: a restarted process: ``recover_all()`` (SENT nonce orders land by their
  nonce), then ``recover_armed_nonce(target, void_unconsumed=True)`` for each target given (a
  fire that died before its record). Killed the same ways.

Job (stdin): crash_runner's fields (``db``, ``rpc``, ``jupiter``, ``worker_id``, ``lease_s``,
``wallets``, ``kill_at``, ``kill_after_s``, ``warm``) plus ``fire`` (below) or ``targets``.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import sys
from pathlib import Path
from typing import Any

import aiohttp
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy, build_curve_buy
from sniper_bot.hotpath.nonce import NonceManager, RpcNonceChain
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.solana import pumpfun as pf
from sniper_bot.storage import Database, Repositories
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService, fired_snipe_key
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue

_spec = importlib.util.spec_from_file_location(
    "crash_runner", Path(__file__).parents[1] / "trading" / "crash_runner.py"
)
assert _spec is not None
assert _spec.loader is not None
crash_runner = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("crash_runner", crash_runner)  # its dataclasses look their module up
_spec.loader.exec_module(crash_runner)

SLIPPAGE_BPS = 500


def prepared_buy(fire: dict[str, Any], key: Keypair) -> PreparedBuy:
    g = pf.decode_global(base64.b64decode(fire["global"]))
    fc = pf.decode_fee_config(base64.b64decode(fire["fee_config"]))
    tip = int(fire.get("tip", 0))
    return PreparedBuy(
        user=key.pubkey(), sign=key.sign_message, amount_lamports=int(fire["lamports"]),
        slippage_bps=SLIPPAGE_BPS, compute_unit_limit=120_000,
        compute_unit_price_micro_lamports=10_000,
        nonce_account=Pubkey.from_string(fire["nonce_account"]),
        nonce_value=Hash.from_string(fire["nonce_value"]), global_=g, fee_config=fc,
        fee_recipient=g.fee_recipients_for(False)[0],
        mayhem_fee_recipient=g.fee_recipients_for(True)[0],
        buyback_fee_recipient=g.buyback_fee_recipients[0], tip_lamports=tip,
        tip_account=Pubkey.from_string(fire["tip_account"]) if tip else None,
    )  # fmt: skip


def launch_of(fire: dict[str, Any]) -> CurveLaunch:
    launch = fire["launch"]
    return CurveLaunch(
        mint=Pubkey.from_string(launch["mint"]),
        bonding_curve=Pubkey.from_string(launch["bonding_curve"]),
        creator=Pubkey.from_string(launch["creator"]),
        token_program=Pubkey.from_string(launch["token_program"]),
        virtual_token_reserves=int(launch["vt"]), virtual_sol_reserves=int(launch["vs"]),
        real_token_reserves=int(launch["rt"]), token_total_supply=int(launch["supply"]),
    )  # fmt: skip


async def hot_job(cmd: dict[str, Any], db: Database | None = None) -> None:
    if cmd.get("kill_after_s") is not None:
        asyncio.get_running_loop().call_later(float(cmd["kill_after_s"]), crash_runner._suicide)
    boundary = crash_runner._killer(cmd.get("kill_at"), None)
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
        raw = RpcNonceChain(rpc)
        nonces = NonceManager(raw, poll_s=0.01, confirm_timeout_s=10.0)
        executor = SwapExecutor(
            venue=JupiterVenue(JupiterClient(session, cmd["jupiter"] + "/swap/v1")),
            rpc=rpc, orders=repos.orders, trades=repos.trades, metrics=metrics,
            config=ExecutorConfig(
                worker_id=cmd["worker_id"], lease_s=float(cmd.get("lease_s", 60.0)),
                poll_interval_s=0.01, resend_interval_s=0.1, land_deadline_s=20.0,
            ),
            boundary=boundary, nonces=nonces, raw=raw,
        )  # fmt: skip
        service = TradingService(
            executor=executor, orders=repos.orders, signers=crash_runner.Signers(cmd["wallets"]),
            metrics=metrics, max_priority_fee_lamports=1_000_000, nonces=nonces, raw=raw,
        )  # fmt: skip
        try:
            if cmd["mode"] == "fire":
                await fire(cmd["fire"], cmd["wallets"][0], rpc, service, boundary)
            else:
                await service.recover_all()
                for target_id in cmd.get("targets", []):
                    target = await repos.snipes.get_by_id(int(target_id))
                    assert target is not None, f"snipe {target_id} vanished"
                    await service.recover_armed_nonce(target, void_unconsumed=True)
        finally:
            await rpc.pool.close()
            await db.dispose()


async def fire(
    fire: dict[str, Any], wallet: dict[str, Any], rpc: SolanaRpc, service: TradingService,
    boundary: Any,
) -> None:  # fmt: skip
    key = Keypair.from_bytes(bytes.fromhex(wallet["secret"]))
    launch = launch_of(fire)
    signed = build_curve_buy(prepared_buy(fire, key), launch)
    await boundary("built", None)
    tx = VersionedTransaction.from_bytes(signed.tx_bytes)
    await rpc.send_transaction(tx, skip_preflight=True, fanout=3)  # every relay, same bytes
    await boundary("sent", None)
    order = await service.record_fired_snipe(
        user_id=int(wallet["user_id"]), wallet_id=int(wallet["wallet_id"]),
        mint=str(launch.mint), lamports=int(fire["lamports"]), slippage_bps=SLIPPAGE_BPS,
        fee_level=FeeLevel.LOW, idempotency_key=fired_snipe_key(int(fire["target_id"])),
        signature=str(signed.signature), signed_tx=signed.tx_bytes,
        token_amount=signed.token_amount, max_sol_cost=signed.max_sol_cost,
        priority_fee_lamports=1_200, venue="pumpfun",
    )  # fmt: skip
    await boundary("recorded", order)
    await service.landed(order.id)


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: test_hot_kill_runner.py serve  (jobs as JSON lines on stdin)")
    crash_runner.run_job = hot_job  # the fork server's job, looked up at each fork
    crash_runner.serve()
