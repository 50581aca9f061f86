"""``HotSniper``: a pump.fun create to signed buys on the wire with no round trip before the send.

    sniper = HotSniper(book, relay, risk=decider, after=bookkeeping, metrics=metrics)
    PumpFunListener(on_create=sniper.on_create)        # the listener hands it every create

On a create (``detection.pumpfun.CreateSeen``, decoded from the logs: the reserves are in the
event) the path is CPU only until the socket write:

1. ``ArmedBook.match`` (dict lookups, the filter list); nothing prepared matches -> return: a
   launch matching nothing costs no database, Redis or RPC call;
2. the matched entries leave the local book at once (a second copy of the notification, from
   another endpoint, fires nothing);
3. ONE risk decision for the launch from the event alone (``LaunchRisk``, the pure
   ``safety.launch`` decision), shared by every order;
4. per order: ``hotpath.build.build_curve_buy`` (~ one signature) and ``RelayFanout.send`` in its
   own task, the next order built while the previous one's bytes are being written: no order
   waits for another's network legs. ``snipe_latency_seconds{source,venue}`` is observed by the
   fan-out at the on-the-wire hook (event ``seen_at`` -> first leg written).

Everything else happens after the send, off the path (``AfterFire``, ``FiredBookkeeping`` in the
app): the order is recorded for the transaction already on the wire (``snipe:<target id>``,
idempotent) and landed in the background, the target is marked FIRED (compare-and-set: a loss
means another replica fired the same order, which is fine, the durable nonce lets one
transaction land), the ``HoneypotCheck`` row is written, the user is told, the other replicas
drop the target from their books.

At most once without a database write before the send: every order's transaction carries its own
durable nonce (``hotpath.build``), and ed25519 is deterministic, so two replicas firing one order
send the very same transaction; whatever copies exist, one can land (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog

from sniper_bot.chain.relays import RelayRefused
from sniper_bot.detection.pumpfun import CreateSeen
from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import SelectorKind, SnipeTarget
from sniper_bot.engine.snipe import SnipeResult
from sniper_bot.hotpath import fanout
from sniper_bot.hotpath.book import ArmedBook, ArmedEntry
from sniper_bot.hotpath.build import (
    BuildError,
    CurveLaunch,
    PreparedBuy,
    SignedBuy,
    build_curve_buy,
    quote_refusal,
)
from sniper_bot.ports.stores import StaleSnipeState
from sniper_bot.solana import pumpfun as pf

__all__ = [
    "AfterFire",
    "AllowLaunches",
    "FiredBookkeeping",
    "FiredRecorder",
    "FiredSnipe",
    "HotOrder",
    "HotSniper",
    "LaunchRisk",
    "Relay",
    "RiskDecision",
    "TradingRecorder",
    "launch_of",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")

MICRO_LAMPORTS_PER_LAMPORT = 1_000_000
MEV_WITHOUT_TIP = (
    "MEV protection is on (Jito bundles only, never the public mempool) and this snipe has no "
    "Jito tip or tip account: nothing was sent"
)
SOURCE = "pumpfun"
VENUE = "pumpfun"


@dataclass(frozen=True, slots=True)
class HotOrder:
    """What arming prepares for one target (the armed book's ``prepared`` slot)."""

    prepared: PreparedBuy
    mev_protect: bool  # /settings "MEV protection": bundles only, never the public mempool

    @property
    def tipped(self) -> bool:
        return self.prepared.tip_lamports > 0


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The launch's risk verdict from the create event: ``allowed`` False blocks every order."""

    allowed: bool
    reason: str = ""
    detail: Any = None  # the decider's own verdict (the HoneypotCheck row is written from it)


class LaunchRisk(Protocol):
    """A pure, CPU-only decision from the create (``safety.launch.decide_launch`` adapted)."""

    def decide(self, seen: CreateSeen, launch: CurveLaunch) -> RiskDecision: ...


class AllowLaunches:
    """No launch-risk rule: every create may be bought (the default without a decider)."""

    def decide(self, seen: CreateSeen, launch: CurveLaunch) -> RiskDecision:
        return RiskDecision(True, "no launch rule configured")


class Relay(Protocol):
    """``chain.relays.RelayFanout`` fits."""

    async def send(
        self,
        raw: bytes,
        *,
        mev_protect: bool = False,
        tipped: bool | None = None,
        event_at: float | None = None,
        source: str = "unknown",
        venue: str = "unknown",
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class FiredSnipe:
    """One order the hot path handled: sent (``signed`` set; ``send_error`` when no relay
    accepted before every leg was written: the bytes may still land), refused before signing
    (``signed`` None, ``refusal`` says why: the risk decision or a launch the build cannot
    trade), with the wall of the path."""

    target: SnipeTarget
    order: HotOrder
    launch: CurveLaunch
    seen: CreateSeen
    risk: RiskDecision
    signed: SignedBuy | None = None
    dispatch: Any = None  # chain.relays.Dispatch
    send_error: str | None = None
    refusal: str | None = None
    built_s: float = 0.0  # event seen -> bytes signed (the listener's clock)
    skipped: bool = False  # a creator target refused this launch and stays armed for the next

    @property
    def mint(self) -> str:
        return str(self.launch.mint)


class AfterFire(Protocol):
    """What happens after the send, off the path (``FiredBookkeeping``)."""

    async def fired(self, fired: FiredSnipe) -> None: ...


def launch_of(seen: CreateSeen) -> CurveLaunch:
    """The curve the first buy meets: the create's reserves, or those after the same
    transaction's last trade (a dev buy) when there was one. ``BuildError`` when untradable."""
    launch = CurveLaunch.from_create_event(seen.event, seen.instruction)
    trade = seen.last_trade
    if trade is None:
        return launch
    real_tokens = trade.real_token_reserves
    return dataclasses.replace(
        launch,
        virtual_token_reserves=trade.virtual_token_reserves,
        virtual_sol_reserves=trade.virtual_sol_reserves,
        real_token_reserves=launch.real_token_reserves if real_tokens is None else real_tokens,
    )


# ``SnipeEngine.fire_paper``: paper creator / filter targets matched on a create, and its mint
PaperFire = Callable[[list[SnipeTarget], str], Awaitable[Any]]


class HotSniper:
    """Fires the armed book's orders on pump.fun creates (see the module doc). ``paper``: where
    the paper targets the book matches go (never signed, never sent: the paper book)."""

    def __init__(
        self,
        book: ArmedBook[HotOrder],
        relay: Relay,
        *,
        risk: LaunchRisk | None = None,
        after: AfterFire | None = None,
        clock: Callable[[], float] = time.monotonic,
        remember_mints: int = 4_096,
        paper: PaperFire | None = None,
    ) -> None:
        self.book = book
        self.paper = paper
        self._relay = relay
        self._risk: LaunchRisk = risk or AllowLaunches()
        self._after = after
        self._clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remember = remember_mints
        self._tasks: set[asyncio.Task[Any]] = set()
        self.fired_count = 0

    # -- the path ---------------------------------------------------------------------------------

    def on_create(self, seen: CreateSeen) -> None:
        """The listener's hook (sync, inside its decode): match, then fire in a task."""
        event = seen.event
        mint = str(event.mint)
        if mint in self._seen:
            return  # another endpoint's copy of a create this replica handled
        creator = event.creator if event.creator is not None else event.user
        dev = str(creator)  # the creator's own buys in the create's transaction (0: none)
        dev_buy = sum(t.sol_amount for t in seen.trades if t.is_buy and str(t.user) == dev)
        mayhem = bool(event.is_mayhem_mode)
        entries = self.book.match(
            mint, dev, event.name, event.symbol, SOURCE, dev_buy_lamports=dev_buy, mayhem=mayhem
        )
        ready = [e for e in entries if e.prepared is not None]
        # paper targets (no nonce, never prepared): matched here like the real ones, filled on
        # paper by the engine in a task that starts after the real sends
        paper = [
            e for e in entries if e.target.paper and e.target.selector is not SelectorKind.MINT
        ] if self.paper is not None else []  # fmt: skip
        if not ready and not paper:
            return
        self._remember_mint(mint)
        try:
            launch = launch_of(seen)
        except BuildError as exc:
            self._refuse_all(ready, seen, None, RiskDecision(False, str(exc)), str(exc))
            return
        if not pf.is_legacy_quote_mint(launch.quote_mint):
            # the hot buy spends SOL (legacy `buy`): a token-quoted coin is refused before any
            # order is taken off the book (a creator or filter target waits for the next launch)
            reason = quote_refusal(launch)
            self._refuse_all(ready, seen, launch, RiskDecision(False, reason), reason)
            return
        risk = self._risk.decide(seen, launch)
        if not risk.allowed:
            self._refuse_all(ready, seen, launch, risk, risk.reason)
            return
        for entry in [*ready, *paper]:  # out of the local book before anything awaits
            self.book.remove(entry.target.id)
        fire = self._spawn(self._fire(seen, launch, risk, ready), f"hot-snipe:{mint}")
        if paper:
            self._spawn(self._paper(fire, [e.target for e in paper], mint), f"hot-paper:{mint}")

    async def _paper(self, fire: asyncio.Task[Any], targets: list[SnipeTarget], mint: str) -> None:
        """The paper matches, once this launch's real orders are built and handed to their
        sends: the real fan-out never waits for them."""
        await asyncio.wait([fire])
        await asyncio.sleep(0)  # the sends the fire task spawned write their bytes first
        assert self.paper is not None
        await self.paper(targets, mint)

    async def _fire(
        self,
        seen: CreateSeen,
        launch: CurveLaunch,
        risk: RiskDecision,
        entries: list[ArmedEntry[HotOrder]],
    ) -> None:
        if len(entries) > fanout.BATCH_FROM and isinstance(self._relay, fanout.BatchRelay):
            # many orders: signed in chunks, JSON-RPC batches, a fresh order per launch
            self.fired_count += await fanout.fire_batched(
                self._relay, seen, launch, risk, entries, handoff=self._handoff, clock=self._clock
            )
            return
        for entry in entries:
            order = entry.prepared
            assert order is not None
            if order.mev_protect and not order.tipped:
                self._handoff(FiredSnipe(entry.target, order, launch, seen, risk,
                                         refusal=MEV_WITHOUT_TIP))  # fmt: skip
                continue
            try:
                signed = build_curve_buy(order.prepared, launch)
            except BuildError as exc:
                self._handoff(FiredSnipe(entry.target, order, launch, seen, risk,
                                         refusal=str(exc)))  # fmt: skip
                continue
            built = self._clock() - seen.seen_at
            self._spawn(
                self._send(entry.target, order, launch, seen, risk, signed, built),
                f"hot-send:{entry.target.id}",
            )
            await asyncio.sleep(0)  # let that send write its bytes before the next build

    async def _send(
        self,
        target: SnipeTarget,
        order: HotOrder,
        launch: CurveLaunch,
        seen: CreateSeen,
        risk: RiskDecision,
        signed: SignedBuy,
        built: float,
    ) -> None:
        dispatch: Any = None
        error: str | None = None
        try:
            dispatch = await self._relay.send(
                signed.tx_bytes, mev_protect=order.mev_protect, tipped=order.tipped,
                event_at=seen.seen_at, source=SOURCE, venue=VENUE,
            )  # fmt: skip
        except RelayRefused as exc:  # nothing was sent (MEV protection without a block engine)
            log.warning("hot_snipe_send_refused", target_id=target.id, error=exc.message)
            self._handoff(FiredSnipe(target, order, launch, seen, risk, refusal=exc.message))
            return
        except Exception as exc:  # recorded anyway: the landing resolves it (lands or voids)
            error = getattr(exc, "message", None) or repr(exc)
            log.warning("hot_snipe_send_failed", target_id=target.id, error=error)
        self.fired_count += 1
        log.info("hot_snipe_sent", target_id=target.id, mint=str(launch.mint),
                 signature=str(signed.signature), built_ms=round(built * 1000, 3))  # fmt: skip
        self._handoff(
            FiredSnipe(target, order, launch, seen, risk, signed, dispatch, error, built_s=built)
        )

    # -- refusals ---------------------------------------------------------------------------------

    def _refuse_all(
        self,
        entries: list[ArmedEntry[HotOrder]],
        seen: CreateSeen,
        launch: CurveLaunch | None,
        risk: RiskDecision,
        reason: str,
    ) -> None:
        """A launch nobody may buy: a mint target ends (FAILED with the reason); a creator or
        filter target stays armed for the next launch that fits (a creator target's owner is
        told why this coin was skipped)."""
        log.info("hot_snipe_refused", mint=str(seen.event.mint), reason=reason,
                 targets=len(entries))  # fmt: skip
        if launch is None:
            return
        for entry in entries:
            assert entry.prepared is not None
            kind = entry.target.selector
            if kind is SelectorKind.MINT:
                self.book.remove(entry.target.id)
            if kind is SelectorKind.MINT or kind is SelectorKind.CREATOR:
                self._handoff(FiredSnipe(entry.target, entry.prepared, launch, seen, risk,
                                         refusal=reason,
                                         skipped=kind is not SelectorKind.MINT))  # fmt: skip

    # -- plumbing ---------------------------------------------------------------------------------

    def _handoff(self, fired: FiredSnipe) -> None:
        if self._after is not None:
            self._spawn(self._after.fired(fired), f"hot-after:{fired.target.id}")

    def _remember_mint(self, mint: str) -> None:
        self._seen[mint] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _guarded(work: Awaitable[Any], name: str) -> None:
        try:
            await work
        except Exception:
            log.exception("hot_snipe_task_failed", task=name)

    async def wait_idle(self, timeout_s: float | None = None) -> None:
        """Wait for every send and its bookkeeping (tests, shutdown)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace_s: float = 10.0) -> None:
        await self.wait_idle(grace_s)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# -- after the send: off the path --------------------------------------------------------------


class FiredRecorder(Protocol):
    """Stores the order of a transaction already on the wire (``snipe:<target id>``,
    idempotent) and lands it in the background: ``TradingService.record_fired_snipe`` adapted."""

    async def record(self, fired: FiredSnipe) -> Order: ...


class FiredTargets(Protocol):
    """``storage.repositories.snipes.SnipeTargetRepository`` fits."""

    async def mark_fired(
        self, target_id: int, order_id: str | None = None, now: datetime | None = None, *,
        mint: str | None = None,
    ) -> SnipeTarget: ...  # fmt: skip
    async def mark_failed(
        self, target_id: int, error: str, order_id: str | None = None
    ) -> SnipeTarget: ...
    async def get_by_id(self, target_id: int) -> SnipeTarget | None: ...


class OrderReader(Protocol):
    async def get_by_id(self, order_id: str) -> Order | None: ...


class LaunchRecord(Protocol):
    """Writes the ``HoneypotCheck`` row of the launch's decision (off the path)."""

    async def record(self, fired: FiredSnipe) -> None: ...


class Retirement(Protocol):
    """``hotpath.arming.HotArming``: closes a finished target's nonce account (rent back)."""

    def retire_later(self, target: SnipeTarget) -> None: ...


class FiredPublisher(Protocol):
    """``hotpath.book.ArmedBookSync``: tell the other replicas the target left the book."""

    async def fired(self, target_id: int) -> Any: ...


class LandingWatcher(Protocol):
    """``chain.relays.RelayFanout``: per-relay outcome of one dispatch; observes
    ``landed_slot_delta`` (landing slot - create slot) and ``jito_bundles_total{outcome=landed|
    failed}``."""

    async def watch(
        self, dispatch: Any, *, timeout_s: float = ..., poll_s: float = ...,
        create_slot: int | None = ..., venue: str = ...,
    ) -> Any: ...  # fmt: skip


_LOST: Any = object()  # the claim went to another replica


class FiredBookkeeping:
    """``AfterFire`` of the app: record, claim, HoneypotCheck row, tell the others and the user.

    Every step is best effort and retried a few times (``attempts``); none can make the order
    land twice (the nonce decides that), and a crash between steps leaves an ARMED target whose
    nonce moved: arming's rebuild finds it (``HotArming.prepare``) and does not arm it again."""

    def __init__(
        self,
        *,
        targets: FiredTargets,
        recorder: FiredRecorder | None,
        orders: OrderReader | None = None,
        launches: LaunchRecord | None = None,
        publisher: FiredPublisher | None = None,
        retirement: Retirement | None = None,
        notify: Callable[[SnipeResult], Awaitable[None]] | None = None,
        watcher: LandingWatcher | None = None,
        attempts: int = 5,
        retry_s: float = 0.2,
        final_timeout_s: float = 120.0,
        poll_s: float = 0.1,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._targets = targets
        self._recorder = recorder
        self._orders = orders
        self._launches = launches
        self._publisher = publisher
        self._retirement = retirement
        self._notify = notify
        self._watcher = watcher
        self._attempts = attempts
        self._retry_s = retry_s
        self._final_timeout_s = final_timeout_s
        self._poll_s = poll_s
        self._clock = clock

    async def fired(self, fired: FiredSnipe) -> None:
        target = fired.target
        if self._launches is not None:
            await self._step("honeypot_row", lambda: self._launches_record(fired))
        if fired.skipped:
            await self._skipped(fired)
            return
        if fired.signed is None:
            await self._refused(fired)
            return
        order: Order | None = None
        if self._recorder is not None:
            recorder = self._recorder
            order = await self._step("record", lambda: recorder.record(fired))
        claimed = await self._claim(target.id, order.id if order else None, fired.mint)
        if self._publisher is not None:
            publisher = self._publisher
            await self._step("publish_fired", lambda: publisher.fired(target.id))
        if claimed is _LOST:  # another replica fired the same order: it tells the user
            return
        if order is not None and not order.is_final:
            order = await self._final(order)
        if self._watcher is not None and fired.dispatch is not None:
            watcher, dispatch = self._watcher, fired.dispatch
            await self._step("watch", lambda: watcher.watch(
                dispatch, timeout_s=10.0, create_slot=fired.seen.slot, venue="pumpfun",
            ))  # fmt: skip
        current = claimed or await self._step("reload", lambda: self._targets.get_by_id(target.id))
        await self._tell(SnipeResult(current or target, order))
        if self._retirement is not None and (order is None or order.is_final):
            self._retirement.retire_later(current or target)

    async def _launches_record(self, fired: FiredSnipe) -> None:
        assert self._launches is not None
        await self._launches.record(fired)

    async def _claim(self, target_id: int, order_id: str | None, mint: str) -> Any:
        """ARMED -> FIRED by compare-and-set: the target, ``None`` when the store stayed away
        (the order outbox tells the user of the final order), or ``_LOST`` when another replica
        fired the same order (fine: one transaction lands; that replica tells the user)."""
        try:
            return await self._step(
                "mark_fired",
                lambda: self._targets.mark_fired(target_id, order_id, self._clock(), mint=mint),
                quiet=(StaleSnipeState,),
            )
        except StaleSnipeState:
            log.info("hot_snipe_fired_elsewhere", target_id=target_id)
            return _LOST

    async def _refused(self, fired: FiredSnipe) -> None:
        """A mint target whose launch was refused (risk, untradable): FIRED -> FAILED, told."""
        target = fired.target
        reason = fired.refusal or "refused"
        claim = await self._claim(target.id, None, fired.mint)
        claimed: SnipeTarget | None = claim if isinstance(claim, SnipeTarget) else None
        failed: SnipeTarget | None = None
        if claimed is not None:
            failed = await self._step(
                "mark_failed", lambda: self._targets.mark_failed(target.id, reason[:200])
            )
        if self._publisher is not None:
            publisher = self._publisher
            await self._step("publish_fired", lambda: publisher.fired(target.id))
        if claimed is not None:
            await self._tell(SnipeResult(failed or claimed, None))
        if self._retirement is not None:
            self._retirement.retire_later(failed or claimed or target)

    async def _skipped(self, fired: FiredSnipe) -> None:
        """A creator target that refused this launch: still ARMED, its owner told why."""
        told = dataclasses.replace(
            fired.target, token_mint=fired.mint,
            error=f"skipped this coin, still armed: {fired.refusal or 'refused'}",
        )  # fmt: skip
        await self._tell(SnipeResult(told, None))

    async def _final(self, order: Order) -> Order:
        """Wait for the landing (in the background elsewhere) to finish the order."""
        if self._orders is None:
            return order
        deadline = time.monotonic() + self._final_timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                current = await self._orders.get_by_id(order.id)
                if current is not None:
                    order = current
                    if order.is_final:
                        return order
            await asyncio.sleep(self._poll_s)
        return order

    async def _tell(self, result: SnipeResult) -> None:
        if self._notify is None:
            return
        try:
            await self._notify(result)
        except Exception as exc:
            log.warning("snipe_notify_failed", target_id=result.target.id, error=repr(exc))

    async def _step(
        self, name: str, work: Callable[[], Awaitable[T]],
        quiet: tuple[type[BaseException], ...] = (),
    ) -> T | None:  # fmt: skip
        for attempt in range(self._attempts):
            try:
                return await work()
            except quiet:
                raise
            except Exception as exc:
                level = log.error if attempt == self._attempts - 1 else log.warning
                level("hot_snipe_step_failed", step=name, attempt=attempt + 1, error=repr(exc))
                await asyncio.sleep(self._retry_s * (attempt + 1))
        return None


class FiredSnipeStore(Protocol):
    """``trading.service.TradingService`` fits."""

    async def record_fired_snipe(
        self, *, user_id: int, wallet_id: int, mint: str, lamports: int, slippage_bps: int,
        fee_level: FeeLevel, idempotency_key: str, signature: str, signed_tx: bytes,
        token_amount: int, max_sol_cost: int, priority_fee_lamports: int, venue: str,
    ) -> Order: ...  # fmt: skip


class TradingRecorder:
    """``FiredRecorder`` over ``TradingService.record_fired_snipe`` (key ``snipe:<target id>``)."""

    def __init__(self, trading: FiredSnipeStore) -> None:
        self._trading = trading

    async def record(self, fired: FiredSnipe) -> Order:
        signed = fired.signed
        if signed is None:
            raise ValueError(f"snipe {fired.target.id} sent nothing to record")
        target, prepared = fired.target, fired.order.prepared
        fee = (
            prepared.compute_unit_price_micro_lamports
            * prepared.compute_unit_limit
            // MICRO_LAMPORTS_PER_LAMPORT
        )
        return await self._trading.record_fired_snipe(
            user_id=target.user_id, wallet_id=target.wallet_id, mint=fired.mint,
            lamports=target.amount_lamports, slippage_bps=target.slippage_bps,
            fee_level=target.priority_fee, idempotency_key=f"snipe:{target.id}",
            signature=str(signed.signature), signed_tx=signed.tx_bytes,
            token_amount=signed.token_amount, max_sol_cost=signed.max_sol_cost,
            priority_fee_lamports=fee, venue=VENUE,
        )  # fmt: skip
