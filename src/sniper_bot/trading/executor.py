"""The swap executor: one order from PENDING to a final state, crash-safe at every step.

    PENDING --quote, funds--> QUOTED --build, verify, sign, simulate--> SIGNED(signature, lvbh,
    signed bytes) --first send--> SENT --status + getTransaction(meta.err)--> CONFIRMED | FAILED
                                                  \\-- block height > lvbh and no status --> EXPIRED

Rules that make "never buy twice" hold whatever crashes:
* Nothing is sent before SIGNED (signature, lastValidBlockHeight, exact bytes) is committed.
* After SIGNED only those bytes are ever resent; no new quote for the order.
* EXPIRED only once the block height passed lastValidBlockHeight *and* the status is still null.
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
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import structlog
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.errors import PreflightFailure
from sniper_bot.chain.types import LandedTransaction
from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderError, OrderErrorType, OrderSide, OrderStatus
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.risk import RiskChecker
from sniper_bot.ports.stores import StaleOrderState
from sniper_bot.resilience.backoff import Backoff
from sniper_bot.solana.tx_errors import classify_tx_error, is_already_processed
from sniper_bot.trading.accounting import fill_from_landed
from sniper_bot.trading.balance import check_funds
from sniper_bot.trading.classify import classify_exception
from sniper_bot.trading.executor_config import Boundary, ExecutorConfig, TradeAccount
from sniper_bot.trading.fees import priority_fee_lamports
from sniper_bot.trading.ports import ChainPort, OrderStore, TradeStore, WalletKey
from sniper_bot.trading.simulate import simulate_checked
from sniper_bot.trading.venue import Venue
from sniper_bot.trading.verify import (
    VerifyPolicy,
    sign_swap,
    verify_swap,
)

__all__ = [
    "Boundary",
    "ExecutorConfig",
    "Progress",
    "StoreUnavailable",
    "SwapExecutor",
    "TradeAccount",
]

log = structlog.get_logger(__name__)

_T = TypeVar("_T")
_CONFIRMED = ("confirmed", "finalized")
_ON_CHAIN = (OrderStatus.SIGNED, OrderStatus.SENT)
_STORE_BACKOFF = Backoff(base_s=0.1, factor=2.0, max_s=2.0, jitter=0.5)
_RELEASE_ATTEMPTS = 3
_FRESH_BLOCKS = 30  # a signed swap is stored (then sent) only with this many blocks left
_MAX_REBUILDS = 3

# What the caller of one ``run`` hears while it waits: (event, order as the worker knows it).
#   "store_unavailable"  a write is waiting for the database (the order is kept as stored)
#   "landed_unrecorded"  the swap landed on chain; its result waits for the database
Progress = Callable[[str, Order], Awaitable[None]]
_progress: ContextVar[Progress | None] = ContextVar("executor_progress", default=None)
Retry = Literal["budget", "forever", "once"]


class StoreUnavailable(TemporaryError):
    """The database did not take an order's write within ``store_retry_s``, before anything was
    sent. The order stays as stored; a claimer resumes (or cancels, if too old) it later."""

    def __init__(self, order: Order, operation: str) -> None:
        super().__init__(
            f"order {order.id} ({order.status.value}): the database did not take '{operation}' "
            "in time; nothing was sent, the order is resumed when its lease lapses",
            user_message=(
                "Our database stopped answering before your order was sent, so nothing has been "
                "sent yet. The order is kept: it will be finished (or cancelled, if it waited "
                "too long) automatically once the database is back, and you will get a message "
                "with the result. Do not place it again."
            ),
            retry_after=1.0,
        )
        self.order = order


class _Stale(Exception):
    """The signed swap was not stored before its blockhash got too old to send."""


class _NotStored(Exception):
    """A write tried once (``retry="once"``) did not reach the database; the caller goes on."""


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
    ) -> None:
        self._venue = venue
        self._rpc = rpc
        self._orders = orders
        self._trades = trades
        self._metrics = metrics
        self.config = config or ExecutorConfig()
        self._risk = risk_gate
        self._boundary = boundary
        self._sleep = sleep
        self._monotonic = monotonic
        self._now = now

    # -- entry point -----------------------------------------------------------------------------

    async def run(
        self, order: Order, account: TradeAccount, *, progress: Progress | None = None
    ) -> Order:
        """Drive ``order`` as far as it can go; returns the latest stored order.

        Raises ``StoreUnavailable`` when the database is gone before anything was sent.
        """
        if order.is_final:
            return order
        token = _progress.set(progress)
        try:
            return await self._run(order, account)
        finally:
            _progress.reset(token)

    async def _run(self, order: Order, account: TradeAccount) -> Order:
        cfg = self.config
        claimed = await self._store(
            order,
            "claim",
            lambda: self._orders.claim(order.id, cfg.worker_id, cfg.lease_s, self._now()),
        )
        if not claimed:
            log.info("order_claimed_elsewhere", order_id=order.id)
            return await self._reload(order)
        started = self._monotonic()
        lease = asyncio.create_task(self._keep_lease(order.id), name=f"lease-{order.id}")
        try:
            await self._hook("claimed", order)
            order = await self._reload(order)
            if order.status in (OrderStatus.PENDING, OrderStatus.QUOTED):
                order = await self._prepare_and_send(order, account)
            if order.status in _ON_CHAIN:
                order = await self._land(order, account.owner)
        except _Lost:
            order = await self._reload(order)
        finally:
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease
            await self._release(order.id)
        if order.is_final:
            outcome = order.status.value.lower()
            self._metrics.swap_execution_duration_seconds.labels(
                side=order.side.value.lower(), outcome=outcome
            ).observe(self._monotonic() - started)
        return order

    async def _keep_lease(self, order_id: str) -> None:
        """Renew the lease while this worker holds the order, so no claimer takes it over."""
        cfg = self.config
        while True:
            await self._sleep(max(cfg.lease_s / 3, 0.05))
            try:
                if not await self._orders.claim(order_id, cfg.worker_id, cfg.lease_s, self._now()):
                    return  # final, or another worker holds it now
            except Exception as exc:  # the next renewal tries again; the lease has slack
                log.info("lease_renew_failed", order_id=order_id, error=_brief(exc))

    async def _release(self, order_id: str) -> None:
        """Give the lease back; a failure is logged (the lease lapses) and never raised, so it
        cannot replace the error that ended the run."""
        for attempt in range(_RELEASE_ATTEMPTS):
            try:
                await self._orders.release(order_id, self.config.worker_id)
                return
            except Exception as exc:
                if attempt + 1 == _RELEASE_ATTEMPTS or not isinstance(exc, TemporaryError):
                    log.warning(
                        "lease_release_failed",
                        order_id=order_id,
                        error=_brief(exc),
                        lapses_in_s=self.config.lease_s,
                    )
                    return
                await self._sleep(_STORE_BACKOFF.delay(attempt, _RNG))

    # -- before the first send -------------------------------------------------------------------

    async def _prepare_and_send(self, order: Order, account: TradeAccount) -> Order:
        if account.key is None:
            raise ValueError("the wallet is locked: unlock it before executing a new order")
        rerouted = False
        for _ in range(_MAX_REBUILDS):
            if order.status is OrderStatus.QUOTED:  # a quote from before a crash is stale
                order = await self._move(order, OrderStatus.PENDING)
            try:
                return await self._prepare(order, account, account.key)
            except _Reroute as exc:  # the venue moved (a curve graduated); nothing was sent
                current = await self._reload(order)
                if rerouted or current.status not in (OrderStatus.PENDING, OrderStatus.QUOTED):
                    return await self._fail(current, exc.error)
                log.info("order_rerouted", order_id=order.id, reason=exc.error.message)
                rerouted, order = True, current
            except _Stale:  # the outage outlived the signed swap's blockhash: build it anew
                log.info("signed_swap_went_stale", order_id=order.id)
                order = await self._reload(order)
                if order.status not in (OrderStatus.PENDING, OrderStatus.QUOTED):
                    return order  # SIGNED after all (the COMMIT went through): land those bytes
            except (_Lost, StoreUnavailable):
                raise
            except Exception as exc:  # classified and stored; the order never reached SIGNED
                current = await self._reload(order)
                if current.status in (OrderStatus.PENDING, OrderStatus.QUOTED):
                    return await self._fail(current, classify_exception(exc))
                raise
        raise StoreUnavailable(order, "store a signed swap before its blockhash expires")

    async def _prepare(self, order: Order, account: TradeAccount, key: WalletKey) -> Order:
        owner, mint = account.owner, Pubkey.from_string(order.token_mint)
        buy = order.side is OrderSide.BUY
        if buy and self._risk is not None:
            report = await self._timed("risk", self._risk.check(order.token_mint))
            if report.is_honeypot or report.score >= self.config.honeypot_threshold:
                return await self._fail(
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
        quote = await self._timed(
            "quote", self._venue.quote(src, dst, order.amount, order.slippage_bps)
        )
        fee = await self._priority_fee(order, quote.amm_keys, account.max_priority_fee_lamports)
        await self._timed(
            "funds",
            check_funds(
                self._rpc,
                owner=owner,
                mint=mint,
                side=order.side,
                amount=order.amount,
                priority_fee_lamports=fee,
            ),
        )
        # The venue builds while QUOTED is stored: one round trip off the path to the send.
        build = asyncio.create_task(
            self._timed(
                "build", self._venue.build_swap(quote, str(owner), priority_fee_lamports=fee)
            )
        )
        try:
            order = await self._move(
                order, OrderStatus.QUOTED, quote=quote.to_json(), priority_fee_lamports=fee
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
        )
        tx = VersionedTransaction.from_bytes(swap.tx_bytes)
        verified = verify_swap(tx, user=owner, quote=quote, side=order.side, policy=policy)
        self._stage("verify", t)
        t = self._monotonic()
        signed = sign_swap(verified, key.sign_message)
        self._stage("sign", t)
        spend = quote.in_amount if buy else 0
        sim = await self._timed(
            "simulate", simulate_checked(self._rpc, signed, verified, owner, spend, policy)
        )
        if sim.err is not None:
            error = self._classify(
                sim.err, program_ids=verified.program_ids, logs=sim.logs, stage="simulation"
            )
            if error.details.get("reroute"):  # simulated only: a fresh quote is safe
                raise _Reroute(error)
            return await self._fail(order, error)
        order = await self._store_signed(
            order,
            swap.last_valid_block_height,
            signature=str(signed.signatures[verified.user_index]),
            last_valid_block_height=swap.last_valid_block_height,
            signed_tx=bytes(signed),
            attempts=order.attempts + 1,
        )
        return await self._first_send(order, signed, verified.program_ids)

    async def _store_signed(self, order: Order, last_valid: int, **fields: Any) -> Order:
        """Commit SIGNED (nothing is sent before it). Through an outage it is tried again only
        while the blockhash keeps ``_FRESH_BLOCKS`` blocks: bytes that would expire on arrival
        are dropped (``_Stale``) and the swap is built again with a fresh quote."""
        started = self._monotonic()
        attempt = 0
        while True:
            try:
                return await self._move(
                    order, OrderStatus.SIGNED, retry="once", after_failure=attempt > 0, **fields
                )
            except _NotStored:
                pass
            if self._monotonic() - started >= self.config.store_retry_s:
                raise StoreUnavailable(order, "move to SIGNED")
            await self._sleep(_STORE_BACKOFF.delay(min(attempt, 16), _RNG))
            attempt += 1
            try:
                height = await self._rpc.get_block_height()
            except TemporaryError:
                continue
            if height > last_valid - _FRESH_BLOCKS:
                raise _Stale(order.id)

    async def _first_send(
        self, order: Order, signed: VersionedTransaction, program_ids: tuple[str, ...]
    ) -> Order:
        try:
            await self._timed(
                "send",
                self._rpc.send_transaction(
                    signed,
                    skip_preflight=self.config.skip_preflight,
                    fanout=self.config.send_fanout,
                ),
            )
        except PreflightFailure as exc:
            if is_already_processed(exc.err):
                return order
            status = (await self._rpc.get_signature_statuses([signed.signatures[0]]))[0]
            if status is not None:  # it exists after all: let the landing loop read it
                return order
            error = self._classify(
                exc.err, program_ids=program_ids, logs=exc.logs, stage="simulation"
            )
            if error.type is OrderErrorType.BLOCKHASH_EXPIRED:
                # This node does not know the blockhash (expired, or it lags): only the block
                # height passing lastValidBlockHeight proves it can never land. Keep watching.
                log.info("first_send_blockhash_not_found", order_id=order.id)
                return order
            return await self._fail(order, error)
        except TemporaryError as exc:  # may or may not have reached a leader: keep watching
            log.warning("first_send_unconfirmed", order_id=order.id, error=str(exc))
            return order
        return await self._mark_sent(order)

    async def _mark_sent(self, order: Order) -> Order:
        """SIGNED -> SENT is bookkeeping: with the database away the watch goes on as SIGNED
        (SIGNED -> CONFIRMED is allowed) and the next resend tries again."""
        try:
            return await self._move(order, OrderStatus.SENT, retry="once")
        except _NotStored:
            return order

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

    # -- after SIGNED: only the same bytes, until landed or provably expired ----------------------

    async def _land(self, order: Order, owner: Pubkey) -> Order:
        if (
            order.signature is None
            or order.signed_tx is None
            or order.last_valid_block_height is None
        ):
            raise ValueError(f"order {order.id} is {order.status} without a signed transaction")
        sig = Signature.from_string(order.signature)
        tx = VersionedTransaction.from_bytes(order.signed_tx)
        lvbh = order.last_valid_block_height
        t0 = self._monotonic()
        last_send = t0 if order.status is OrderStatus.SENT else float("-inf")
        while self._monotonic() - t0 < self.config.land_deadline_s:
            try:
                status = (await self._rpc.get_signature_statuses([sig]))[0]
                if status is not None and status.confirmation_status in _CONFIRMED:
                    landed = await self._rpc.get_transaction(sig)
                    if landed is not None:
                        self._stage("confirm", t0)
                        return await self._finalize(order, landed, tx, owner)
                elif status is None:
                    if await self._rpc.get_block_height() > lvbh:
                        # Past lastValidBlockHeight it can no longer land: one more look decides.
                        if (await self._rpc.get_signature_statuses([sig]))[0] is None:
                            return await self._expire(order)
                        continue
                    if self._monotonic() - last_send >= self.config.resend_interval_s:
                        last_send = self._monotonic()
                        order = await self._resend(order, tx)
            except TemporaryError as exc:
                log.warning("landing_rpc_error", order_id=order.id, error=str(exc))
            await self._sleep(self.config.poll_interval_s)
        log.warning("landing_deadline", order_id=order.id, status=order.status.value)
        return order

    async def _resend(self, order: Order, tx: VersionedTransaction) -> Order:
        try:
            await self._rpc.send_transaction(
                tx, skip_preflight=True, fanout=self.config.send_fanout
            )
        except (TemporaryError, PreflightFailure) as exc:
            log.info("resend_failed", order_id=order.id, error=str(exc))
            return order
        if order.status is OrderStatus.SIGNED:
            order = await self._mark_sent(order)
        return order

    async def _finalize(
        self, order: Order, landed: LandedTransaction, tx: VersionedTransaction, owner: Pubkey
    ) -> Order:
        if landed.err is not None:
            msg = tx.message
            keys = list(msg.account_keys)
            programs = (
                [str(keys[ix.program_id_index]) for ix in msg.instructions]
                if isinstance(msg, MessageV0)
                else []
            )
            error = self._classify(landed.err, program_ids=programs, logs=landed.logs)
            error = replace(error, details={**error.details, "signature": str(landed.signature)})
            return await self._fail(
                order, error, fee_lamports=landed.fee, event="landed_unrecorded"
            )
        fill = fill_from_landed(landed, owner=owner, mint=order.token_mint, side=order.side)
        await self._store(
            order,
            "record_trade",
            lambda: self._trades.record_trade(  # idempotent per order: safe to repeat
                order_id=order.id,
                in_amount=fill.in_amount,
                out_amount=fill.out_amount,
                fee_lamports=fill.fee_lamports,
                signature=str(landed.signature),
                slot=fill.slot,
            ),
            event="landed_unrecorded",
        )
        await self._hook("trade_recorded", order)
        return await self._move(
            order,
            OrderStatus.CONFIRMED,
            in_amount=fill.in_amount,
            out_amount=fill.out_amount,
            fee_lamports=fill.fee_lamports,
        )

    async def _expire(self, order: Order) -> Order:
        error = OrderError(
            OrderErrorType.BLOCKHASH_EXPIRED,
            "block height passed lastValidBlockHeight and the signature never landed",
            {
                "signature": order.signature,
                "last_valid_block_height": order.last_valid_block_height,
            },
        )
        self._metrics.swap_failures.labels(reason=error.type.value).inc()
        return await self._move(order, OrderStatus.EXPIRED, error=error)

    # -- persistence helpers ---------------------------------------------------------------------

    async def _fail(
        self, order: Order, error: OrderError, *, event: str | None = None, **fields: Any
    ) -> Order:
        self._metrics.swap_failures.labels(reason=error.type.value).inc()
        log.info(
            "order_failed", order_id=order.id, error_type=error.type.value, error=error.message
        )
        return await self._move(order, OrderStatus.FAILED, event=event, error=error, **fields)

    async def _move(
        self,
        order: Order,
        new: OrderStatus,
        *,
        retry: Retry | None = None,
        event: str | None = None,
        after_failure: bool = False,
        **fields: Any,
    ) -> Order:
        failed = after_failure  # an earlier attempt failed: its COMMIT may have gone through

        def note_failure() -> None:
            nonlocal failed
            failed = True

        try:
            moved = await self._store(
                order,
                f"move to {new.value}",
                lambda: self._orders.transition(order.id, order.status, new, **fields),
                retry=retry,
                event=event,
                on_failure=note_failure,
            )
        except StaleOrderState as exc:
            ours = await self._own_commit(order, new, fields, exc) if failed else None
            if ours is None:
                raise _Lost(order.id) from exc
            moved = ours
        self._metrics.order_transitions.labels(to_state=new.value).inc()
        await self._hook(new.value.lower(), moved)
        return moved

    async def _own_commit(
        self, order: Order, new: OrderStatus, fields: dict[str, Any], exc: StaleOrderState
    ) -> Order | None:
        """After a failed attempt, "not in the expected state" may be our own write that did
        commit (the connection dropped during COMMIT). It is ours if the row holds what we wrote;
        for SIGNED the signature decides, as only those bytes may ever be sent."""
        if exc.actual is not new:
            return None
        current = await self._reload(order)
        if "signature" in fields and current.signature != fields["signature"]:
            return None
        log.info("order_write_committed_before_drop", order_id=order.id, status=new.value)
        return current

    async def _reload(self, order: Order) -> Order:
        current = await self._store(order, "reload", lambda: self._orders.get_by_id(order.id))
        if current is None:
            raise ValueError(f"order {order.id} disappeared")
        return current

    async def _store(
        self,
        order: Order,
        operation: str,
        call: Callable[[], Awaitable[_T]],
        *,
        retry: Retry | None = None,
        event: str | None = None,
        on_failure: Callable[[], None] | None = None,
    ) -> _T:
        """Run one database call for ``order`` through an outage (see the module docstring).

        ``retry``: "budget" (``store_retry_s``, then ``StoreUnavailable``), "forever", or "once"
        (``_NotStored``); by default "forever" once the swap may be on chain, else "budget".
        """
        mode = retry or ("forever" if order.status in _ON_CHAIN else "budget")
        started = self._monotonic()
        attempt = 0
        while True:
            try:
                result = await call()
            except Exception as exc:
                if not isinstance(exc, TemporaryError):
                    raise
                if on_failure is not None:
                    on_failure()
                if attempt == 0:
                    log.warning(
                        "order_store_unavailable",
                        order_id=order.id,
                        status=order.status.value,
                        operation=operation,
                        error=_brief(exc),
                    )
                    if mode != "once":
                        await self._tell(event or "store_unavailable", order)
                if mode == "once":
                    raise _NotStored(operation) from exc
                if mode == "budget" and self._monotonic() - started >= self.config.store_retry_s:
                    raise StoreUnavailable(order, operation) from exc
                await self._sleep(_STORE_BACKOFF.delay(min(attempt, 16), _RNG))
                attempt += 1
                continue
            if attempt:
                log.info(
                    "order_store_recovered",
                    order_id=order.id,
                    operation=operation,
                    attempts=attempt + 1,
                )
            return result

    def _classify(
        self,
        err: Any,
        *,
        program_ids: Sequence[str],
        logs: Sequence[str],
        stage: Literal["simulation", "onchain"] = "onchain",
    ) -> OrderError:
        """The generic classification, made specific by the venue when it knows the program
        (``VenueRouter.explain``: pump.fun's slippage, graduation and bug codes)."""
        error = classify_tx_error(err, program_ids=program_ids, logs=logs, stage=stage)
        explain = getattr(self._venue, "explain", None)
        return explain(error, program_ids, logs) if callable(explain) else error

    async def _tell(self, event: str, order: Order) -> None:
        progress = _progress.get()
        if progress is None:
            return
        try:
            await progress(event, order)
        except Exception as exc:  # telling the user must never stop the order
            log.info("order_progress_failed", order_id=order.id, event=event, error=_brief(exc))

    async def _hook(self, name: str, order: Order) -> None:
        if self._boundary is not None:
            await self._boundary(name, order)

    def _stage(self, stage: str, started: float) -> None:
        self._metrics.swap_stage_duration_seconds.labels(stage=stage).observe(
            self._monotonic() - started
        )

    async def _timed(self, stage: str, awaitable: Awaitable[_T]) -> _T:
        t = self._monotonic()
        try:
            return await awaitable
        finally:
            self._stage(stage, t)


class _Lost(Exception):
    """Another worker moved the order first; stop and reload."""


class _Reroute(Exception):
    """The simulation says the order belongs on another venue now (``details["reroute"]``)."""

    def __init__(self, error: OrderError) -> None:
        super().__init__(error.message)
        self.error = error


_RNG = random.Random()


def _brief(exc: BaseException) -> str:
    """The failure in one line for the logs: type and first line, no statement text."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
