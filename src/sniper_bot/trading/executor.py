"""The swap executor: one order from PENDING to a final state, crash-safe at every step.

    PENDING --quote, funds--> QUOTED --build, verify, sign, simulate--> SIGNED(signature, lvbh,
    signed bytes) --first send--> SENT --status + getTransaction(meta.err)--> CONFIRMED | FAILED
                                                  \\-- block height > lvbh and no status --> EXPIRED

Rules that make "never buy twice" hold whatever crashes:
* Nothing is sent before SIGNED (signature, lastValidBlockHeight, exact bytes) is committed.
* After SIGNED only those bytes are ever resent; no new quote for the order.
* EXPIRED only once the block height passed lastValidBlockHeight *and* the status is still null.
  A durable-nonce order (a hot-path snipe) instead expires only once its nonce advanced and no
  status or ledger entry knows it, and not if a tx of its wallet consumed the nonce (``landing``).
* Success is declared only from the landed transaction's ``meta.err``; the trade is recorded
  (idempotently, per order) before CONFIRMED, so a crash between them is redone by recovery.
* Every transition is a compare-and-set; a worker that loses one stops and reloads.

The database may go away at any step (the store raises ``TemporaryError``). Before SIGNED a write
is retried for ``store_retry_s``, then ``StoreUnavailable`` stops the worker with nothing sent
(the order is resumed by a claimer once its lease lapses); signed bytes whose blockhash would
expire before the database takes them are built again instead. From SIGNED on the swap may be on
chain: the landing loop never stops watching for a failed write (marking SENT is tried again on
the next resend), and the landed result is written until the database takes it. While it holds
an order the worker renews its lease; releasing it never masks the error that stopped the run.
``run(..., progress=)`` hears ``store_unavailable`` and ``landed_unrecorded`` so the caller can
tell the user the truth meanwhile.

This module drives the states and builds the swap up to SIGNED; ``persistence`` holds every
database write (retries through an outage, compare-and-set, the lease), ``landing`` how an order
records each landing outcome (the sends and the watch from SIGNED on are the shared lifecycle,
``sniper_bot.chain.landing``), ``explain`` the classification of a failed transaction.

Landing options per order (``LandingOptions``, the user's /settings read when the order starts):
with a ``RelayFanout`` (``relays=``) the bytes go to every RPC endpoint and block engine at once;
"MEV protection" sends them as Jito bundles only, never to the public mempool. A bundle needs a
tip: the swap then carries a System transfer to a Jito tip account (pump.fun/PumpSwap add it,
Jupiter is asked for ``jitoTipLamports``), the user's fixed tip or the tip floor percentile
(``tips=``); a pump.fun/PumpSwap swap is tipped whenever a block engine is wired (its bundle leg
then competes), a Jupiter swap only when bundle-only (Jupiter takes a tip *instead of* a priority
fee). MEV protection without a block engine fails the order before anything is signed. The mode
is stored with QUOTED (``quote["landing"]``), so a resumed order keeps it whatever the user's
settings say by then; an order stored without one (a fired snipe) takes the user's settings at
resume time, or, when they cannot be read, bundle-only exactly when its bytes carry a tip.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sniper_bot.chain.jito import MIN_TIP_LAMPORTS
from sniper_bot.chain.relays import RelayFanout, has_tip
from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderError, OrderErrorType, OrderSide, OrderStatus
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.risk import RiskChecker
from sniper_bot.ports.venue import JitoTip
from sniper_bot.trading.balance import check_funds
from sniper_bot.trading.classify import classify_exception
from sniper_bot.trading.executor_config import (
    Boundary,
    ExecutorConfig,
    LandingOptions,
    LandingSettings,
    TipSource,
    TradeAccount,
    stored_landing,
)
from sniper_bot.trading.explain import explain_tx_error
from sniper_bot.trading.fees import priority_fee_lamports
from sniper_bot.trading.landing import Lander, NonceLookup, RawTransactions
from sniper_bot.trading.persistence import (
    ON_CHAIN,
    PROGRESS,
    OrderLost,
    OrderWriter,
    Progress,
    SignedSwapStale,
    StoreUnavailable,
)
from sniper_bot.trading.ports import ChainPort, OrderStore, TradeStore, WalletKey
from sniper_bot.trading.simulate import simulate_checked
from sniper_bot.trading.stages import StageTimer
from sniper_bot.trading.venue import Venue
from sniper_bot.trading.verify import (
    VerifyPolicy,
    sign_swap,
    verify_swap,
)

__all__ = [
    "MEV_WITHOUT_ENGINE",
    "Boundary",
    "ExecutorConfig",
    "LandingOptions",
    "Progress",
    "StoreUnavailable",
    "SwapExecutor",
    "TradeAccount",
]

log = structlog.get_logger(__name__)

_MAX_REBUILDS = 3
_JUPITER = "jupiter"
MEV_WITHOUT_ENGINE = (
    "MEV protection is on (Jito bundles only, never the public mempool), and this bot has no "
    "Jito block engine to send a bundle to, so nothing was signed or sent. Turn MEV protection "
    "off in /settings to trade through the public network, or ask the operator to set "
    "JITO_BLOCK_ENGINE_URLS."
)


class SwapExecutor:
    def __init__(
        self,
        *,
        venue: Venue,
        rpc: ChainPort,
        orders: OrderStore,
        trades: TradeStore,
        metrics: Metrics,
        config: ExecutorConfig | None = None,
        risk_gate: RiskChecker | None = None,
        boundary: Boundary | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        nonces: NonceLookup | None = None,
        raw: RawTransactions | None = None,
        relays: RelayFanout | None = None,
        tips: TipSource | None = None,
        settings: LandingSettings | None = None,
    ) -> None:
        self._venue = venue
        self._relays = relays
        self._tips = tips
        self._settings = settings
        self._rpc = rpc
        self._metrics = metrics
        self.config = config or ExecutorConfig()
        self._risk = risk_gate
        self._monotonic = monotonic
        self._stages = StageTimer(metrics, monotonic)
        self._writer = OrderWriter(
            orders=orders,
            metrics=metrics,
            config=self.config,
            boundary=boundary,
            sleep=sleep,
            monotonic=monotonic,
            now=now,
        )
        self._lander = Lander(
            venue=venue,
            rpc=rpc,
            trades=trades,
            writer=self._writer,
            metrics=metrics,
            stages=self._stages,
            config=self.config,
            sleep=sleep,
            monotonic=monotonic,
            nonces=nonces,
            raw=raw,
            relays=relays,
        )

    # -- entry point -----------------------------------------------------------------------------

    async def run(
        self, order: Order, account: TradeAccount, *, progress: Progress | None = None
    ) -> Order:
        """Drive ``order`` as far as it can go; returns the latest stored order.

        Raises ``StoreUnavailable`` when the database is gone before anything was sent.
        """
        if order.is_final:
            return order
        token = PROGRESS.set(progress)
        try:
            return await self._run(order, account)
        finally:
            PROGRESS.reset(token)

    async def _run(self, order: Order, account: TradeAccount) -> Order:
        writer = self._writer
        if not await writer.claim(order):
            log.info("order_claimed_elsewhere", order_id=order.id)
            return await writer.reload(order)
        started = self._monotonic()
        lease = asyncio.create_task(writer.keep_lease(order.id), name=f"lease-{order.id}")
        try:
            await writer.hook("claimed", order)
            order = await writer.reload(order)
            if order.status in (OrderStatus.PENDING, OrderStatus.QUOTED):
                order = await self._prepare_and_send(order, account)
            if order.status in ON_CHAIN:
                mev = await self._bundle_only(order)
                order = await self._lander.land(order, account.owner, mev_protect=mev)
        except OrderLost:
            order = await writer.reload(order)
        finally:
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease
            await writer.release(order.id)
        if order.is_final:
            outcome = order.status.value.lower()
            self._metrics.swap_execution_duration_seconds.labels(
                side=order.side.value.lower(), outcome=outcome
            ).observe(self._monotonic() - started)
        return order

    # -- before the first send -------------------------------------------------------------------

    async def _prepare_and_send(self, order: Order, account: TradeAccount) -> Order:
        if account.key is None:
            raise ValueError("the wallet is locked: unlock it before executing a new order")
        rerouted = False
        stale: _StaleBlockhash | None = None
        for _ in range(_MAX_REBUILDS):
            if order.status is OrderStatus.QUOTED:  # a quote from before a crash is stale
                order = await self._writer.move(order, OrderStatus.PENDING)
            try:
                options = await self._options(order.user_id)
                return await self._prepare(order, account, account.key, options)
            except _Reroute as exc:  # the venue moved (a curve graduated); nothing was sent
                current = await self._writer.reload(order)
                if rerouted or current.status not in (OrderStatus.PENDING, OrderStatus.QUOTED):
                    return await self._writer.fail(current, exc.error)
                log.info("order_rerouted", order_id=order.id, reason=exc.error.message)
                rerouted, order = True, current
            except _StaleBlockhash as exc:  # simulated only: the chain forgot the hash; rebuild
                log.info("simulation_blockhash_unknown", order_id=order.id, blockhash=exc.hash)
                self._rpc.blockhash_rejected(exc.blockhash)
                stale = exc
                order = await self._writer.reload(order)
                if order.status not in (OrderStatus.PENDING, OrderStatus.QUOTED):
                    return order
            except SignedSwapStale:  # the outage outlived the signed swap's blockhash: rebuild
                log.info("signed_swap_went_stale", order_id=order.id)
                order = await self._writer.reload(order)
                if order.status not in (OrderStatus.PENDING, OrderStatus.QUOTED):
                    return order  # SIGNED after all (the COMMIT went through): land those bytes
            except (OrderLost, StoreUnavailable):
                raise
            except Exception as exc:  # classified and stored; the order never reached SIGNED
                current = await self._writer.reload(order)
                if current.status in (OrderStatus.PENDING, OrderStatus.QUOTED):
                    return await self._writer.fail(current, classify_exception(exc))
                raise
        if stale is not None:  # every rebuild met a hash the chain had already forgotten
            current = await self._writer.reload(order)
            if current.status in (OrderStatus.PENDING, OrderStatus.QUOTED):
                return await self._writer.fail(current, stale.error)
            return current
        raise StoreUnavailable(order, "store a signed swap before its blockhash expires")

    async def _prepare(
        self, order: Order, account: TradeAccount, key: WalletKey, options: LandingOptions
    ) -> Order:
        owner, mint = account.owner, Pubkey.from_string(order.token_mint)
        buy = order.side is OrderSide.BUY
        if options.mev_protect and not self._lander.bundles_available:
            return await self._writer.fail(
                order,
                OrderError(
                    OrderErrorType.REJECTED,
                    "MEV protection is on and no Jito block engine is configured "
                    "(JITO_BLOCK_ENGINE_URLS): a bundle-only order cannot be sent; nothing was "
                    "signed or sent",
                    {"sentence": MEV_WITHOUT_ENGINE, "mev_protection": True},
                ),
            )
        if buy and self._risk is not None:
            report = await self._stages.timed("risk", self._risk.check(order.token_mint))
            if report.is_honeypot or report.score >= self.config.honeypot_threshold:
                return await self._writer.fail(
                    order,
                    OrderError(
                        OrderErrorType.HONEYPOT_BLOCKED,
                        f"risk score {report.score} >= {self.config.honeypot_threshold}"
                        if not report.is_honeypot
                        else f"honeypot (risk score {report.score})",
                        {"risk_score": report.score, "is_honeypot": report.is_honeypot},
                    ),
                )
        src, dst = (WSOL_MINT, order.token_mint) if buy else (order.token_mint, WSOL_MINT)
        quote = await self._stages.timed(
            "quote", self._venue.quote(src, dst, order.amount, order.slippage_bps)
        )
        fee = await self._priority_fee(order, quote.amm_keys, account.max_priority_fee_lamports)
        tip = self._tip(options, quote.venue)
        tip_lamports = tip.lamports if tip is not None else 0
        await self._stages.timed(
            "funds",
            check_funds(
                self._rpc,
                owner=owner,
                mint=mint,
                side=order.side,
                amount=order.amount,
                priority_fee_lamports=fee + tip_lamports,
            ),
        )
        # The venue builds while QUOTED is stored: one round trip off the path to the send.
        build = asyncio.create_task(
            self._stages.timed(
                "build",
                self._venue.build_swap(quote, str(owner), priority_fee_lamports=fee, tip=tip),
            )
        )
        landing = {"mev_protect": options.mev_protect, "tip_lamports": tip_lamports}
        try:
            order = await self._writer.move(
                order,
                OrderStatus.QUOTED,
                quote={**quote.to_json(), "landing": landing},
                priority_fee_lamports=fee,
            )
        except BaseException:
            build.cancel()
            with contextlib.suppress(BaseException):
                await build
            raise
        swap = await build
        t = self._monotonic()
        policy = VerifyPolicy(
            max_priority_fee_lamports=max(fee, account.max_priority_fee_lamports),
            allowed_programs=self.config.allowed_programs,
            allowed_cosigners=self.config.allowed_cosigners,
            cosigners=self.config.cosigners,
            tip_lamports=tip_lamports,
            tip_accounts=self._relays.tip_accounts() if self._relays is not None else frozenset(),
        )
        tx = VersionedTransaction.from_bytes(swap.tx_bytes)
        verified = verify_swap(tx, user=owner, quote=quote, side=order.side, policy=policy)
        self._stages.stage("verify", t)
        t = self._monotonic()
        signed = sign_swap(verified, key.sign_message)
        self._stages.stage("sign", t)
        spend = quote.in_amount if buy else 0
        sim = await self._stages.timed(
            "simulate", simulate_checked(self._rpc, signed, verified, owner, spend, policy)
        )
        if sim.err is not None:
            error = explain_tx_error(
                self._venue,
                sim.err,
                program_ids=verified.program_ids,
                logs=sim.logs,
                stage="simulation",
            )
            if error.details.get("reroute"):  # simulated only: a fresh quote is safe
                raise _Reroute(error)
            if error.type is OrderErrorType.BLOCKHASH_EXPIRED:  # nothing sent: build anew
                raise _StaleBlockhash(verified.tx.message.recent_blockhash, error)
            return await self._writer.fail(order, error)
        order = await self._writer.store_signed(
            order,
            swap.last_valid_block_height,
            lambda: self._rpc.get_block_height(),
            signature=str(signed.signatures[verified.user_index]),
            last_valid_block_height=swap.last_valid_block_height,
            signed_tx=bytes(signed),
            attempts=order.attempts + 1,
        )
        return await self._lander.first_send(order, owner, mev_protect=options.mev_protect)

    # -- landing options -------------------------------------------------------------------------

    async def _options(self, user_id: int) -> LandingOptions:
        """The user's landing options now (a read failure fails the order: nothing was sent)."""
        if self._settings is None:
            return LandingOptions()
        return LandingOptions.of(await self._settings.get(user_id))

    async def _bundle_only(self, order: Order) -> bool:
        """How a signed order's bytes go out: the mode stored with it; else (stored without one)
        the user's settings now; else, unreadable, bundle-only exactly when the bytes tip (they
        can land as a bundle, and the user may have asked never to go public)."""
        stored = stored_landing(order.quote)
        if stored is not None:
            return stored
        try:
            return (await self._options(order.user_id)).mev_protect
        except Exception as exc:
            tipped = order.signed_tx is not None and has_tip(
                VersionedTransaction.from_bytes(order.signed_tx),
                self._relays.tip_accounts() if self._relays is not None else frozenset(),
            )
            log.warning(
                "landing_options_unreadable", order_id=order.id, error=type(exc).__name__,
                bundle_only=tipped and self._lander.bundles_available,
            )  # fmt: skip
            return tipped and self._lander.bundles_available

    def _tip(self, options: LandingOptions, venue: str) -> JitoTip | None:
        """The Jito tip this swap carries: bundle-only orders always; other orders when a block
        engine is wired and the venue takes a tip besides its priority fee (not Jupiter)."""
        relays = self._relays
        if relays is None or not relays.engines:
            return None
        if not options.mev_protect and venue == _JUPITER:
            return None
        percentile = options.tip_percentile or self.config.tip_percentile
        if self._tips is not None:
            lamports = self._tips.tip(fixed=options.fixed_tip_lamports, percentile=percentile)
        else:
            lamports = max(options.fixed_tip_lamports or 0, MIN_TIP_LAMPORTS)
        accounts = sorted(relays.tip_accounts(), key=str)
        return JitoTip(lamports, random.choice(accounts))  # spreads the tip write locks

    async def _priority_fee(self, order: Order, amm_keys: tuple[str, ...], cap: int) -> int:
        if order.priority_fee is not FeeLevel.AUTO:
            return priority_fee_lamports(order.priority_fee, max_lamports=cap)
        accounts = []
        for key in amm_keys:
            try:
                accounts.append(Pubkey.from_string(key))
            except ValueError:
                continue
        try:
            recent = await self._rpc.get_recent_prioritization_fees(accounts[:128])
        except TemporaryError:
            recent = []
        return priority_fee_lamports(
            FeeLevel.AUTO, max_lamports=cap, recent_micro_lamports_per_cu=[f for _, f in recent]
        )


class _StaleBlockhash(Exception):
    """The simulation says the chain no longer knows the blockhash the swap was built on."""

    def __init__(self, blockhash: Hash, error: OrderError) -> None:
        super().__init__(f"blockhash {blockhash} not found")
        self.blockhash = blockhash
        self.hash = str(blockhash)
        self.error = error


class _Reroute(Exception):
    """The simulation says the order belongs on another venue now (``details["reroute"]``)."""

    def __init__(self, error: OrderError) -> None:
        super().__init__(error.message)
        self.error = error
