"""The trading engine the bot calls: ``buy``/``sell`` (idempotent per user action), ``recover_all``.

    order = await trading.buy(user_id, wallet_id, mint, lamports, slippage_bps, fee_level, key)
    order.status / order.error.user_message  -> what the user is told

A double-tap (same idempotency key) returns the first order and never runs a second swap.
On start, ``recover_all()`` resolves every non-final order: SIGNED/SENT ones are watched with the
same bytes until they land or provably expire; PENDING/QUOTED ones (nothing was sent) are re-run
when younger than ``max_pending_age_s``, otherwise cancelled. While the bot runs,
``run_claimer(stop)`` does the same for orders whose lease lapsed (a worker that died or gave up
during a database outage): ``claim_batch`` leases them (``FOR UPDATE SKIP LOCKED``, so replicas
split the work) and each is recovered. One process drives an order once: a buy, recovery and the
claimer that meet on the same order share one run.

A snipe the hot path fired (durable-nonce bytes already on the wire, nothing stored before the
send) is stored afterwards by ``record_fired_snipe``, straight as SENT, and landed in the
background by the same executor run (its expiry is the nonce's, see ``trading.landing``).
``recover_armed_nonce`` is the rule for a fired snipe whose record never happened (a crash
between the send and the insert): its armed nonce consumed by a transaction of the user's wallet
is recorded as that order; not consumed is nothing (optionally voided first, so it never will).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.launch import SnipeTarget
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.programs import COMPUTE_BUDGET_PROGRAM_ID
from sniper_bot.trading.executor import Progress, SwapExecutor, TradeAccount
from sniper_bot.trading.landing import (
    NonceConsumer,
    RawTransactions,
    durable_nonce_of,
    instruction_at,
)

__all__ = [
    "FiredSnipeError",
    "NonceAuthority",
    "NonceRecovery",
    "OrderCreator",
    "OrderNotRecorded",
    "SignerSource",
    "TradingService",
    "UnlockedKey",
    "fired_snipe_key",
]

log = structlog.get_logger(__name__)

CLAIM_INTERVAL_S = 2.0
CLAIM_BATCH = 20
_CREATE_BACKOFF = Backoff(base_s=0.1, factor=2.0, max_s=2.0, jitter=0.5)
_RNG = random.Random()


class OrderNotRecorded(TemporaryError):
    """The database did not answer while the order was being written: it may or may not exist."""

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(
            f"order {idempotency_key!r}: the database did not answer the insert",
            user_message=(
                "Our database is not answering, so we cannot tell whether your order was "
                "recorded. If it was, it runs automatically and you will get a message with its "
                "result; check /orders before you place it again."
            ),
            retry_after=1.0,
        )


class UnlockedKey(Protocol):
    @property
    def wallet_id(self) -> int: ...
    @property
    def pubkey(self) -> Pubkey: ...
    def sign_message(self, message: bytes) -> Signature: ...


class SignerSource(Protocol):
    """``sniper_bot.wallet.service.WalletService`` fits."""

    async def signer(self, user_id: int, wallet_id: int | None = None) -> UnlockedKey: ...


class FiredSnipeError(ValueError):
    """A fired snipe that cannot be recorded as given (bytes that are not a durable-nonce
    transaction of the user's wallet, a signature that is not theirs, bad amounts)."""


class NonceAuthority(Protocol):
    @property
    def pubkey(self) -> Pubkey: ...
    def sign_message(self, message: bytes) -> Signature: ...


class NonceRecovery(Protocol):
    """What recovery asks of the durable nonces (``hotpath.nonce.NonceManager`` fits)."""

    async def consumed_by(self, address: Pubkey, armed: Hash) -> NonceConsumer | None: ...
    async def void(
        self, address: Pubkey, authority: NonceAuthority, *, armed: Hash | None = None
    ) -> Signature | None: ...


def fired_snipe_key(target_id: int) -> str:
    """The idempotency key of a snipe target's first buy: the hot path's fire, its recovery and
    the engine's ``snipe.idempotency_key(id, 0)`` share it, so they meet on one order."""
    return f"snipe:{target_id}"


class OrderCreator(Protocol):
    async def create(
        self,
        *,
        user_id: int,
        wallet_id: int,
        kind: OrderKind,
        token_mint: str,
        side: OrderSide,
        amount: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        idempotency_key: str,
        priority_fee_lamports: int = 0,
        quote: Any = None,
        order_id: str | None = None,
        locked_by: str | None = None,
        lease_s: float | None = None,
    ) -> tuple[Order, bool]: ...
    async def create_sent(
        self,
        *,
        user_id: int,
        wallet_id: int,
        kind: OrderKind,
        token_mint: str,
        side: OrderSide,
        amount: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        idempotency_key: str,
        signature: str,
        signed_tx: bytes,
        priority_fee_lamports: int = 0,
        quote: Any = None,
        last_valid_block_height: int | None = None,
        order_id: str | None = None,
        locked_by: str | None = None,
        lease_s: float | None = None,
    ) -> tuple[Order, bool]: ...
    async def list_non_final(self) -> list[Order]: ...
    async def claim_batch(
        self, worker_id: str, lease_s: float, now: datetime, limit: int = 50
    ) -> list[Order]: ...
    async def get_by_id(self, order_id: str) -> Order | None: ...
    async def transition(
        self, order_id: str, expected: OrderStatus, new: OrderStatus, **fields: Any
    ) -> Order: ...
    async def count_by_status(self) -> dict[OrderStatus, int]: ...


class TradingService:
    def __init__(
        self,
        *,
        executor: SwapExecutor,
        orders: OrderCreator,
        signers: SignerSource,
        metrics: Metrics,
        max_priority_fee_lamports: int,
        max_pending_age_s: float = 120.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        nonces: NonceRecovery | None = None,
        raw: RawTransactions | None = None,
    ) -> None:
        self._executor = executor
        self._nonces = nonces
        self._raw = raw
        self._orders = orders
        self._signers = signers
        self._metrics = metrics
        self._max_fee = max_priority_fee_lamports
        self._max_pending_age_s = max_pending_age_s
        self._now = now
        # Orders this process is driving right now: whoever else wants one joins its run.
        self._running: dict[str, asyncio.Task[Order]] = {}

    async def buy(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        *,
        kind: OrderKind = OrderKind.MANUAL,
        progress: Progress | None = None,
    ) -> Order:
        return await self._trade(
            user_id,
            wallet_id,
            mint,
            OrderSide.BUY,
            lamports,
            slippage_bps,
            fee_level,
            idempotency_key,
            kind,
            progress,
        )

    async def sell(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        token_amount: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        *,
        progress: Progress | None = None,
    ) -> Order:
        return await self._trade(
            user_id,
            wallet_id,
            mint,
            OrderSide.SELL,
            token_amount,
            slippage_bps,
            fee_level,
            idempotency_key,
            OrderKind.MANUAL,
            progress,
        )

    async def _trade(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        side: OrderSide,
        amount: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        kind: OrderKind,
        progress: Progress | None = None,
    ) -> Order:
        Pubkey.from_string(mint)  # a malformed mint fails here, before any row is written
        validate_slippage_bps(slippage_bps)
        key = await self._signers.signer(user_id, wallet_id)
        cfg = self._executor.config
        order, created = await self._insert(
            lambda: self._orders.create(
                user_id=user_id,
                wallet_id=key.wallet_id,
                kind=kind,
                token_mint=mint,
                side=side,
                amount=amount,
                slippage_bps=slippage_bps,
                priority_fee=fee_level,
                idempotency_key=idempotency_key,
                locked_by=cfg.worker_id,  # born leased: no claimer takes it from under us
                lease_s=cfg.lease_s,
            ),
            idempotency_key,
        )
        if not created:
            log.info("order_idempotent_replay", order_id=order.id, status=order.status.value)
            if order.is_final:
                return order
        result = await self._drive(order, self._account(key), progress)
        await self._refresh_gauge_quietly()
        return result

    # -- the hot path's fired snipes ---------------------------------------------------------

    async def record_fired_snipe(
        self,
        *,
        user_id: int,
        wallet_id: int,
        mint: str,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        signature: str,
        signed_tx: bytes,
        token_amount: int,
        max_sol_cost: int,
        priority_fee_lamports: int,
        venue: str,
    ) -> Order:
        """Store a snipe whose durable-nonce bytes are already on the wire, as SENT with its
        signature and exact bytes, and land it in the background; returns the stored order.

        Idempotent by ``(user_id, idempotency_key)``: another replica's call (other bytes for the
        same order, maybe) returns the existing order, and whichever transaction consumed the
        nonce becomes that order's. The insert is retried through a database outage until it
        is taken (the buy may be on chain: it must be recorded); the hot path awaits this in a
        background task, never on its path. The caller's cancellation stops only the insert
        retries; a crash before the row exists is ``recover_armed_nonce``'s case.
        """
        tx, owner = _fired_tx(
            mint, lamports, signature, signed_tx, token_amount, max_sol_cost,
            priority_fee_lamports,
        )  # fmt: skip
        validate_slippage_bps(slippage_bps)
        if not venue:
            raise FiredSnipeError("a fired snipe names its venue")
        cfg = self._executor.config
        quote = {
            "venue": venue,
            "quote": {
                "fired": True, "inputMint": WSOL_MINT, "outputMint": mint,
                "inAmount": str(lamports), "outAmount": str(token_amount),
                "maxSolCost": str(max_sol_cost), "slippageBps": slippage_bps,
                "priorityFeeLamports": str(priority_fee_lamports),
                "nonceAccount": str(tx[0]), "nonceValue": str(tx[1]),
            },
        }  # fmt: skip
        order, created = await self._insert_on_chain(
            lambda: self._orders.create_sent(
                user_id=user_id, wallet_id=wallet_id, kind=OrderKind.SNIPE, token_mint=mint,
                side=OrderSide.BUY, amount=lamports, slippage_bps=slippage_bps,
                priority_fee=fee_level, idempotency_key=idempotency_key, signature=signature,
                signed_tx=bytes(signed_tx), priority_fee_lamports=priority_fee_lamports,
                quote=quote, locked_by=cfg.worker_id, lease_s=cfg.lease_s,
            ),
            idempotency_key,
        )  # fmt: skip
        if not created:
            log.info(
                "fired_snipe_idempotent_replay",
                order_id=order.id,
                status=order.status.value,
                same_bytes=order.signature == signature,
            )
        if order.is_final:
            return order
        self._start(order, TradeAccount(owner=owner, key=None, max_priority_fee_lamports=0))
        return order

    async def landed(self, order_id: str) -> Order | None:
        """The result of this process's run of ``order_id`` (None when it has none)."""
        running = self._running.get(order_id)
        return None if running is None else await asyncio.shield(running)

    async def recover_armed_nonce(
        self, target: SnipeTarget, *, void_unconsumed: bool = False
    ) -> Order | None:
        """The rule for an armed (or fired) target whose order may never have been recorded: the
        transaction that consumed its armed nonce, when its fee payer is the target's wallet, is
        recorded as the target's order (``fired_snipe_key``; an existing order is returned) and
        landed; returns it as landed (or as far as one landing round got). Not consumed: None,
        nothing written. With ``void_unconsumed`` an unconsumed nonce is first advanced with an
        ordinary transaction (nothing signed for the armed value can land after it) and looked
        up again, since the buy may have landed just before the void."""
        if target.nonce_account is None or target.nonce_value is None:
            raise ValueError(f"snipe {target.id} has no armed durable nonce")
        if self._nonces is None or self._raw is None:
            raise RuntimeError("recover_armed_nonce needs the nonce manager and raw reads")
        account = Pubkey.from_string(target.nonce_account)
        armed = Hash.from_string(target.nonce_value)
        use = await self._nonces.consumed_by(account, armed)
        key: UnlockedKey | None = None
        if use is None and void_unconsumed:
            key = await self._signers.signer(target.user_id, target.wallet_id)
            await self._nonces.void(account, key, armed=armed)
            use = await self._nonces.consumed_by(account, armed)
        if use is None:
            return None
        found = await self._raw.get_transaction_raw(use.signature)
        if found is None:
            raise TemporaryError(f"{use.signature} consumed nonce {account} but is not readable")
        tx = found[0]
        if key is None:
            key = await self._signers.signer(target.user_id, target.wallet_id)
        payer = tx.message.account_keys[0]
        buy = _pump_buy_of(tx)
        if payer != key.pubkey or buy is None:
            log.warning(
                "armed_nonce_consumed_by_foreign_tx",
                snipe_id=target.id,
                signature=str(use.signature),
                fee_payer=str(payer),
            )
            return None
        mint, token_amount, max_sol_cost = buy
        order = await self.record_fired_snipe(
            user_id=target.user_id, wallet_id=target.wallet_id, mint=mint,
            lamports=target.amount_lamports, slippage_bps=target.slippage_bps,
            fee_level=target.priority_fee, idempotency_key=fired_snipe_key(target.id),
            signature=str(use.signature), signed_tx=bytes(tx), token_amount=token_amount,
            max_sol_cost=max_sol_cost, priority_fee_lamports=_priority_fee_of(tx),
            venue="pumpfun",
        )  # fmt: skip
        return await self.landed(order.id) or order

    async def _insert_on_chain(
        self, create: Callable[[], Awaitable[tuple[Order, bool]]], idempotency_key: str
    ) -> tuple[Order, bool]:
        """The insert of an order that may be on chain already: asked again until the
        database takes it (idempotent on the key, so a COMMIT lost with the connection is
        simply found on the next try)."""
        attempt = 0
        while True:
            try:
                return await create()
            except Exception as exc:
                if not isinstance(exc, TemporaryError):
                    raise
                if attempt == 0:
                    log.warning(
                        "fired_order_store_unavailable",
                        idempotency_key=idempotency_key,
                        error=type(exc).__name__,
                    )
                await asyncio.sleep(_CREATE_BACKOFF.delay(min(attempt, 16), _RNG))
                attempt += 1

    async def _insert(
        self, create: Callable[[], Awaitable[tuple[Order, bool]]], idempotency_key: str
    ) -> tuple[Order, bool]:
        """The insert is idempotent on (user, key), so a restarting database is simply asked
        again for ``store_retry_s``; after that nobody knows whether the row exists."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while True:
            try:
                return await create()
            except Exception as exc:
                if not isinstance(exc, TemporaryError):
                    raise
                if loop.time() - started >= self._executor.config.store_retry_s:
                    raise OrderNotRecorded(idempotency_key) from exc
                log.warning("order_insert_retry", attempt=attempt + 1, error=type(exc).__name__)
                await asyncio.sleep(_CREATE_BACKOFF.delay(min(attempt, 16), _RNG))
                attempt += 1

    async def _drive(
        self, order: Order, account: TradeAccount, progress: Progress | None = None
    ) -> Order:
        """Run the executor on ``order``, or join the run this process already has for it."""
        running = self._start(order, account, progress)
        # a caller that goes away (a cancelled handler) does not cancel the order's run
        return await asyncio.shield(running)

    def _start(
        self, order: Order, account: TradeAccount, progress: Progress | None = None
    ) -> asyncio.Task[Order]:
        running = self._running.get(order.id)
        if running is None:
            running = asyncio.create_task(
                self._executor.run(order, account, progress=progress), name=f"order-{order.id}"
            )
            self._running[order.id] = running
            running.add_done_callback(self._finished)
        return running

    def _account(self, key: UnlockedKey) -> TradeAccount:
        return TradeAccount(owner=key.pubkey, key=key, max_priority_fee_lamports=self._max_fee)

    def _finished(self, task: asyncio.Task[Order]) -> None:
        order_id = task.get_name().removeprefix("order-")
        self._running.pop(order_id, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # retrieved: every caller that joined the run got it; a background run had none
            log.warning("order_run_failed", order_id=order_id, error=repr(exc))

    async def recover_all(self, *, concurrency: int = 8) -> list[Order]:
        """Resolve every non-final order (run on start); returns them in their new state."""
        pending = await self._orders.list_non_final()
        log.info("recovery_start", orders=len(pending))
        gate = asyncio.Semaphore(concurrency)

        async def one(order: Order) -> Order:
            async with gate:
                try:
                    return await self.recover(order)
                except Exception as exc:  # one bad order must not stop the others
                    log.error("recovery_failed", order_id=order.id, error=repr(exc))
                    return order

        results = list(await asyncio.gather(*(one(o) for o in pending)))
        await self._refresh_gauge_quietly()
        return results

    async def run_claimer(
        self,
        stop: asyncio.Event,
        *,
        interval_s: float = CLAIM_INTERVAL_S,
        batch: int = CLAIM_BATCH,
        concurrency: int = 8,
    ) -> None:
        """Until ``stop``: every ``interval_s`` lease orders nobody holds (or whose lease lapsed)
        and recover each, at most ``concurrency`` at a time. A database outage only delays it."""
        cfg = self._executor.config
        gate = asyncio.Semaphore(concurrency)
        tasks: set[asyncio.Task[None]] = set()

        async def one(order: Order) -> None:
            async with gate:
                try:
                    await self.recover(order)
                except Exception as exc:  # its lease lapses; a later round tries again
                    log.warning("claimed_order_failed", order_id=order.id, error=repr(exc))

        try:
            while not stop.is_set():
                free = concurrency - len(tasks)
                if free > 0:
                    try:
                        claimed = await self._orders.claim_batch(
                            cfg.worker_id, cfg.lease_s, self._now(), limit=min(batch, free)
                        )
                    except Exception as exc:
                        if not isinstance(exc, TemporaryError):
                            raise
                        log.info("claimer_database_unavailable", error=type(exc).__name__)
                        claimed = []
                    for order in claimed:
                        if order.id in self._running:
                            continue
                        log.info("order_claimed", order_id=order.id, status=order.status.value)
                        task = asyncio.create_task(one(order), name=f"claimed-{order.id}")
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)
        finally:
            for task in tasks:
                task.cancel()  # orders are persisted at every step: the next owner resumes
            await asyncio.gather(*tasks, return_exceptions=True)

    async def recover(self, order: Order) -> Order:
        if order.is_final:
            return order
        if order.wallet_id is None:
            raise ValueError(f"order {order.id} has no wallet; it cannot be recovered")
        if order.status in (OrderStatus.PENDING, OrderStatus.QUOTED):
            age = (self._now() - order.created_at).total_seconds()
            if age > self._max_pending_age_s:
                return await self._orders.transition(order.id, order.status, OrderStatus.CANCELLED)
        key = await self._signers.signer(order.user_id, order.wallet_id)
        return await self._drive(order, self._account(key))

    async def refresh_gauge(self) -> None:
        counts = await self._orders.count_by_status()
        for status in OrderStatus:
            self._metrics.orders.labels(state=status.value).set(counts.get(status, 0))

    async def _refresh_gauge_quietly(self) -> None:
        """The gauge is bookkeeping: a database hiccup here must not turn a result into an error."""
        try:
            await self.refresh_gauge()
        except Exception as exc:
            log.info("orders_gauge_refresh_failed", error=type(exc).__name__)


def describe(orders: Sequence[Order]) -> list[str]:
    """One line per order for logs and the CLI."""
    return [
        f"{o.id} {o.side} {o.status} {o.error.type if o.error else ''}".rstrip() for o in orders
    ]


def _fired_tx(
    mint: str,
    lamports: int,
    signature: str,
    signed_tx: bytes,
    token_amount: int,
    max_sol_cost: int,
    priority_fee_lamports: int,
) -> tuple[tuple[Pubkey, Hash], Pubkey]:
    """Check a fired snipe's values; returns ((nonce account, armed value), fee payer)."""
    try:
        Pubkey.from_string(mint)
    except ValueError as exc:
        raise FiredSnipeError(f"mint {mint!r} is not a public key") from exc
    for name, value, low in (
        ("lamports", lamports, 1), ("token_amount", token_amount, 1),
        ("max_sol_cost", max_sol_cost, 1), ("priority_fee_lamports", priority_fee_lamports, 0),
    ):  # fmt: skip
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise FiredSnipeError(f"{name} must be an integer >= {low}, got {value!r}")
    try:
        tx = VersionedTransaction.from_bytes(bytes(signed_tx))
        sig = Signature.from_string(signature)
    except (ValueError, TypeError) as exc:
        raise FiredSnipeError(f"unreadable signed transaction or signature: {exc}") from exc
    if not tx.signatures or tx.signatures[0] != sig:
        raise FiredSnipeError(f"{signature} is not the fee payer's signature of these bytes")
    nonce = durable_nonce_of(tx)
    if nonce is None:
        raise FiredSnipeError("a fired snipe must be a durable-nonce transaction")
    return nonce, tx.message.account_keys[0]


def _pump_buy_of(tx: VersionedTransaction) -> tuple[str, int, int] | None:
    """(mint, token amount, max SOL cost) of the transaction's pump.fun ``buy``, if it has one."""
    for index in range(len(tx.message.instructions)):
        try:
            ix = instruction_at(tx, index)
        except IndexError:
            continue
        data = bytes(ix.data)
        if ix.program_id == pf.PUMP_PROGRAM_ID and data[:8] == pf.BUY_DISCRIMINATOR:
            if len(data) < 24 or len(ix.accounts) < 3:
                return None
            amount, max_sol_cost = struct.unpack_from("<QQ", data, 8)
            return str(ix.accounts[2].pubkey), amount, max_sol_cost
    return None


def _priority_fee_of(tx: VersionedTransaction) -> int:
    """The compute-budget priority fee the transaction pays (limit x price, rounded up)."""
    limit, price = 200_000, 0
    for index in range(len(tx.message.instructions)):
        try:
            ix = instruction_at(tx, index)
        except IndexError:
            continue
        data = bytes(ix.data)
        if ix.program_id != COMPUTE_BUDGET_PROGRAM_ID or not data:
            continue
        if data[0] == 2 and len(data) >= 5:
            (limit,) = struct.unpack_from("<I", data, 1)
        elif data[0] == 3 and len(data) >= 9:
            (price,) = struct.unpack_from("<Q", data, 1)
    return -(-limit * price // 1_000_000)
