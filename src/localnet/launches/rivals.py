"""Rival snipers: scripted bots that buy every pump.fun coin created on localnet.

A rival watches the pump program's logs at `processed` (an in-process `logsSubscribe`, as a rival
bot on a fast RPC would) and, `delay_ms` after a successful `create` / `create_v2` executed, sends
its own signed `buy_v2` on the bonding curve, with its priority fee (`cu_price`, micro-lamports
per compute unit) and spend (`lamports`, fees included; `slippage_bps` on top), through the same
code path as every client's `sendTransaction` (preflight, then the block being built: a block
orders transactions by compute-unit price, then arrival). Whatever it sends is recorded
(`RivalBuy`), with its landing slot and position in the block read back from the history.

    rivals = RivalSnipers(cluster, seed=7)
    rivals.add(RivalConfig("fast", delay_ms=20, lamports=SOL // 10, cu_price=200_000))
    ...                                # a create lands; the rival sends 20 ms later
    await rivals.settle()              # every scheduled send done
    slot_delta(cluster, our_signature, rivals.buys[-1].signature)  # >= 0: we were not later

A rival with `via = "jito"` sends through the block engine instead (`localnet.jito`): a real
bundle of its buy and a tip transaction (`tip_lamports` to a tip account, at least the tip
floor), landing atomically at the top of the leader's next batch, ahead of that batch's
ordinary transactions whatever their priority fee (`RivalBuy.bundle_id`).

Rivals react to real curves only (the bonding curve account exists and is not complete).
Control API (`localnet.launches.control`): `GET /rivals/snipers`, `PUT /rivals/snipers/{name}`
(a `RivalConfig` JSON), `DELETE /rivals/snipers/{name}`.
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster
from localnet.jito.engine import TIP_ACCOUNTS, JitoError
from localnet.market.keys import derive_keypair
from localnet.pump.launchpad import PumpLaunchpad
from localnet.pump.state import PUMP_PROGRAM_ID, discriminator
from localnet.rpc.errors import RpcError
from localnet.rpc.transactions import send_transaction

log = structlog.get_logger(__name__)

SOL = 1_000_000_000
CREATE_DISCRIMINATORS = frozenset(
    {discriminator("global", "create"), discriminator("global", "create_v2")}
)
MAX_DELAY_MS = 60_000
MAX_BUYS_KEPT = 10_000
MAX_RIVALS = 64
WALLET_LAMPORTS = 100 * SOL
MAX_SLIPPAGE_BPS = 10_000
CONFIG_FIELDS = (
    "name", "delay_ms", "lamports", "cu_price", "slippage_bps", "enabled", "via", "tip_lamports",
)  # fmt: skip
VIAS = ("rpc", "jito")
DEFAULT_TIP_LAMPORTS = 100_000


@dataclass(frozen=True, slots=True)
class RivalConfig:
    """One rival: `delay_ms` after each create it sends a buy spending `lamports` (fees
    included, `slippage_bps` on top) at `cu_price` micro-lamports per compute unit."""

    name: str
    delay_ms: int = 20
    lamports: int = SOL // 10
    cu_price: int = 0
    slippage_bps: int = 1_000
    enabled: bool = True
    via: str = "rpc"  # "jito": a bundle (buy + tip) through the block engine
    tip_lamports: int = DEFAULT_TIP_LAMPORTS  # what a "jito" rival tips

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or len(self.name) > 64:
            raise ValueError("rival name must be a non-empty string of at most 64 characters")

        def integer(value: Any, what: str, low: int, high: int | None = None) -> None:
            bad = isinstance(value, bool) or not isinstance(value, int)
            if bad or value < low or (high is not None and value > high):
                bound = f"{low}..{high}" if high is not None else f">= {low}"
                raise ValueError(f"rival {what} must be an integer {bound}, got {value!r}")

        integer(self.delay_ms, "delay_ms", 0, MAX_DELAY_MS)
        integer(self.lamports, "lamports", 1)
        integer(self.cu_price, "cu_price", 0)
        integer(self.slippage_bps, "slippage_bps", 0, MAX_SLIPPAGE_BPS)
        if not isinstance(self.enabled, bool):
            raise ValueError(f"rival enabled must be true or false, got {self.enabled!r}")
        if self.via not in VIAS:
            raise ValueError(f"rival via must be one of {list(VIAS)}, got {self.via!r}")
        integer(self.tip_lamports, "tip_lamports", 0)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RivalConfig:
        unknown = set(body) - set(CONFIG_FIELDS)
        if unknown:
            raise ValueError(f"unknown rival fields {sorted(unknown)}; known {list(CONFIG_FIELDS)}")
        if "name" not in body:
            raise ValueError("a rival needs a name")
        return cls(**body)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class RivalBuy:
    """A buy a rival sent (or failed to send: `error`) for the create `create_signature`."""

    rival: str
    wallet: Pubkey
    mint: Pubkey
    create_signature: Signature
    create_slot: int
    sent_slot: int  # the newest slot when it was sent (it lands in a later block)
    signature: Signature | None = None
    error: str | None = None
    bundle_id: str | None = None  # sent through the block engine


def landing_slot(cluster: Cluster, signature: Signature | str) -> int | None:
    """The slot a transaction landed in (ok or failed), None while it has not landed."""
    outcome = cluster.history.get(_signature(signature))
    return outcome.slot if outcome is not None and outcome.landed else None


def block_position(cluster: Cluster, signature: Signature | str) -> tuple[int, int] | None:
    """(slot, index within that block's transactions in execution order), None if not landed."""
    sig = _signature(signature)
    slot = landing_slot(cluster, sig)
    if slot is None:
        return None
    for index, outcome in enumerate(cluster.history.block(slot)):
        if outcome.signature == sig:
            return slot, index
    return None  # pragma: no cover - a landed transaction is in its block


def slot_delta(cluster: Cluster, ours: Signature | str, theirs: Signature | str) -> int | None:
    """Their landing slot minus ours (>= 0: they did not land before us), None if either has
    not landed."""
    a, b = landing_slot(cluster, ours), landing_slot(cluster, theirs)
    return None if a is None or b is None else b - a


def landed_before(cluster: Cluster, first: Signature | str, second: Signature | str) -> bool:
    """Whether `first` executed before `second` (earlier slot, or earlier in the same block);
    False when either has not landed."""
    a, b = block_position(cluster, first), block_position(cluster, second)
    return a is not None and b is not None and a < b


def _signature(value: Signature | str) -> Signature:
    return value if isinstance(value, Signature) else Signature.from_string(value)


class RivalSnipers:
    """Every configured rival buying every pump.fun create (see the module doc)."""

    def __init__(self, cluster: Cluster, seed: int = 0, block_engine: Any = None) -> None:
        """`block_engine`: the `localnet.jito.BlockEngine` "jito" rivals send through."""
        self.cluster = cluster
        self.block_engine = block_engine
        self.seed = seed
        self.pad = PumpLaunchpad(cluster, seed)
        self.rivals: dict[str, RivalConfig] = {}
        self.buys: deque[RivalBuy] = deque(maxlen=MAX_BUYS_KEPT)
        self._wallets: dict[str, Keypair] = {}
        self._tasks: set[asyncio.TimerHandle] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._deferred: list[tuple[RivalConfig, Pubkey, Signature, int]] = []
        self._subscription: int | None = None
        cluster.on_slot(self._on_slot)

    # -- configuration -----------------------------------------------------------------------------
    def add(self, config: RivalConfig) -> RivalConfig:
        """Add or replace a rival (its wallet is funded on first use)."""
        if config.name not in self.rivals and len(self.rivals) >= MAX_RIVALS:
            raise ValueError(f"at most {MAX_RIVALS} rivals")
        if config.via == "jito" and self.block_engine is None:
            raise ValueError("a rival via jito needs localnet's block engine")
        self.rivals[config.name] = config
        self.wallet(config.name)
        if self._subscription is None:
            self._subscription = self.cluster.hub.subscribe_logs(
                PUMP_PROGRAM_ID, depth=0, sink=self._on_logs
            )
        return config

    def remove(self, name: str) -> bool:
        return self.rivals.pop(name, None) is not None

    def wallet(self, name: str) -> Keypair:
        kp = self._wallets.get(name)
        if kp is None:
            kp = derive_keypair(self.seed, f"rival-sniper:{name}")
            self._wallets[name] = kp
        if self.cluster.get_balance(kp.pubkey()) < WALLET_LAMPORTS // 4:
            self.cluster.airdrop(kp.pubkey(), WALLET_LAMPORTS)
        return kp

    # -- reacting ----------------------------------------------------------------------------------
    def _on_logs(self, method: str, sub_id: int, result: Any) -> None:
        del method, sub_id
        value = result.get("value", {}) if isinstance(result, dict) else {}
        if value.get("err") is not None or not self.rivals:
            return
        signature = Signature.from_string(value["signature"])
        mint = self._created_mint(signature)
        if mint is None:
            return
        slot = int(result["context"]["slot"])
        for config in tuple(self.rivals.values()):
            if config.enabled:
                self._schedule(config, mint, signature, slot)

    def _created_mint(self, signature: Signature) -> Pubkey | None:
        outcome = self.cluster.history.get(signature)
        tx = outcome.transaction if outcome is not None else None
        if tx is None:
            return None
        keys = tx.message.account_keys
        for ix in tx.message.instructions:
            program = keys[ix.program_id_index]
            if program == PUMP_PROGRAM_ID and bytes(ix.data)[:8] in CREATE_DISCRIMINATORS:
                return keys[ix.accounts[0]] if ix.accounts else None
        return None

    def _schedule(self, config: RivalConfig, mint: Pubkey, create: Signature, slot: int) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a bare cluster in a sync test): at the next slot
            self._deferred.append((config, mint, create, slot))
            return

        def fire() -> None:
            self._tasks.discard(handle)
            try:
                self._buy(config, mint, create, slot)
            finally:
                self._wake()

        # even with no delay, never inside the commit that published the create
        handle = loop.call_later(config.delay_ms / 1000, fire)
        self._tasks.add(handle)

    def _on_slot(self, slot: int) -> None:
        del slot
        deferred, self._deferred = self._deferred, []
        for config, mint, create, created in deferred:
            self._buy(config, mint, create, created)

    def _buy(self, config: RivalConfig, mint: Pubkey, create: Signature, created: int) -> None:
        if self.rivals.get(config.name) is None:
            return  # removed meanwhile
        wallet = self.wallet(config.name)
        buy = RivalBuy(config.name, wallet.pubkey(), mint, create, created, self.cluster.slot)
        self.buys.append(buy)
        try:
            state = self.pad.curve(mint)
        except ValueError as exc:  # the curve is gone (retired) or not a pump curve
            buy.error = str(exc)
            return
        if state["complete"]:
            buy.error = "curve complete"
            return
        tokens, _ = self.pad.project_buy(state, config.lamports)
        if tokens <= 0:
            buy.error = "nothing to buy"
            return
        tx = self.pad.buy_transaction(
            mint,
            state["creator"],
            wallet,
            tokens=tokens,
            max_lamports=config.lamports + config.lamports * config.slippage_bps // 10_000,
            cu_price=config.cu_price,
        )
        buy.signature = tx.signatures[0]
        if config.via == "jito":
            self._send_bundle(config, wallet, buy, tx)
            return
        encoded = base64.b64encode(bytes(tx)).decode()
        try:
            send_transaction(self.cluster, [encoded, {"encoding": "base64"}])
        except RpcError as exc:
            buy.error = exc.message
            log.info(
                "localnet.rival_buy_refused", rival=config.name, mint=str(mint), err=exc.message
            )

    def _send_bundle(
        self, config: RivalConfig, wallet: Keypair, buy: RivalBuy, tx: VersionedTransaction
    ) -> None:
        """The buy and a tip transaction as one bundle through the block engine."""
        tip_ix = transfer(
            TransferParams(
                from_pubkey=wallet.pubkey(),
                to_pubkey=TIP_ACCOUNTS[len(self.buys) % len(TIP_ACCOUNTS)],
                lamports=config.tip_lamports,
            )
        )
        message = MessageV0.try_compile(wallet.pubkey(), [tip_ix], [], tx.message.recent_blockhash)
        tip = VersionedTransaction(message, [wallet])
        try:
            buy.bundle_id = self.block_engine.send_bundle([tx, tip], via=f"rival:{config.name}")
        except JitoError as exc:
            buy.error = exc.message
            log.info(
                "localnet.rival_bundle_refused",
                rival=config.name,
                mint=str(buy.mint),
                err=exc.message,
            )

    # -- tests -------------------------------------------------------------------------------------
    @property
    def scheduled(self) -> int:
        """Buys waiting for their delay."""
        return len(self._tasks)

    async def settle(self) -> None:
        """Wait until every scheduled buy was sent."""
        while self._tasks:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _wake(self) -> None:
        if self._tasks:
            return
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def cancel_scheduled(self) -> None:
        """Cancel the buys waiting for their delay (the node stops)."""
        for handle in self._tasks:
            handle.cancel()
        self._tasks.clear()
        self._wake()

    def buys_for(self, mint: Pubkey) -> list[RivalBuy]:
        return [b for b in self.buys if b.mint == mint]

    def buy_json(self, buy: RivalBuy) -> dict[str, Any]:
        position = block_position(self.cluster, buy.signature) if buy.signature else None
        outcome = self.cluster.history.get(buy.signature) if buy.signature else None
        return {
            "rival": buy.rival,
            "wallet": str(buy.wallet),
            "mint": str(buy.mint),
            "create_signature": str(buy.create_signature),
            "create_slot": buy.create_slot,
            "sent_slot": buy.sent_slot,
            "signature": None if buy.signature is None else str(buy.signature),
            "error": buy.error,
            "bundle_id": buy.bundle_id,
            "landed_slot": None if position is None else position[0],
            "block_index": None if position is None else position[1],
            "err": None if outcome is None else outcome.err,
        }

    def report(self, limit: int = 100) -> dict[str, Any]:
        recent = list(self.buys)[-limit:]
        return {
            "rivals": [c.to_json() for c in self.rivals.values()],
            "wallets": {n: str(k.pubkey()) for n, k in self._wallets.items()},
            "scheduled": self.scheduled,
            "buys": [self.buy_json(b) for b in recent],
        }
