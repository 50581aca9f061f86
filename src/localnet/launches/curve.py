"""Scripted launches on the pump.fun curve, every step a real transaction on localnet's hosted
pump.fun program (`localnet.pump.launchpad`): the creator's `create_v2` and dev buy, bundled buys
in the create's block, rival snipers N ms after the create, other traders buying and selling at
chosen slots, the dev dumping its bag, the curve bought out and migrated, then PumpSwap trades.

A plan is the `params` table of a launch whose kind starts with `curve` (`[[launch]]` or a
`[stream]` kind), or keyword arguments of `ScenarioEngine.launch_curve`:

```toml
[[launch]]
at_slot = 2
kind = "curve"
params = { dev_buy_lamports = 2_000_000_000,              # the creator's buy, fees included
           bundle = [500_000_000, 500_000_000],             # wallets buying in the create's block
           snipers = [{ delay_ms = 0, lamports = 1_000_000_000 },
                      { delay_ms = 800, lamports = 300_000_000, cu_price = 50_000 }],
           trades = [{ after_slots = 3, side = "buy", lamports = 200_000_000, trader = 0 },
                     { after_slots = 6, side = "sell", share_bps = 5_000, trader = 0 }],
           dev_dump_after_slots = 8,                         # the creator sells everything
           graduate_after_slots = 10,                        # buy the curve out, migrate
           bundle_via = "rpc" }                              # or "jito" (below)
```

`bundle_via = "jito"` sends the create, the dev buy and the bundle's buys as one real Jito bundle
through the block engine (`localnet.jito`): the creator's transaction also tips `jito_tip_lamports`
(default 100,000) to a tip account, and the bundle lands atomically and in order at the top of a
batch of the leader (all of it or nothing), so at most 5 transactions: the create, the dev buy
if any, and 3 buys (4 without a dev buy). Its id is `CurveRun.bundle_id`.

Timing: slots are the scenario's clock, so a sniper's `delay_ms` lands it `delay_ms // slot_ms`
blocks after the create's (0: the create's own block, after the create). With block building on,
the create, the dev buy, the bundle and same-block snipers are submitted together and land in
the same block, ordered by compute-unit price then arrival (so a rival with a `cu_price` above
the create's would be ordered before it and fail, as on mainnet); later snipers are submitted
into the block of their slot, where they compete with the bot by priority fee. Without block
building every step executes at once in the current slot. `trades` whose curve has graduated go
to the coin's PumpSwap pool. Wallets (creators, bundlers, rivals, traders) come from small
seeded pools, so a run of any length keeps a bounded number of wallet accounts.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.encoding import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from localnet.execution import writable_flags
from localnet.jito.engine import TIP_ACCOUNTS, JitoError
from localnet.market import instructions as tix
from localnet.market.keys import derive_keypair
from localnet.market.ports import ClusterPort
from localnet.pump.launchpad import LaunchError, PumpLaunchpad
from localnet.pump.state import bonding_curve_address
from localnet.pumpswap import state as amm
from localnet.pumpswap.market import PumpSwapMarket

log = structlog.get_logger(__name__)
SOL = 1_000_000_000
WALLETS = 16  # per role: creators, bundlers, rivals, traders are reused round-robin
WALLET_LAMPORTS = 1_000 * SOL
SLIPPAGE_BPS = 1_000  # rivals and bundlers accept 10 % on top of their quote
SIDES = ("buy", "sell")
BUNDLE_VIAS = ("rpc", "jito")
DEFAULT_JITO_TIP = 100_000  # lamports a scripted bundle tips
MAX_BUNDLE_TRANSACTIONS = 5  # Jito's limit


@dataclass(frozen=True, slots=True)
class Sniper:
    delay_ms: int
    lamports: int
    cu_price: int = 0  # micro-lamports per compute unit


@dataclass(frozen=True, slots=True)
class CurveTrade:
    after_slots: int
    side: str
    lamports: int = 0  # buys: spend, fees included
    share_bps: int = 10_000  # sells: this share of what the trader holds
    trader: int = 0


@dataclass(frozen=True, slots=True)
class CurvePlan:
    name: str = "Localnet Coin"
    symbol: str = "LOCAL"
    dev_buy_lamports: int = 0
    bundle: tuple[int, ...] = ()
    snipers: tuple[Sniper, ...] = ()
    trades: tuple[CurveTrade, ...] = ()
    dev_dump_after_slots: int | None = None
    graduate_after_slots: int | None = None
    bundle_via: str = "rpc"  # "jito": create + dev buy + bundle buys as one Jito bundle
    jito_tip_lamports: int = DEFAULT_JITO_TIP

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> CurvePlan:
        known = {"name", "symbol", "dev_buy_lamports", "bundle", "snipers", "trades",
                 "dev_dump_after_slots", "graduate_after_slots", "bundle_via",
                 "jito_tip_lamports"}  # fmt: skip
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"unknown curve launch parameters {sorted(unknown)}; known {known}")

        def lamports(value: Any, what: str) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{what} must be a non-negative integer of lamports")
            return value

        def slots(value: Any, what: str) -> int | None:
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{what} must be a non-negative number of slots")
            return value

        snipers = tuple(
            Sniper(lamports(s.get("delay_ms", 0), "sniper delay_ms"),
                   lamports(s["lamports"], "sniper lamports"),
                   lamports(s.get("cu_price", 0), "sniper cu_price"))
            for s in params.get("snipers", ())
        )  # fmt: skip
        trades = []
        for t in params.get("trades", ()):
            side = str(t.get("side", "buy"))
            if side not in SIDES:
                raise ValueError(f"trade side must be one of {SIDES}, got {side!r}")
            share = lamports(t.get("share_bps", 10_000), "trade share_bps")
            if not 0 < share <= 10_000:
                raise ValueError("trade share_bps must be 1..10000")
            after = slots(t.get("after_slots", 1), "trade after_slots")
            spend = lamports(t.get("lamports", 0), "trade lamports")
            trader = lamports(t.get("trader", 0), "trader")
            trades.append(CurveTrade(after or 0, side, spend, share, trader))
        via = params.get("bundle_via", "rpc")
        if via not in BUNDLE_VIAS:
            raise ValueError(f"bundle_via must be one of {BUNDLE_VIAS}, got {via!r}")
        tip = lamports(params.get("jito_tip_lamports", DEFAULT_JITO_TIP), "jito_tip_lamports")
        dev = 1 if params.get("dev_buy_lamports", 0) else 0
        buys = len(params.get("bundle", ()))
        if via == "jito" and 1 + dev + buys > MAX_BUNDLE_TRANSACTIONS:
            raise ValueError(
                f"a Jito bundle holds at most {MAX_BUNDLE_TRANSACTIONS} transactions: the create, "
                f"{'the dev buy and ' if dev else ''}at most {MAX_BUNDLE_TRANSACTIONS - 1 - dev} "
                f"bundle buys, got {buys} buys"
            )
        return cls(
            str(params.get("name", "Localnet Coin")), str(params.get("symbol", "LOCAL")),
            lamports(params.get("dev_buy_lamports", 0), "dev_buy_lamports"),
            tuple(lamports(b, "bundle lamports") for b in params.get("bundle", ())),
            snipers, tuple(trades),
            slots(params.get("dev_dump_after_slots"), "dev_dump_after_slots"),
            slots(params.get("graduate_after_slots"), "graduate_after_slots"),
            via, tip,
        )  # fmt: skip


@dataclass(slots=True)
class CurveRun:
    """One scripted launch: who did what, with the signature of every transaction it sent."""

    mint: Pubkey
    creator: Keypair
    plan: CurvePlan
    launched_slot: int  # the slot whose tick sent the create
    kind: str = "curve"
    create_signature: str = ""
    dev_buy_signature: str | None = None
    bundle: list[tuple[Pubkey, str]] = field(default_factory=list)
    snipers: list[tuple[Pubkey, str]] = field(default_factory=list)
    trades: list[tuple[Pubkey, str, str]] = field(default_factory=list)  # wallet, venue, sig
    dump_signature: str | None = None
    graduation: tuple[str | None, str] | None = None  # (complete, migrate) signatures
    holders: set[Pubkey] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    bundle_id: str | None = None  # the Jito bundle of create + buys (`bundle_via = "jito"`)

    def summary(self) -> dict[str, Any]:
        return {
            "mint": str(self.mint), "kind": self.kind, "creator": str(self.creator.pubkey()),
            "bonding_curve": str(bonding_curve_address(self.mint)),
            "launched_slot": self.launched_slot, "create_signature": self.create_signature,
            "dev_buy_signature": self.dev_buy_signature,
            "bundle": [{"wallet": str(w), "signature": s} for w, s in self.bundle],
            "snipers": [{"wallet": str(w), "signature": s} for w, s in self.snipers],
            "trades": [{"wallet": str(w), "venue": v, "signature": s}
                       for w, v, s in self.trades],
            "bundle_id": self.bundle_id,
            "dump_signature": self.dump_signature,
            "graduation": None if self.graduation is None else {
                "complete_signature": self.graduation[0], "migrate_signature": self.graduation[1],
            },
            "errors": self.errors,
        }  # fmt: skip


class CurveLaunches:
    """Plays curve plans on the slot clock (`tick`), keeps the newest `max_runs`."""

    def __init__(self, cluster: ClusterPort, seed: int, max_runs: int) -> None:
        self.cluster = cluster
        self.seed = seed
        self.max_runs = max_runs
        self.pad = PumpLaunchpad(cluster, seed)
        self.swap = PumpSwapMarket(cluster, seed)
        self.runs: dict[Pubkey, CurveRun] = {}  # insertion order: oldest first
        self.rivals_enabled = True
        self.retired = 0
        self._jobs: list[tuple[int, int, Pubkey, Callable[[CurveRun], None]]] = []
        self._seq = itertools.count()
        self._funded: set[Pubkey] = set()
        self._counters = {"creator": 0, "bundler": 0, "rival": 0, "mint": 0}
        self._projected: dict[str, Any] = {}
        self.block_engine: Any = None  # localnet.jito.BlockEngine, for `bundle_via = "jito"`
        self._staged: list[VersionedTransaction] | None = None

    # -- wallets ---------------------------------------------------------------------------------
    def wallet(self, role: str, index: int | None = None) -> Keypair:
        if index is None:
            index = self._counters[role]
            self._counters[role] += 1
        kp = derive_keypair(self.seed, f"curve-{role}:{index % WALLETS}")
        if kp.pubkey() not in self._funded:
            self.cluster.airdrop(kp.pubkey(), WALLET_LAMPORTS)
            self._funded.add(kp.pubkey())
        else:
            account = self.cluster.get_account(kp.pubkey())
            if account is None or account.lamports < WALLET_LAMPORTS // 4:
                self.cluster.airdrop(kp.pubkey(), WALLET_LAMPORTS)
        return kp

    # -- sending ---------------------------------------------------------------------------------
    def _dispatch(self, run: CurveRun, what: str, tx: VersionedTransaction) -> str:
        """Into the block being built (block building) or executed now; failures are logged.
        While a Jito bundle is being put together (`_staged`), the transaction joins it."""
        if self._staged is not None:
            self._staged.append(tx)
            return str(tx.signatures[0])
        if getattr(self.cluster, "block_building", False):
            return str(self.cluster.submit_transaction(tx))  # type: ignore[attr-defined]
        outcome = self.cluster.send_transaction(tx)
        if outcome.err is not None or not getattr(outcome, "landed", True):
            run.errors.append(f"{what}: {outcome.err}")
            log.info("launches.curve_step_failed", mint=str(run.mint), step=what, err=outcome.err)
        return str(outcome.signature)

    def _schedule(self, slot: int, run: CurveRun, job: Callable[[CurveRun], None]) -> None:
        heapq.heappush(self._jobs, (slot, next(self._seq), run.mint, job))

    # -- launching -------------------------------------------------------------------------------
    def launch(self, plan: CurvePlan, kind: str = "curve") -> CurveRun:
        creator = self.wallet("creator")
        mint = derive_keypair(self.seed, f"curve-mint:{self._counters['mint']}")  # replayable
        self._counters["mint"] += 1
        slot = self.cluster.slot
        run = CurveRun(mint.pubkey(), creator, plan, slot, kind)
        jito = plan.bundle_via == "jito"
        if jito and self.block_engine is None:
            raise ValueError("bundle_via jito needs localnet's block engine (a Localnet node)")
        if jito:
            self._staged = []
        try:
            self._open_launch(run, mint, plan)
        finally:
            staged, self._staged = self._staged, None
        if jito and staged is not None:
            self._send_bundle(run, mint, staged)
        self._later_steps(run, plan, slot)
        while len(self.runs) > self.max_runs:
            self.retire(next(iter(self.runs)))
        return run

    def _open_launch(self, run: CurveRun, mint: Keypair, plan: CurvePlan) -> None:
        """The create, the dev buy and the bundle's buys (dispatched, or staged for a bundle)."""
        creator, pad = run.creator, self.pad
        run.create_signature = self._dispatch(run, "create_v2", pad.create_transaction(
            creator, mint, name=plan.name, symbol=plan.symbol))  # fmt: skip
        if run.errors:
            raise LaunchError("create_v2", run.errors[0], ())
        self.runs[run.mint] = run
        projected = pad.initial_curve(creator.pubkey())

        def buy_now(wallet: Keypair, lamports: int, what: str, cu_price: int = 0,
                    slippage_bps: int = 0) -> str | None:  # fmt: skip
            nonlocal projected
            tokens, after = pad.project_buy(projected, lamports)
            if tokens <= 0:
                return None
            projected = after
            tx = pad.buy_transaction(run.mint, creator.pubkey(), wallet, tokens=tokens,
                                     max_lamports=lamports + lamports * slippage_bps // 10_000,
                                     cu_price=cu_price)  # fmt: skip
            run.holders.add(wallet.pubkey())
            return self._dispatch(run, what, tx)

        if plan.dev_buy_lamports:
            run.dev_buy_signature = buy_now(creator, plan.dev_buy_lamports, "dev_buy")
        for lamports in plan.bundle:
            wallet = self.wallet("bundler")
            sig = buy_now(wallet, lamports, "bundle_buy")
            if sig is not None:
                run.bundle.append((wallet.pubkey(), sig))
        self._projected = projected

    def _send_bundle(
        self, run: CurveRun, mint: Keypair, staged: list[VersionedTransaction]
    ) -> None:
        """Send the staged create + buys as one Jito bundle, the create re-signed with a tip."""
        create, *buys = staged
        tip_account = TIP_ACCOUNTS[len(self.runs) % len(TIP_ACCOUNTS)]
        tip = transfer(TransferParams(from_pubkey=run.creator.pubkey(), to_pubkey=tip_account,
                                      lamports=run.plan.jito_tip_lamports))  # fmt: skip
        tipped = _with_instructions(create, [tip], [run.creator, mint])
        run.create_signature = str(tipped.signatures[0])
        try:
            run.bundle_id = self.block_engine.send_bundle([tipped, *buys], via="scenario")
        except JitoError as exc:
            run.errors.append(f"bundle: {exc.message}")
            log.info("launches.curve_bundle_refused", mint=str(run.mint), err=exc.message)

    def _later_steps(self, run: CurveRun, plan: CurvePlan, slot: int) -> None:
        """Same-block snipers (after the opening), then everything scheduled on later slots."""
        pad, creator = self.pad, run.creator
        projected = self._projected

        def buy_now(wallet: Keypair, lamports: int, what: str, cu_price: int = 0,
                    slippage_bps: int = 0) -> str | None:  # fmt: skip
            nonlocal projected
            tokens, after = pad.project_buy(projected, lamports)
            if tokens <= 0:
                return None
            projected = after
            tx = pad.buy_transaction(run.mint, creator.pubkey(), wallet, tokens=tokens,
                                     max_lamports=lamports + lamports * slippage_bps // 10_000,
                                     cu_price=cu_price)  # fmt: skip
            run.holders.add(wallet.pubkey())
            return self._dispatch(run, what, tx)

        slot_ms = getattr(self.cluster, "slot_ms", None) or 400
        for sniper in plan.snipers if self.rivals_enabled else ():
            delay = sniper.delay_ms // slot_ms
            if delay == 0:
                wallet = self.wallet("rival")
                sig = buy_now(wallet, sniper.lamports, "rival_buy", sniper.cu_price, SLIPPAGE_BPS)
                if sig is not None:
                    run.snipers.append((wallet.pubkey(), sig))
            else:
                self._schedule(slot + delay, run, _rival(self, sniper))
        for trade in plan.trades:
            self._schedule(slot + max(1, trade.after_slots), run, _trade(self, trade))
        if plan.dev_dump_after_slots is not None:
            self._schedule(slot + max(1, plan.dev_dump_after_slots), run, self._dump)
        if plan.graduate_after_slots is not None:
            self._schedule(slot + max(1, plan.graduate_after_slots), run, self._graduate)

    def tick(self, slot: int) -> None:
        while self._jobs and self._jobs[0][0] <= slot:
            _, _, mint, job = heapq.heappop(self._jobs)
            run = self.runs.get(mint)
            if run is None:
                continue  # retired meanwhile
            try:
                job(run)
            except (LaunchError, ValueError) as exc:
                run.errors.append(str(exc))
                log.info("launches.curve_step_failed", mint=str(mint), error=str(exc))

    # -- later steps -----------------------------------------------------------------------------
    def graduated(self, mint: Pubkey) -> bool:
        pool = self.cluster.get_account(amm.canonical_pool_address(mint))
        return pool is not None and pool.lamports > 0

    def buy(self, run: CurveRun, wallet: Keypair, lamports: int) -> tuple[str, str]:
        run.holders.add(wallet.pubkey())
        if self.graduated(run.mint):
            return "pumpswap", self.swap.buy(run.mint, wallet, lamports=lamports)
        return "curve", self.pad.buy(run.mint, wallet, lamports=lamports)

    def sell(self, run: CurveRun, wallet: Keypair, share_bps: int) -> tuple[str, str] | None:
        held = self.pad.token_balance(run.mint, wallet.pubkey())
        tokens = held * share_bps // 10_000
        if tokens <= 0:
            return None
        if self.graduated(run.mint):
            return "pumpswap", self.swap.sell(run.mint, wallet, tokens=tokens)
        return "curve", self.pad.sell(run.mint, wallet, tokens=tokens)

    def _dump(self, run: CurveRun) -> None:
        done = self.sell(run, run.creator, 10_000)
        run.dump_signature = None if done is None else done[1]

    def _graduate(self, run: CurveRun) -> None:
        if self.graduated(run.mint):
            return
        buyer = self.wallet("graduator", 0)
        run.holders.add(buyer.pubkey())
        done = self.pad.graduate(run.mint, buyer)
        run.graduation = (done.complete_signature, done.migrate_signature)

    # -- retiring --------------------------------------------------------------------------------
    def retire(self, mint: Pubkey) -> None:
        """Forget a run and close the coin's accounts (mint, curve, holders' token accounts, the
        PumpSwap pool and its vaults); shared wallets and protocol accounts stay."""
        run = self.runs.pop(mint, None)
        if run is None:
            return
        curve = bonding_curve_address(mint)
        pool = amm.canonical_pool_address(mint)
        authority = amm.pool_authority_address(mint)
        lp = amm.lp_mint_address(pool)
        t22, spl, wsol = TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, tix.WSOL_MINT
        keys = [mint, curve, tix.associated_token_address(curve, mint, t22),
                tix.associated_token_address(curve, wsol, spl), pool, lp,
                tix.associated_token_address(pool, mint, t22),
                tix.associated_token_address(pool, wsol, spl),
                tix.associated_token_address(authority, mint, t22),
                tix.associated_token_address(authority, wsol, spl),
                tix.associated_token_address(authority, lp, t22)]  # fmt: skip
        keys += [tix.associated_token_address(h, mint, t22) for h in run.holders]
        for key in keys:
            self.cluster.close_account(key)
        self.retired += 1


def _rival(owner: CurveLaunches, sniper: Sniper) -> Callable[[CurveRun], None]:
    def job(run: CurveRun) -> None:
        if not owner.rivals_enabled:
            return
        wallet = owner.wallet("rival")
        if owner.graduated(run.mint):
            return
        state = owner.pad.curve(run.mint)
        if state["complete"]:
            return
        tokens, _ = owner.pad.project_buy(state, sniper.lamports)
        if tokens <= 0:
            return
        tx = owner.pad.buy_transaction(
            run.mint, state["creator"], wallet, tokens=tokens,
            max_lamports=sniper.lamports + sniper.lamports * SLIPPAGE_BPS // 10_000,
            cu_price=sniper.cu_price,
        )  # fmt: skip
        run.holders.add(wallet.pubkey())
        run.snipers.append((wallet.pubkey(), owner._dispatch(run, "rival_buy", tx)))

    return job


def _trade(owner: CurveLaunches, trade: CurveTrade) -> Callable[[CurveRun], None]:
    def job(run: CurveRun) -> None:
        wallet = owner.wallet("trader", trade.trader)
        if trade.side == "buy":
            if trade.lamports:
                venue, sig = owner.buy(run, wallet, trade.lamports)
                run.trades.append((wallet.pubkey(), venue, sig))
            return
        done = owner.sell(run, wallet, trade.share_bps)
        if done is not None:
            run.trades.append((wallet.pubkey(), done[0], done[1]))

    return job


def _with_instructions(
    tx: VersionedTransaction, extra: list[Instruction], signers: list[Keypair]
) -> VersionedTransaction:
    """`tx` (no lookup tables) with `extra` instructions appended, signed again by `signers`."""
    msg = tx.message
    keys = list(msg.account_keys)
    writable = writable_flags(msg)
    n = msg.header.num_required_signatures
    ixs = [
        Instruction(
            keys[c.program_id_index],
            bytes(c.data),
            [AccountMeta(keys[i], i < n, writable[i]) for i in bytes(c.accounts)],
        )
        for c in msg.instructions
    ]
    message = MessageV0.try_compile(keys[0], [*ixs, *extra], [], msg.recent_blockhash)
    return VersionedTransaction(message, signers)
