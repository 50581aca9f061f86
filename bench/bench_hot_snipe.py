"""The hot snipe on localnet: pump.fun create notification -> signed buy bytes on the wire.

    .venv/bin/python bench/bench_hot_snipe.py [--launches 500] [--naive 200] [--fan-orders 1000]
                                              [--fan-launches 5] [--old-rounds 20]

Starts ``python -m localnet`` in its own process (20 ms slots, signature verification and block
building on, no scenario) so the bot's event loop and the validator do not share a core's GIL.
The bot side is the production wiring: ``SubscriptionManager`` (logsSubscribe at processed on
two endpoints) -> ``LaunchDetector`` -> ``PumpFunListener(on_create=HotSniper.on_create)`` ->
``ArmedBook.match`` -> one ``decide_launch`` per launch -> ``build_curve_buy`` (each order's own
durable nonce) -> ``RelayFanout.send`` over every RPC endpoint of the pool, on sessions carrying
``wire_trace_config()``. Per order, "on the wire" is ``Dispatch.wire_at`` (the fan-out's
on-the-wire hook: the first leg's body handed to its socket) minus ``CreateSeen.seen_at``
(the detector decoded the notification): the value ``snipe_latency_seconds`` observes.

Phases, one run:

1. one armed order, ``--launches`` curve launches, a rival sniper (``localnet.launches.rivals``)
   reacting 20 ms after each create at our priority fee: event -> wire p50 / p99, then every buy
   is waited for: landing slot - create slot, and whether ours executed before the rival's;
2. the naive reference, ``--naive`` launches, same notification stream: on the create, solana-py
   (``AsyncClient``) reads the curve account, gets a blockhash, builds, signs and sends, each a
   sequential round trip. Its event -> "send called" (before its last round trip, a lower bound
   of its wire time) and event -> send answered;
3. fan-out: ``--fan-orders`` armed orders of as many users (own wallet, own durable nonce) on
   one launch, ``--fan-launches`` launches: time to the last order on the wire per launch, and
   the spread across orders (max - min wire time) so a starved order would show;
4. the old slow path (``bench/bench_snipe.py``: SnipeEngine -> TradingService -> executor,
   notification -> SENT) in a subprocess of this run, for the improvement ratio.

Goals (issue 15) are printed next to the numbers; nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Processed
from solana.rpc.models import TxOpts
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.relays import RelayFanout, wire_trace_config
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.chain.ws import SubscriptionManager
from sniper_bot.detection import LaunchDetector, PumpFunListener
from sniper_bot.detection.pumpfun import CreateSeen
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchEvent, LaunchFilter, SnipeStatus, SnipeTarget
from sniper_bot.hotpath.book import ArmedBook
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy
from sniper_bot.hotpath.nonce import NonceManager, RpcNonceChain
from sniper_bot.hotpath.sniper import FiredSnipe, HotOrder, HotSniper, RiskDecision
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.launch import LaunchFacts, decide_launch
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.nonce import decode_nonce_account
from sniper_bot.solana.pumpswap import create_ata_idempotent
from sniper_bot.trading.venues.pumpfun import curve as curve_math
from sniper_bot.wallet.sessions import UnlockedWallet

ROOT = Path(__file__).resolve().parents[1]
SOL = 1_000_000_000
CU_LIMIT = 120_000
CU_PRICE = 50_000  # micro-lamports per CU: ours, the rival's and the naive reference's
ENDPOINTS = ("helius", "quicknode", "public")
HOT, NAIVE, FAN = "HOTB", "NAIV", "FAN"  # symbols: which phase a launch belongs to


# -- localnet in its own process -----------------------------------------------------------------
async def start_localnet(json_path: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localnet", "--json", str(json_path),
        "--slot-ms", os.environ.get("BENCH_SLOT_MS", "20"),  # 400: mainnet slots, streamed
        "--no-scenario", "--seed", "15",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    for _ in range(600):
        if os.path.exists(json_path):  # noqa: ASYNC240 - a stat per 50 ms poll
            return proc
        await asyncio.sleep(0.05)
    proc.kill()
    raise RuntimeError("localnet did not start within 30 s")


# -- statistics ----------------------------------------------------------------------------------
def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def row(name: str, seconds: Sequence[float], goal: str = "") -> str:
    if not seconds:
        return f"{name:<46} (no samples)"
    ms = [s * 1e3 for s in seconds]
    return (
        f"{name:<46} p50 {pct(ms, 0.5):8.3f}  p99 {pct(ms, 0.99):8.3f}  max {max(ms):8.3f} ms"
        f"  n={len(ms)}{'   goal ' + goal if goal else ''}"
    )


def histogram(values: Iterable[int | None]) -> str:
    counts: dict[str, int] = {}
    for v in values:
        key = "not landed" if v is None else f"+{v}"
        counts[key] = counts.get(key, 0) + 1
    order = sorted(counts, key=lambda k: (k == "not landed", int(k[1:]) if k[0] == "+" else 0))
    return ", ".join(f"{k}: {counts[k]}" for k in order)


# -- the bot side --------------------------------------------------------------------------------
class Collected:
    """``AfterFire``: what the sniper handed over after each send, by mint."""

    def __init__(self) -> None:
        self.by_mint: dict[str, list[FiredSnipe]] = {}
        self.waiters: dict[str, tuple[int, asyncio.Future[None]]] = {}
        self.cpu_at_create: dict[str, float] = {}  # process CPU clock when the create came in

    def expect(self, symbol: str, n: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[symbol] = (n, fut)
        return fut

    async def fired(self, fired: FiredSnipe) -> None:
        shots = self.by_mint.setdefault(fired.mint, [])
        shots.append(fired)
        waiter = self.waiters.get(fired.seen.event.symbol)
        if waiter is not None and len(shots) >= waiter[0] and not waiter[1].done():
            waiter[1].set_result(None)


class OneDecision:
    """``LaunchRisk``: ``safety.launch.decide_launch`` on the create event (no creator record
    cached: a first-seen dev), counted so "one decision per launch" is visible."""

    def __init__(self) -> None:
        self.decisions = 0
        self.seconds: list[float] = []

    def decide(self, seen: CreateSeen, launch: CurveLaunch) -> RiskDecision:
        started = time.perf_counter()
        trades = () if seen.last_trade is None else (seen.last_trade,)
        facts = LaunchFacts.from_event(seen.event, trades, instruction=seen.instruction,
                                       slot=seen.slot, signature=seen.signature)  # fmt: skip
        decision = decide_launch(facts, None)
        self.decisions += 1
        self.seconds.append(time.perf_counter() - started)
        return RiskDecision(not decision.blocked, f"score {decision.score}", decision)


def filter_target(target_id: int, user_id: int, symbol: str, lamports: int) -> SnipeTarget:
    now = datetime.now(UTC)
    return SnipeTarget(
        id=target_id, user_id=user_id, wallet_id=user_id, token_mint="",
        amount_lamports=lamports, slippage_bps=2_000, priority_fee=FeeLevel.MEDIUM,
        status=SnipeStatus.ARMED, created_at=now, expires_at=now + timedelta(hours=1),
        launch_filter=LaunchFilter(symbol_contains=(symbol,)),
    )  # fmt: skip


@dataclass
class Armed:
    wallet: UnlockedWallet
    nonce: Pubkey
    target: SnipeTarget
    lamports: int


@dataclass
class Bench:
    session: aiohttp.ClientSession
    urls: dict[str, Any]
    rpc: SolanaRpc
    nonces: NonceManager
    book: ArmedBook[HotOrder]
    sniper: HotSniper
    collected: Collected
    risk: OneDecision
    g: pf.Global
    fc: pf.FeeConfig | None
    naive_hook: list[Any] = field(default_factory=list)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, self.urls["control"] + path, json=body) as resp:
            data = await resp.json()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    async def rpc_call(self, method: str, params: list[Any]) -> Any:
        url = self.urls["rpc"]["helius"]["http"]
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with self.session.post(url, json=body) as resp:
            data = await resp.json()
        if "error" in data:
            raise RuntimeError(f"{method}: {data['error']}")
        return data["result"]

    async def launch(self, symbol: str, i: int) -> dict[str, Any]:
        return dict(await self.control("POST", "/launches/curve",
                                       {"name": f"Bench {i}", "symbol": symbol}))  # fmt: skip

    def prepared(self, armed: Armed, nonce_value: Any) -> PreparedBuy:
        g = self.g
        return PreparedBuy(
            user=armed.wallet.pubkey, sign=armed.wallet.sign_message,
            amount_lamports=armed.lamports, slippage_bps=2_000, compute_unit_limit=CU_LIMIT,
            compute_unit_price_micro_lamports=CU_PRICE, nonce_account=armed.nonce,
            nonce_value=nonce_value, global_=g, fee_config=self.fc,
            fee_recipient=g.fee_recipients_for(False)[0],
            mayhem_fee_recipient=g.fee_recipients_for(True)[0],
            buyback_fee_recipient=g.buyback_fee_recipients[0],
        )  # fmt: skip

    async def arm_all(self, armed: Sequence[Armed]) -> None:
        """Off the path: read every nonce's current value, put the orders in the book."""
        for start in range(0, len(armed), 100):
            chunk = armed[start : start + 100]
            accounts = await self.rpc.get_multiple_accounts([a.nonce for a in chunk])
            for a, account in zip(chunk, accounts, strict=True):
                assert account is not None, f"nonce {a.nonce} missing"
                state = decode_nonce_account(bytes(account.data), account.owner)
                self.book.add(a.target, HotOrder(self.prepared(a, state.nonce), mev_protect=False))

    async def statuses(self, sigs: Sequence[str]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for start in range(0, len(sigs), 200):
            chunk = list(sigs[start : start + 200])
            result = await self.rpc_call(
                "getSignatureStatuses", [chunk, {"searchTransactionHistory": True}]
            )
            for sig, st in zip(chunk, result["value"], strict=True):
                out[sig] = None if st is None else int(st["slot"])
        return out

    async def landed(self, sigs: Sequence[str], timeout_s: float = 4.0) -> dict[str, int | None]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = await self.statuses(sigs)
            if all(v is not None for v in found.values()) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.04)

    async def block_index(self, slot: int, sig: str) -> int | None:
        """Its place in its block (the block is readable once confirmed: a slot or two)."""
        for _ in range(50):
            try:
                block = await self.rpc_call("getBlock", [slot, {
                    "encoding": "json", "transactionDetails": "signatures",
                    "maxSupportedTransactionVersion": 0, "rewards": False,
                    "commitment": "confirmed",
                }])  # fmt: skip
                break
            except RuntimeError as exc:
                if "not available" not in str(exc):
                    return None
                await asyncio.sleep(0.01)
        else:
            return None
        sigs = block.get("signatures") if isinstance(block, dict) else None
        if sigs is None and isinstance(block, dict):
            sigs = [t["transaction"]["signatures"][0] for t in block.get("transactions", [])]
        return sigs.index(sig) if sigs and sig in sigs else None


async def new_wallets(bench: Bench, n: int, lamports: int, first_id: int) -> list[UnlockedWallet]:
    wallets = [UnlockedWallet(user_id=first_id + i, wallet_id=first_id + i,
                              pubkey=(kp := Keypair()).pubkey(), keypair=kp)
               for i in range(n)]  # fmt: skip
    sem = asyncio.Semaphore(32)

    async def fund(w: UnlockedWallet) -> None:
        async with sem:
            await bench.rpc_call("requestAirdrop", [str(w.pubkey), lamports])

    await asyncio.gather(*(fund(w) for w in wallets))
    while True:  # airdrops are immediate on localnet; wait until the last is visible
        accounts = await bench.rpc.get_multiple_accounts([wallets[-1].pubkey])
        if accounts[0] is not None:
            return wallets
        await asyncio.sleep(0.05)


async def new_nonces(bench: Bench, wallets: Sequence[UnlockedWallet]) -> list[Pubkey]:
    sem = asyncio.Semaphore(48)

    async def one(w: UnlockedWallet) -> Pubkey:
        async with sem:
            return (await bench.nonces.create(w)).address

    return list(await asyncio.gather(*(one(w) for w in wallets)))


# -- phase 1: one order, rival, landing -----------------------------------------------------------
async def phase_one(bench: Bench, launches: int) -> dict[str, Any]:
    (w,) = await new_wallets(bench, 1, 200 * SOL, 1)
    (nonce,) = await new_nonces(bench, [w])
    armed = Armed(w, nonce, filter_target(1, 1, HOT, SOL // 50), SOL // 50)
    rival = await bench.control(
        "PUT", "/rivals/snipers/fast", {"delay_ms": 20, "lamports": SOL // 50, "cu_price": CU_PRICE}
    )
    wire: list[float] = []
    built: list[float] = []
    rows: list[tuple[str, str, str]] = []  # (our sig, create sig, mint)
    positions: dict[str, int | None] = {}  # our sig -> index in its block
    errors = 0
    for i in range(launches):
        await bench.arm_all([armed])
        fut = bench.collected.expect(f"{HOT}{i}", 1)
        done = await bench.launch(f"{HOT}{i}", i)
        try:
            async with asyncio.timeout(5):
                await fut
        except TimeoutError:
            errors += 1
            bench.book.remove(armed.target.id)
            continue
        (shot,) = bench.collected.by_mint[done["mint"]]
        assert shot.signed is not None
        assert shot.dispatch is not None
        if shot.send_error:
            errors += 1
        wire.append(shot.dispatch.wire_at - shot.seen.seen_at)
        built.append(shot.built_s)
        sig = str(shot.signed.signature)
        rows.append((sig, str(done["create_signature"]), done["mint"]))
        # the next launch needs the advanced nonce: wait for this buy to land (off the path);
        # its place in its block is read now (localnet keeps a short block history)
        slot = (await bench.landed([sig], timeout_s=2.0))[sig]
        if slot is not None:
            positions[sig] = await bench.block_index(slot, sig)
    await bench.control("DELETE", "/rivals/snipers/fast")
    await asyncio.sleep(0.2)
    ours = await bench.landed([r[0] for r in rows], timeout_s=1.0)
    creates = await bench.landed([r[1] for r in rows], timeout_s=1.0)
    report = await bench.control("GET", f"/rivals/snipers?limit={min(10_000, launches + 10)}")
    rivals = {b["create_signature"]: b for b in report["buys"] if b["rival"] == "fast"}
    deltas: list[int | None] = []
    rival_deltas: list[int | None] = []
    ahead = behind = same_slot = rival_missing = unknown = 0
    for sig, create_sig, _mint in rows:
        create_slot, our_slot = creates.get(create_sig), ours.get(sig)
        deltas.append(None if our_slot is None or create_slot is None else our_slot - create_slot)
        buy = rivals.get(create_sig)
        rslot = None if buy is None else buy.get("landed_slot")
        rival_deltas.append(None if rslot is None or create_slot is None else rslot - create_slot)
        if our_slot is None:
            behind += 1
            continue
        if rslot is None:
            rival_missing += 1
            ahead += 1
            continue
        if our_slot < rslot:
            ahead += 1
        elif our_slot > rslot:
            behind += 1
        else:
            same_slot += 1
            idx = positions.get(sig)
            if idx is None or buy is None or buy.get("block_index") is None:
                unknown += 1
            elif idx < int(buy["block_index"]):
                ahead += 1
            else:
                behind += 1
    return {
        "wire": wire, "built": built, "errors": errors, "deltas": deltas,
        "rival_deltas": rival_deltas, "ahead": ahead, "behind": behind, "same_slot": same_slot,
        "rival_missing": rival_missing, "unknown": unknown, "rival_wallet": rival.get("wallet"),
    }  # fmt: skip


# -- phase 2: the naive reference ------------------------------------------------------------------
@dataclass
class NaiveRun:
    client: AsyncClient
    key: Keypair
    g: pf.Global
    fc: pf.FeeConfig | None
    lamports: int
    handled: set[str] = field(default_factory=set)
    to_send: list[float] = field(default_factory=list)  # event -> sendTransaction called
    to_sent: list[float] = field(default_factory=list)  # event -> its answer
    retries: int = 0
    sigs: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def on_create(self, seen: CreateSeen) -> None:
        mint = str(seen.event.mint)
        if not seen.event.symbol.startswith(NAIVE) or mint in self.handled:
            return
        self.handled.add(mint)
        task = asyncio.create_task(self.snipe(seen))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def snipe(self, seen: CreateSeen) -> None:
        """Sequential: read the curve, get a blockhash, build, sign, send."""
        event = seen.event
        mint = event.mint
        curve_key = pf.bonding_curve_address(mint)
        for _ in range(50):
            info = await self.client.get_account_info(curve_key, commitment=Processed)
            if info.value is not None:
                break
            self.retries += 1
        assert info.value is not None
        curve = pf.decode_bonding_curve(bytes(info.value.data))
        blockhash = (await self.client.get_latest_blockhash(Processed)).value.blockhash
        supply = curve_math.mint_supply_for(curve)
        tokens = curve_math.buy_tokens_for_sol(self.g, self.fc, supply, curve, self.lamports)
        max_cost = curve_math.with_slippage_up(self.lamports, 2_000)
        program = event.token_program or (
            pf.TOKEN_2022_PROGRAM_ID if seen.instruction == "CreateV2" else pf.TOKEN_PROGRAM_ID
        )
        user = self.key.pubkey()
        ata = pf.associated_token_address(user, mint, program)
        ixs = [
            set_compute_unit_limit(CU_LIMIT), set_compute_unit_price(CU_PRICE),
            create_ata_idempotent(user, ata, user, mint, program),
            pf.buy_instruction(
                user=user, mint=mint, creator=curve.creator, amount=tokens, max_sol_cost=max_cost,
                fee_recipient=self.g.fee_recipients_for(curve.is_mayhem_mode)[0],
                buyback_fee_recipient=self.g.buyback_fee_recipients[0], token_program=program,
            ),
        ]  # fmt: skip
        tx = VersionedTransaction(MessageV0.try_compile(user, ixs, [], blockhash), [self.key])
        self.to_send.append(time.monotonic() - seen.seen_at)
        sent = await self.client.send_raw_transaction(
            bytes(tx), TxOpts(skip_preflight=True, skip_confirmation=True)
        )
        self.to_sent.append(time.monotonic() - seen.seen_at)
        self.sigs.append(str(sent.value))
        self.done.set()


async def phase_naive(bench: Bench, naive: NaiveRun, launches: int) -> None:
    for i in range(launches):
        naive.done.clear()
        await bench.launch(f"{NAIVE}{i}", i)
        try:
            async with asyncio.timeout(5):
                await naive.done.wait()
        except TimeoutError:
            continue
        await asyncio.sleep(0.02)  # let its buy reach a block before the next create


# -- phase 3: fan-out ----------------------------------------------------------------------------
@dataclass
class FanPath:
    """A second sniper for the fan-out launches: its own book, pool, breakers and fan-out (the
    one-order phase's endpoints' breakers stay out of it)."""

    label: str
    symbol: str
    book: ArmedBook[HotOrder]
    sniper: HotSniper
    pool: RpcPool
    relay: RelayFanout
    land: bool  # the relays are localnet's: wait for the buys and count them


def fan_path(label: str, symbol: str, urls: Sequence[str], session: aiohttp.ClientSession,
             collected: Collected, risk: OneDecision, *, land: bool) -> FanPath:  # fmt: skip
    metrics = Metrics()
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(failure_threshold=10**6),
                               metrics)  # fmt: skip
    http = [EndpointConfig(name=f"relay{i}", url=u, rate_per_s=1e6) for i, u in enumerate(urls)]
    pool = RpcPool(http, breakers, metrics, session, default_timeout_s=30.0)
    relay = RelayFanout(pool, [], breakers, metrics, clock=time.monotonic, timeout_s=30.0)
    book: ArmedBook[HotOrder] = ArmedBook(max_per_user=50, max_total=100_000)
    sniper = HotSniper(book, relay, risk=risk, after=collected)
    return FanPath(label, symbol, book, sniper, pool, relay, land)


async def fan_orders(bench: Bench, orders: int, launches: int) -> list[Armed]:
    lamports = SOL // 1_000
    wallets = await new_wallets(bench, orders, SOL // 10 + launches * SOL // 100, 10_000)
    nonces = await new_nonces(bench, wallets)
    return [Armed(w, n, filter_target(10_000 + i, w.user_id, FAN, lamports), lamports)
            for i, (w, n) in enumerate(zip(wallets, nonces, strict=True))]  # fmt: skip


async def phase_fan(
    bench: Bench, path: FanPath, armed: Sequence[Armed], launches: int
) -> dict[str, Any]:
    orders = len(armed)
    order_of = {a.target.id: k for k, a in enumerate(armed)}
    last: list[float] = []
    first: list[float] = []
    spreads: list[float] = []
    cpu: list[float] = []
    kinds: Counter[str] = Counter()
    all_orders: list[float] = []
    by_position: list[list[float]] = [[] for _ in range(orders)]
    landed_counts: list[int] = []
    decisions_before = bench.risk.decisions
    sent_total = errors = 0
    saved = bench.book
    bench.book = path.book
    try:
        for i in range(launches):
            await bench.arm_all(armed)
            symbol = f"{path.symbol}{i}"
            fut = bench.collected.expect(symbol, orders)
            done = await bench.launch(symbol, i)
            try:
                async with asyncio.timeout(60):
                    await fut  # resolved by the last order's handoff (after its send)
                cpu_done: float | None = time.process_time()  # 2 calls a launch: a syscall
            except TimeoutError:
                cpu_done = None
            await path.sniper.wait_idle(30.0)
            shots = bench.collected.by_mint.get(done["mint"], [])
            times = []
            for shot in shots:
                if shot.send_error:
                    errors += 1
                    kinds[re.sub(r"[0-9A-Za-z]{32,}", "<sig>", shot.send_error)[:110]] += 1
                if shot.dispatch is None or shot.dispatch.wire_at is None:
                    continue
                t = shot.dispatch.wire_at - shot.seen.seen_at
                times.append(t)
                by_position[order_of[shot.target.id]].append(t)
            sent_total += len(times)
            mint = done["mint"]
            if cpu_done is not None and mint in bench.collected.cpu_at_create:
                cpu.append(cpu_done - bench.collected.cpu_at_create[mint])
            if times:
                last.append(max(times))
                first.append(min(times))
                spreads.append(max(times) - min(times))
                all_orders.extend(times)
            if path.land:
                sigs = [str(s.signed.signature) for s in shots if s.signed]
                found = await bench.landed(sigs, timeout_s=15.0)
                landed_counts.append(sum(1 for v in found.values() if v is not None))
    finally:
        bench.book = saved
    return {
        "last": last, "first": first, "spreads": spreads, "cpu": cpu, "all": all_orders,
        "by_position": by_position, "landed": landed_counts,
        "decisions": bench.risk.decisions - decisions_before, "sent": sent_total,
        "errors": errors, "kinds": kinds, "launches": launches, "orders": orders,
    }  # fmt: skip


def print_fan(path: FanPath, fan: dict[str, Any], seconds: float) -> None:
    n = fan["orders"]
    print(f"\n4) fan-out to {path.label}: {n} orders of {n} users on one launch, "
          f"{fan['launches']} launches ({seconds:.0f} s), risk decisions {fan['decisions']}, "
          f"on the wire {fan['sent']}, send errors {fan['errors']}")  # fmt: skip
    print(row("per launch: event -> first order on the wire", fan["first"]))
    print(row("per launch: event -> LAST order on the wire", fan["last"], "<= 250 ms"))
    print(row("per launch: spread (last - first)", fan["spreads"]))
    print(row("per launch: process CPU, create -> last handoff", fan["cpu"]))
    if fan["cpu"]:
        print(row("  process CPU per order", [c / n for c in fan["cpu"]]))
    print(row("every order: event -> on the wire", fan["all"]))
    positions = fan["by_position"]
    for k in (0, len(positions) // 2, len(positions) - 1):
        if positions[k]:
            print(row(f"  order #{k + 1} of {n} (arming order)", positions[k]))
    if path.land:
        print(f"landed per launch: {fan['landed']} of {n}")
    for kind, count in fan["kinds"].most_common(3):
        print(f"send error x{count}: {kind}")


# -- a relay that only takes the bytes (its own process) ------------------------------------------
async def serve_sink(ports: Sequence[int], ready: Path) -> None:
    """``sendTransaction`` -> the transaction's signature, nothing else: what a relay's intake
    costs the bot when the relay is not the bottleneck (localnet's single process is)."""
    from aiohttp import web

    def answer(call: dict[str, Any]) -> dict[str, Any]:
        raw = base64.b64decode(call["params"][0])
        sig = str(Signature.from_bytes(raw[1:65]))
        return {"jsonrpc": "2.0", "id": call.get("id"), "result": sig}

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()  # one call, or a JSON-RPC batch of them
        if isinstance(body, list):
            return web.json_response([answer(call) for call in body])
        return web.json_response(answer(body))

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for port in ports:
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    ready.write_text("ok")  # noqa: ASYNC240 - once, before serving
    await asyncio.Event().wait()


async def start_sink(tmp: Path, n: int) -> tuple[asyncio.subprocess.Process, list[str]]:
    import socket

    ports = []
    for _ in range(n):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    ready = tmp / "sink.ready"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--sink", ",".join(map(str, ports)), "--sink-ready", str(ready),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    for _ in range(400):
        if os.path.exists(ready):  # noqa: ASYNC240 - a stat per 50 ms poll
            return proc, [f"http://127.0.0.1:{p}/" for p in ports]
        await asyncio.sleep(0.05)
    proc.kill()
    raise RuntimeError("the sink relay did not start within 20 s")


# -- phase 4: the old slow path -------------------------------------------------------------------
async def old_path(rounds: int) -> float | None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench" / "bench_snipe.py"), str(rounds),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    out, err = await proc.communicate()
    text = out.decode(errors="replace")
    match = re.search(r"snipe: notification -> SENT\s+median\s+([\d.]+) ms", text)
    if proc.returncode != 0 or match is None:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        print(f"old path bench failed (exit {proc.returncode}): " + " | ".join(tail))
        return None
    return float(match.group(1)) / 1e3


# -- main ------------------------------------------------------------------------------------------
async def main(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-hot-snipe-"))
    proc = await start_localnet(tmp / "localnet.json")
    try:
        return await run(args, json.loads((tmp / "localnet.json").read_text()), tmp)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()


async def run(args: argparse.Namespace, urls: dict[str, Any], tmp: Path) -> int:
    metrics = Metrics()
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(trace_configs=[wire_trace_config()],
                                     connector=connector) as session:  # fmt: skip
        http = [EndpointConfig(name=n, url=urls["rpc"][n]["http"], rate_per_s=1e6)
                for n in ENDPOINTS]  # fmt: skip
        pool = RpcPool(http, breakers, metrics, session, default_timeout_s=5.0)
        rpc = SolanaRpc(pool)
        relay = RelayFanout(pool, [], breakers, metrics, clock=time.monotonic, timeout_s=5.0)
        book: ArmedBook[HotOrder] = ArmedBook(max_per_user=50, max_total=100_000)
        collected, risk = Collected(), OneDecision()
        sniper = HotSniper(book, relay, risk=risk, after=collected)
        g_acc, fc_acc = await rpc.get_multiple_accounts([pf.GLOBAL, pf.FEE_CONFIG])
        assert g_acc is not None
        bench = Bench(
            session, urls, rpc, NonceManager(RpcNonceChain(rpc), poll_s=0.02),
            book, sniper, collected, risk, pf.decode_global(bytes(g_acc.data)),
            None if fc_acc is None else pf.decode_fee_config(bytes(fc_acc.data)),
        )  # fmt: skip
        naive_key = (await new_wallets(bench, 1, 200 * SOL, 2))[0].keypair
        naive = NaiveRun(AsyncClient(urls["rpc"]["helius"]["http"]), naive_key, bench.g,
                         bench.fc, SOL // 50)  # fmt: skip
        sink, sink_urls = await start_sink(tmp, len(ENDPOINTS))
        paths = [
            fan_path("localnet (1 RPC endpoint, buys land)", "FANL",
                     [urls["rpc"]["helius"]["http"]], session, collected, risk, land=True),
            fan_path(f"sink relays ({len(ENDPOINTS)} endpoints in another process, bytes only)",
                     "FANS", sink_urls, session, collected, risk, land=False),
        ]  # fmt: skip

        def on_create(seen: CreateSeen) -> None:
            collected.cpu_at_create.setdefault(str(seen.event.mint), time.process_time())
            sniper.on_create(seen)
            naive.on_create(seen)
            for path in paths:
                path.sniper.on_create(seen)

        ws = [EndpointConfig(name=n, url=urls["rpc"][n]["http"], ws_url=urls["rpc"][n]["ws"],
                             priority=i) for i, n in enumerate(ENDPOINTS[:2])]  # fmt: skip
        manager = SubscriptionManager(ws, metrics, session, redundancy=2, rng=random.Random(1))
        detector = LaunchDetector(manager, [PumpFunListener(on_create=on_create)], metrics)

        async def ignore(_event: LaunchEvent) -> None:
            return None

        feed = asyncio.create_task(detector.run(ignore))
        await asyncio.sleep(1.0)  # both subscriptions up before the first create
        try:
            started = time.monotonic()
            one = await phase_one(bench, args.launches)
            t_one = time.monotonic() - started
            started = time.monotonic()
            await phase_naive(bench, naive, args.naive)
            t_naive = time.monotonic() - started
            fans: list[tuple[FanPath, dict[str, Any], float]] = []
            started = time.monotonic()
            armed = await fan_orders(bench, args.fan_orders, args.fan_launches) if max(
                args.fan_launches, args.sink_launches) > 0 else []  # fmt: skip
            t_setup = time.monotonic() - started
            for path, launches in zip(paths, (args.fan_launches, args.sink_launches), strict=True):
                if launches > 0:
                    started = time.monotonic()
                    fan = await phase_fan(bench, path, armed, launches)
                    fans.append((path, fan, time.monotonic() - started))
        finally:
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)
            await sniper.close(5.0)
            await relay.close()
            for path in paths:
                await path.sniper.close(5.0)
                await path.relay.close()
                await path.pool.close()
            await naive.client.close()
            await pool.close()
            sink.kill()
            await sink.wait()
    old = await old_path(args.old_rounds) if args.old_rounds > 0 else None

    load = os.getloadavg()
    print(f"load average {load[0]:.1f} / {load[1]:.1f} on {os.cpu_count()} cores (shared box)")
    print(f"localnet in its own process, 20 ms slots, sigverify + block building, "
          f"{len(ENDPOINTS)} RPC endpoints per send, WS logs (processed) on 2")  # fmt: skip
    print(f"\n1) one armed order, {args.launches} launches ({t_one:.0f} s), "
          f"send errors/timeouts {one['errors']}")  # fmt: skip
    print(row("event -> bytes signed", one["built"]))
    print(row("event -> signed bytes on the wire", one["wire"], "<= 2 ms p50 / <= 10 ms p99"))
    if risk.seconds:
        print(row("decide_launch (one per matched launch, all phases)", risk.seconds))
    print(f"\n2) naive reference (solana-py AsyncClient, sequential), {len(naive.to_send)} of "
          f"{args.naive} launches ({t_naive:.0f} s), curve re-reads {naive.retries}")  # fmt: skip
    print(row("naive: event -> send called (lower bound)", naive.to_send))
    print(row("naive: event -> send answered", naive.to_sent))
    hot_p50 = pct(one["wire"], 0.5) if one["wire"] else float("nan")
    if naive.to_send and one["wire"]:
        print(f"ratio naive p50 (send called) / ours p50 (on the wire): "
              f"{pct(naive.to_send, 0.5) / hot_p50:.1f}x   goal >= 5x")  # fmt: skip
        print(f"ratio naive p50 (send answered) / ours p50: "
              f"{pct(naive.to_sent, 0.5) / hot_p50:.1f}x")  # fmt: skip
    print(f"\n3) landing on localnet, rival 'fast' 20 ms after each create at cu_price {CU_PRICE}")
    print(f"ours:  landing slot - create slot: {histogram(one['deltas'])}")
    print(f"rival: landing slot - create slot: {histogram(one['rival_deltas'])}")
    n = max(1, len(one["deltas"]))
    print(f"ours executed before the rival's: {one['ahead']}/{len(one['deltas'])} "
          f"({100 * one['ahead'] / n:.1f} %), same slot {one['same_slot']}, "
          f"rival did not land {one['rival_missing']}, unknown {one['unknown']}")  # fmt: skip
    if armed:
        print(
            f"\n4) fan-out setup: {len(armed)} users, wallets and durable nonces in {t_setup:.0f} s"
        )
    for path, fan, seconds in fans:
        print_fan(path, fan, seconds)
    if old is not None:
        print(f"\n5) old slow path (bench_snipe.py {args.old_rounds} rounds, SnipeEngine -> "
              f"TradingService, notification -> SENT): p50 {old * 1e3:.2f} ms")  # fmt: skip
        print(f"ratio old p50 / hot p50 (on the wire): {old / hot_p50:.1f}x")
    return 0


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--launches", type=int, default=500, help="one-order launches")
    parser.add_argument("--naive", type=int, default=200, help="naive reference launches")
    parser.add_argument("--fan-orders", type=int, default=1_000)
    parser.add_argument("--fan-launches", type=int, default=2, help="fan-out launches, localnet")
    parser.add_argument("--sink-launches", type=int, default=5, help="fan-out launches, sink")
    parser.add_argument("--sink", default=None, help=argparse.SUPPRESS)  # the sink's process
    parser.add_argument("--sink-ready", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--old-rounds", type=int, default=20, help="0: skip the old path")
    parsed = parser.parse_args()
    if parsed.sink is not None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_sink([int(p) for p in parsed.sink.split(",")], parsed.sink_ready))
        sys.exit(0)
    sys.exit(asyncio.run(main(parsed)))
