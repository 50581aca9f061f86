"""``SnipeEngine``: armed snipe targets fire the moment their pool appears, exactly once.

    engine = SnipeEngine(feeds=[detector], targets=repo, trading=trading, risk=risk,
                         metrics=metrics, probe=QuoteRouteProbe(venue))
    target = await engine.arm(user_id, wallet_id, mint, lamports, slippage_bps, fee_level, ttl_s)
    tg.create_task(engine.run(stop))            # in the app's TaskGroup

On a ``LaunchEvent`` (or on ``arm`` when the pool already exists) for a mint with ARMED targets:
1. every target is claimed ARMED -> FIRED by compare-and-set, so of two replicas that see the
   same pool exactly one fires each target;
2. the engine waits until the venue can route the mint (``probe``), backing off within the
   targets' window: a brand-new pool is not routable on Jupiter for a while, and a risk check
   run before it is would see "no pool" and block the token (so the probe is not optional);
3. ONE risk check for the mint (``force=True``: a cached "no pool" verdict from before the pool
   existed must not block it), shared by every target through the risk service's cache, which
   the executor's risk gate reads;
4. each target buys through ``TradingService.buy(..., idempotency_key=f"snipe:{id}",
   kind=SNIPE)``: a crash and replay return the same order and never buy twice. A buy that fails
   with ``no_route`` (nothing was signed) is retried with ``snipe:{id}:{n}`` until the target
   expires; any other failure marks the target FAILED (the order keeps the classified error).
Nothing here raises into the caller's TaskGroup: one bad target or event is logged and dropped.

With a hot path (``hot``, ``hotpath.arming.HotArming``) a mint snipe whose coin does not trade yet
and every creator snipe are armed there instead: they own a durable nonce and fire from the
pump.fun create itself (``hotpath.sniper.HotSniper``, no round trip before the send). On a
pump.fun launch the engine never fires a target the hot path owns (``hot.owns``); on a launch the
hot path never sees (a PumpSwap or Raydium pool for that mint) it fires them too, after taking
them out of every replica's hot book (``hot.sync.fired``), and retires their nonce accounts.

A graduation snipe (``arm_graduation``) is a filter target without a nonce:
``LaunchFilter(mints=(mint,), sources=("pumpswap",))``. The coin's pump.fun launch never fires
it; its PumpSwap pool's launch (the detector lets it through after the create) does, here, with
the fired mint stored as the target's ``tokenMint`` and the buy routed like any other (the
router sends a graduated coin to PumpSwap).

Paper snipes (``paper=True`` at arm: the user trades on paper) never reach the hot path: no
nonce account is created, nothing is signed. They are stored like a slow-path mint or
graduation target with ``paper`` set, fire here on the same launch events, and buy through
``paper`` (``trading.paper.PaperTrader``: the live quote, the risk gate, a fill in the paper
book) under the same ``snipe:<id>`` key, so a replay fills once. Without a paper executor such
a target fails instead of buying with real money. Paper creator and filter snipes
(``arm_creator`` / ``arm_filter`` with ``paper``) need the hot path too, for its matcher only:
stored without a nonce and put into its armed book, they are matched on a create by the same
``ArmedBook.match`` as the real ones; the hot sniper hands them to ``fire_paper`` in a
background task after its real sends, which claims them and fills them on paper.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import structlog
from solders.pubkey import Pubkey

from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.launch import LaunchEvent, LaunchFilter, SnipeStatus, SnipeTarget
from sniper_bot.domain.orders import OrderErrorType, OrderStatus
from sniper_bot.engine.ports import Buyer, HotSnipes, LaunchFeed, RouteProbe, SnipeTargetStore
from sniper_bot.errors import PermanentError, SniperBotError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.risk import RiskChecker
from sniper_bot.ports.stores import StaleSnipeState
from sniper_bot.resilience.backoff import Backoff

__all__ = [
    "InvalidSnipe",
    "SnipeConfig",
    "SnipeEngine",
    "SnipeNotFound",
    "SnipeResult",
    "idempotency_key",
]

log = structlog.get_logger(__name__)

_RETRYABLE = frozenset({OrderErrorType.NO_ROUTE})


class InvalidSnipe(PermanentError):
    """The snipe request itself is wrong (mint, amount, window); ``user_message`` says how."""


class SnipeNotFound(PermanentError):
    """No snipe with this id for this user (another user's is reported the same way)."""

    def __init__(self, target_id: int) -> None:
        super().__init__(
            f"snipe {target_id} not found for the caller",
            user_message="No such snipe. Send /snipe to see yours.",
        )


@dataclass(frozen=True, slots=True)
class SnipeConfig:
    default_ttl_s: float = 3_600.0
    max_ttl_s: float = 7 * 24 * 3_600.0
    route_backoff: Backoff = field(
        default_factory=lambda: Backoff(base_s=0.25, factor=1.6, max_s=3.0, jitter=0.2)
    )
    expiry_interval_s: float = 5.0
    stop_grace_s: float = 10.0


@dataclass(frozen=True, slots=True)
class SnipeResult:
    target: SnipeTarget
    order: Order | None


class _BookSync(Protocol):
    async def fired(self, target_id: int) -> Any: ...

    async def armed(self, target: SnipeTarget) -> Any: ...


@runtime_checkable
class HotWithdrawal(Protocol):
    """What ``hotpath.arming.HotArming`` offers besides ``HotSnipes``: its book sync (a target
    this path fires leaves every replica's hot book) and the nonce account's retirement."""

    @property
    def sync(self) -> _BookSync: ...

    def retire_later(self, target: SnipeTarget) -> None: ...


def idempotency_key(target_id: int, attempt: int) -> str:
    """``snipe:<id>`` for the first buy; ``snipe:<id>:<n>`` after ``n`` no-route failures."""
    return f"snipe:{target_id}" if attempt == 0 else f"snipe:{target_id}:{attempt}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SnipeEngine:
    def __init__(
        self,
        *,
        feeds: Sequence[LaunchFeed],
        targets: SnipeTargetStore,
        trading: Buyer,
        risk: RiskChecker,
        metrics: Metrics,
        probe: RouteProbe,
        clock: Callable[[], datetime] = _utcnow,
        config: SnipeConfig | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        on_settled: Callable[[SnipeResult], Awaitable[None]] | None = None,
        hot: HotSnipes | None = None,
        paper: Buyer | None = None,
    ) -> None:
        self._feeds = list(feeds)
        self._paper = paper
        self.hot = hot
        self._on_settled = on_settled
        self._targets = targets
        self._trading = trading
        self._risk = risk
        self._metrics = metrics
        self._clock = clock
        self._probe = probe
        self.config = config or SnipeConfig()
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- what the control facade calls -----------------------------------------------------------

    async def arm(
        self,
        user_id: int,
        wallet_id: int,
        mint: str,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        ttl_s: float | None = None,
        paper: bool = False,
    ) -> SnipeTarget:
        """Store an ARMED target; if the pool already trades, it fires right away (background).
        With a hot path, a mint that does not trade yet is armed there (its own nonce); a
        ``paper`` target never is (nothing of it is signed)."""
        try:
            Pubkey.from_string(mint)
        except ValueError:
            raise InvalidSnipe(
                f"invalid mint {mint!r}", user_message="That is not a token address (mint)."
            ) from None
        if (
            not paper
            and self.hot is not None
            and lamports > 0
            and not await self._probe.routable(mint)
        ):
            return await self.hot.arm(
                user_id, wallet_id, lamports=lamports, slippage_bps=slippage_bps,
                fee_level=fee_level, mint=mint, ttl_s=ttl_s,
            )  # fmt: skip
        if lamports <= 0:
            raise InvalidSnipe("non-positive amount", user_message="The amount must be above 0.")
        try:
            validate_slippage_bps(slippage_bps)
        except ValueError as exc:
            raise InvalidSnipe(str(exc), user_message=str(exc).capitalize() + ".") from None
        ttl = self.config.default_ttl_s if ttl_s is None else ttl_s
        if not 0 < ttl <= self.config.max_ttl_s:
            hours = self.config.max_ttl_s / 3600
            raise InvalidSnipe(
                f"ttl {ttl} s out of range", user_message=f"A snipe can wait up to {hours:g} h."
            )
        target = await self._targets.arm(
            user_id=user_id,
            wallet_id=wallet_id,
            token_mint=mint,
            amount_lamports=lamports,
            slippage_bps=slippage_bps,
            priority_fee=fee_level,
            expires_at=self._clock() + timedelta(seconds=ttl),
            paper=paper,
        )
        log.info("snipe_armed", target_id=target.id, user_id=user_id, mint=mint, lamports=lamports,
                 paper=paper)  # fmt: skip
        self._spawn(self._fire_if_routable(mint), f"snipe-arm:{target.id}")
        return target

    async def arm_creator(
        self,
        user_id: int,
        wallet_id: int,
        creator: str,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        ttl_s: float | None = None,
        paper: bool = False,
    ) -> SnipeTarget:
        """A snipe on the next pump.fun coin ``creator`` launches (the hot path only; a
        ``paper`` one is matched by the hot path's book and filled here, see ``fire_paper``)."""
        if self.hot is None:
            raise InvalidSnipe(
                "creator snipes need the hot path",
                user_message="Creator snipes are not available on this bot.",
            )
        if paper:
            return await self._arm_paper(user_id, wallet_id, lamports, slippage_bps, fee_level,
                                         ttl_s, creator=creator)  # fmt: skip
        return await self.hot.arm(
            user_id, wallet_id, lamports=lamports, slippage_bps=slippage_bps,
            fee_level=fee_level, creator=creator, ttl_s=ttl_s,
        )  # fmt: skip

    async def arm_filter(
        self,
        user_id: int,
        wallet_id: int,
        launch_filter: LaunchFilter,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        ttl_s: float | None = None,
        paper: bool = False,
    ) -> SnipeTarget:
        """A snipe on the next pump.fun create ``launch_filter`` matches (the hot path only; a
        ``paper`` one is matched by the hot path's book and filled here, see ``fire_paper``)."""
        if self.hot is None:
            raise InvalidSnipe(
                "filter snipes need the hot path",
                user_message="Filter snipes are not available on this bot.",
            )
        if paper:
            return await self._arm_paper(user_id, wallet_id, lamports, slippage_bps, fee_level,
                                         ttl_s, launch_filter=launch_filter)  # fmt: skip
        return await self.hot.arm(
            user_id, wallet_id, lamports=lamports, slippage_bps=slippage_bps,
            fee_level=fee_level, launch_filter=launch_filter, ttl_s=ttl_s,
        )  # fmt: skip

    async def arm_graduation(
        self,
        user_id: int,
        wallet_id: int,
        mint: str,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        ttl_s: float | None = None,
        paper: bool = False,
    ) -> SnipeTarget:
        """A snipe on ``mint``'s PumpSwap pool: it fires when the curve completes and the pool
        appears (a ``pumpswap`` ``LaunchEvent``), never on the curve. Stored as a filter target
        (``LaunchFilter(mints=(mint,), sources=("pumpswap",))``) without a nonce: this path
        buys it, through the trading service's venue routing."""
        try:
            Pubkey.from_string(mint)
        except ValueError:
            raise InvalidSnipe(
                f"invalid mint {mint!r}", user_message="That is not a token address (mint)."
            ) from None
        if lamports <= 0:
            raise InvalidSnipe("non-positive amount", user_message="The amount must be above 0.")
        try:
            validate_slippage_bps(slippage_bps)
        except ValueError as exc:
            raise InvalidSnipe(str(exc), user_message=str(exc).capitalize() + ".") from None
        expires_at = self._expiry(ttl_s)
        target = await self._targets.arm(
            user_id=user_id,
            wallet_id=wallet_id,
            amount_lamports=lamports,
            slippage_bps=slippage_bps,
            priority_fee=fee_level,
            expires_at=expires_at,
            launch_filter=LaunchFilter(mints=(mint,), sources=("pumpswap",)),
            paper=paper,
        )
        log.info("snipe_armed_graduation", target_id=target.id, user_id=user_id, mint=mint)
        return target

    async def _arm_paper(
        self,
        user_id: int,
        wallet_id: int,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        ttl_s: float | None,
        *,
        creator: str | None = None,
        launch_filter: LaunchFilter | None = None,
    ) -> SnipeTarget:
        """A paper creator or filter target: stored ARMED with ``paper`` and no nonce account
        (nothing is signed for it), then put into the hot path's armed book (every replica's),
        whose ``match`` finds it on a create exactly as it finds the real ones."""
        if creator is not None:
            try:
                Pubkey.from_string(creator)
            except ValueError:
                raise InvalidSnipe(
                    f"invalid creator {creator!r}",
                    user_message="That is not a wallet address (the creator).",
                ) from None
        if lamports <= 0:
            raise InvalidSnipe("non-positive amount", user_message="The amount must be above 0.")
        try:
            validate_slippage_bps(slippage_bps)
        except ValueError as exc:
            raise InvalidSnipe(str(exc), user_message=str(exc).capitalize() + ".") from None
        target = await self._targets.arm(
            user_id=user_id,
            wallet_id=wallet_id,
            amount_lamports=lamports,
            slippage_bps=slippage_bps,
            priority_fee=fee_level,
            expires_at=self._expiry(ttl_s),
            creator=creator,
            launch_filter=launch_filter,
            paper=True,
        )
        if isinstance(self.hot, HotWithdrawal):
            try:
                await self.hot.sync.armed(target)
            except Exception as exc:  # Redis away: the book's next rebuild reads it
                log.warning("snipe_paper_book_add_failed", target_id=target.id, error=repr(exc))
        log.info("snipe_armed_paper", target_id=target.id, user_id=user_id,
                 selector=target.selector.value)  # fmt: skip
        return target

    async def fire_paper(self, targets: Sequence[SnipeTarget], mint: str) -> list[SnipeResult]:
        """Paper creator / filter targets the hot path's book matched on ``mint``'s create
        (``hotpath.sniper.HotSniper`` hands them over after its real sends): out of every
        replica's book, claimed ARMED -> FIRED (compare-and-set: one replica fills each), then
        bought like any slow-path target, through the paper executor (``_buy``), under
        ``snipe:<id>``. A non-paper target is never bought here."""
        claimed: list[SnipeTarget] = []
        for target in targets:
            if not target.paper:
                log.error("snipe_paper_handoff_not_paper", target_id=target.id)
                continue
            await self._withdraw(target)
            try:
                claimed.append(
                    await self._targets.mark_fired(target.id, now=self._clock(), mint=mint)
                )
            except StaleSnipeState:
                log.info("snipe_claimed_elsewhere", target_id=target.id, mint=mint)
        if not claimed:
            return []
        log.info("snipe_firing_paper", mint=mint, targets=len(claimed))
        return await self._run(mint, claimed, {t.id: 0 for t in claimed})

    def _expiry(self, ttl_s: float | None) -> datetime:
        ttl = self.config.default_ttl_s if ttl_s is None else ttl_s
        if not 0 < ttl <= self.config.max_ttl_s:
            hours = self.config.max_ttl_s / 3600
            raise InvalidSnipe(
                f"ttl {ttl} s out of range", user_message=f"A snipe can wait up to {hours:g} h."
            )
        return self._clock() + timedelta(seconds=ttl)

    async def cancel(self, user_id: int, target_id: int) -> SnipeTarget:
        """ARMED -> CANCELLED; ``SnipeNotFound`` for a missing or another user's snipe (the
        sentence never names an internal id)."""
        target = await self._targets.get(user_id, target_id)
        if target is None:
            raise SnipeNotFound(target_id)
        if self.hot is not None and self.hot.owns(target):
            return await self.hot.cancel(user_id, target_id)
        cancelled = await self._targets.cancel(user_id, target_id)
        if target.paper and target.token_mint is None:  # a paper creator / filter target
            await self._withdraw(target)  # out of the hot books
        return cancelled

    async def list_for_user(
        self, user_id: int, statuses: tuple[SnipeStatus, ...] | None = None, limit: int = 20
    ) -> list[SnipeTarget]:
        return await self._targets.list_for_user(user_id, statuses, limit)

    # -- firing ----------------------------------------------------------------------------------

    async def on_launch(self, event: LaunchEvent) -> list[SnipeResult]:
        """Fire every armed target on ``event.mint``; [] when nobody waits for it."""
        return await self.fire_mint(event.mint, event)

    async def _graduations(self, event: LaunchEvent) -> list[SnipeTarget]:
        """ARMED slow-path filter targets (graduation snipes) this AMM launch matches."""
        if event.source == "pumpfun":
            return []  # a create: the hot path's filters fire on it
        out: list[SnipeTarget] = []
        for target in await self._targets.list_armed(self._clock()):
            f = target.launch_filter
            if (
                f is not None
                and target.nonce_account is None
                and (f.on_graduation or not target.paper)  # paper /snipe next: the hot book
                and f.matches(None, None, event.source, mint=event.mint, creator=event.creator)
            ):
                out.append(target)
        return out

    async def fire_mint(self, mint: str, event: LaunchEvent | None = None) -> list[SnipeResult]:
        armed = await self._targets.list_armed_for_mint(mint, self._clock())
        graduations = await self._graduations(event) if event is not None else []
        withdrawn: list[SnipeTarget] = []
        if self.hot is not None:
            hot = self.hot
            if event is None or event.source == "pumpfun":
                # the hot path fires its own targets, from the pump.fun create itself
                armed = [t for t in armed if not hot.owns(t)]
            else:
                # a launch the hot path never sees (a PumpSwap / Raydium pool): this path buys
                # the hot path's mint targets too, out of every replica's hot book first
                withdrawn = [t for t in armed if hot.owns(t)]
                for target in withdrawn:
                    await self._withdraw(target)
        if not armed and not graduations:
            return []
        claimed: list[SnipeTarget] = []
        for target in armed:
            try:
                claimed.append(await self._targets.mark_fired(target.id, now=self._clock()))
            except StaleSnipeState:
                log.info("snipe_claimed_elsewhere", target_id=target.id, mint=mint)
        for target in graduations:  # the fired mint becomes the target's tokenMint
            try:
                claimed.append(
                    await self._targets.mark_fired(target.id, now=self._clock(), mint=mint)
                )
            except StaleSnipeState:
                log.info("snipe_claimed_elsewhere", target_id=target.id, mint=mint)
        for target in withdrawn:
            if any(t.id == target.id for t in claimed) and isinstance(self.hot, HotWithdrawal):
                self.hot.retire_later(target)  # its nonce account closes: rent back
        if not claimed:
            return []
        if event is not None:
            self._metrics.swap_stage_duration_seconds.labels(stage="snipe_claim").observe(
                max(0.0, self._monotonic() - event.seen_at)
            )
        log.info("snipe_firing", mint=mint, targets=len(claimed),
                 source=event.source if event else "arm")  # fmt: skip
        return await self._run(mint, claimed, {t.id: 0 for t in claimed})

    async def _withdraw(self, target: SnipeTarget) -> None:
        """Out of the hot book of every replica (``ArmedBookSync.fired``) before the claim."""
        if not isinstance(self.hot, HotWithdrawal):
            return
        try:
            await self.hot.sync.fired(target.id)
        except Exception as exc:  # Redis away: the local book is updated, the rest rebuild
            log.warning("snipe_hot_withdraw_failed", target_id=target.id, error=repr(exc))

    async def _run(
        self, mint: str, pending: list[SnipeTarget], attempts: dict[int, int]
    ) -> list[SnipeResult]:
        results: list[SnipeResult] = []
        round_no = 0
        while pending:
            if await self._ready(mint):
                outcomes = await asyncio.gather(
                    *(self._buy(t, attempts[t.id]) for t in pending), return_exceptions=True
                )
                retry: list[SnipeTarget] = []
                for target, outcome in zip(pending, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        results.append(await self._failed(target, outcome))
                    elif self._should_retry(outcome):
                        attempts[target.id] += 1
                        retry.append(target)
                    else:
                        results.append(await self._settled(target, outcome))
                pending = retry
            now = self._clock()
            for target in [t for t in pending if t.expires_at <= now]:
                pending.remove(target)
                failed = await self._mark_failed(
                    target.id, "no route to the pool before the snipe expired"
                )
                results.append(await self._report(SnipeResult(failed or target, None)))
            if pending:
                await self._sleep(self.config.route_backoff.delay(round_no, self._rng))
                round_no += 1
        return results

    async def _ready(self, mint: str) -> bool:
        """Routable now? Then one (forced) risk check for the mint, shared by every target."""
        if not await self._probe.routable(mint):
            return False
        try:
            await self._risk.check(mint, force=True)
        except SniperBotError as exc:  # the executor's gate runs it again and classifies
            log.warning("snipe_risk_check_failed", mint=mint, error=exc.message)
        return True

    async def _buy(self, target: SnipeTarget, attempt: int) -> Order:
        trading = self._trading
        if target.paper:  # armed on paper: the paper book, never real money
            if self._paper is None:
                raise PermanentError(
                    f"paper snipe {target.id} without a paper executor",
                    user_message="📝 This paper snipe could not be filled on paper; nothing "
                    "was bought.",
                )
            trading = self._paper
        order = await trading.buy(
            target.user_id,
            target.wallet_id,
            target.token_mint,
            target.amount_lamports,
            target.slippage_bps,
            target.priority_fee,
            idempotency_key(target.id, attempt),
            kind=OrderKind.SNIPE,
        )
        with contextlib.suppress(StaleSnipeState):  # no longer FIRED: the order still counts
            await self._targets.attach_order(target.id, order.id)
        return order

    @staticmethod
    def _should_retry(order: Order) -> bool:
        return (
            order.status is OrderStatus.FAILED
            and order.error is not None
            and order.error.type in _RETRYABLE
        )

    async def _settled(self, target: SnipeTarget, order: Order) -> SnipeResult:
        if order.status in (OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED):
            reason = order.error.type.value if order.error else order.status.value.lower()
            failed = await self._mark_failed(target.id, reason, order.id)
            log.info("snipe_failed", target_id=target.id, order_id=order.id, reason=reason)
            return await self._report(SnipeResult(failed or target, order))
        log.info("snipe_fired", target_id=target.id, order_id=order.id, status=order.status.value)
        current = await self._targets.get_by_id(target.id)
        return await self._report(SnipeResult(current or target, order))

    async def _report(self, result: SnipeResult) -> SnipeResult:
        """Tell the user (``on_settled``); a failing notifier never affects the snipe."""
        if self._on_settled is not None:
            try:
                await self._on_settled(result)
            except Exception as exc:
                log.warning("snipe_notify_failed", target_id=result.target.id, error=repr(exc))
        return result

    async def _failed(self, target: SnipeTarget, exc: BaseException) -> SnipeResult:
        if not isinstance(exc, Exception):
            raise exc  # cancellation and friends propagate
        reason = exc.message if isinstance(exc, SniperBotError) else f"internal error: {exc!r}"
        log.warning("snipe_buy_raised", target_id=target.id, error=reason)
        failed = await self._mark_failed(target.id, reason)
        return await self._report(SnipeResult(failed or target, None))

    async def _mark_failed(
        self, target_id: int, reason: str, order_id: str | None = None
    ) -> SnipeTarget | None:
        """FIRED -> FAILED; None when another worker moved the target first."""
        try:
            return await self._targets.mark_failed(target_id, reason, order_id)
        except StaleSnipeState:
            return None

    async def _fire_if_routable(self, mint: str) -> None:
        if await self._probe.routable(mint):
            await self.fire_mint(mint)

    # -- upkeep ----------------------------------------------------------------------------------

    async def expire_due(self) -> list[SnipeTarget]:
        expired = await self._targets.expire_due(self._clock())
        for target in expired:
            log.info("snipe_expired", target_id=target.id, mint=target.token_mint)
        return expired

    async def recover(self) -> list[SnipeResult]:
        """FIRED targets without an order (crash between claim and buy) buy again with the same
        idempotency keys: an order that exists is returned, never duplicated."""
        results: list[SnipeResult] = []
        for target in await self._targets.list_fired_without_order():
            log.info("snipe_recovering", target_id=target.id, mint=target.token_mint)
            results += await self._run(target.token_mint, [target], {target.id: 0})
        return results

    # -- service ---------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Listen, fire and expire until ``stop`` is set; in-flight buys get ``stop_grace_s``."""
        workers = [
            asyncio.create_task(self._guarded(feed.run(self._on_event), "feed"))
            for feed in self._feeds
        ]
        workers.append(asyncio.create_task(self._expiry_loop()))
        self._spawn(self.recover(), "snipe-recover")
        try:
            await stop.wait()
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self.wait_idle(self.config.stop_grace_s)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_idle(self, timeout_s: float | None = None) -> None:
        """Wait for spawned fires (an event's or an arm's) to finish."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _on_event(self, event: LaunchEvent) -> None:
        self._spawn(self.on_launch(event), f"snipe:{event.mint}")

    async def _expiry_loop(self) -> None:
        while True:
            await self._guarded(self.expire_due(), "expiry")
            await self._sleep(self.config.expiry_interval_s)

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Awaitable[Any], name: str) -> None:
        try:
            await work
        except Exception as exc:  # supervised: one failure never stops sniping
            log.error("snipe_task_failed", task=name, error=repr(exc))
