"""A swap from SIGNED to a final state through the shared lifecycle (``sniper_bot.chain.landing``).

The sends, resends, status watch, ``meta.err`` decision and expiry proof are ``chain.landing``'s;
this module is how an order records each outcome:

* SENT is bookkeeping, tried once (``OrderWriter.mark_sent``): the next resend tries again.
* A landed swap's trade is recorded (idempotently, per order) before CONFIRMED, so a crash
  between them is redone by recovery; the landed result is written until the database takes it.
* FAILED and EXPIRED are counted in ``swap_failures`` like every other failure.
* A lost compare-and-set raises ``OrderLost`` (the executor stops and reloads).

The expiry rule comes from the stored bytes (``expiry_for``): a durable-nonce transaction (first
instruction ``AdvanceNonceAccount``, a snipe fired by the hot path) expires by ``NonceExpiry``
(nonce account = that instruction's account, armed value = the bytes' ``recent_blockhash``),
never by a stored ``lastValidBlockHeight``, which means nothing for it; any other by
``BlockHeightExpiry``. Before a nonce order is EXPIRED the transaction that consumed the nonce is
looked up (``NonceLookup.consumed_by``): another signature for the same armed value whose fee
payer is the order's wallet (another replica signed other bytes for the same order, e.g. another
tip) *is* the order's landed transaction, so it is adopted (trade recorded from it, CONFIRMED
with its signature and bytes, or FAILED from its ``meta.err``), never EXPIRED.

How the bytes go out: with a ``RelayFanout`` (``relays=``, the app's) every send puts the same
bytes on every RPC endpoint and every Jito block engine (``relay_send``); an order with
``mev_protect`` goes to the block engines only, as a bundle, never to the public mempool. A relay
that refuses, or a mode that cannot be honoured (bundle-only and no block engine), sends nothing
and keeps the order watched (a ``TemporaryError`` for the lifecycle): only the expiry rule ends
it, and it never falls back to the public RPC. Without ``relays`` the bytes go through the RPC
pool (``rpc_send``), and a bundle-only order is never sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Literal, Protocol

import structlog
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.errors import RpcError
from sniper_bot.chain.landing import (
    BlockHeightExpiry,
    Expired,
    ExpiryRule,
    Landing,
    LandingConfig,
    NonceExpiry,
    Phase,
    Send,
    SignedTransaction,
    rpc_send,
)
from sniper_bot.chain.relays import RelayFanout
from sniper_bot.chain.types import LandedTransaction, TxError
from sniper_bot.domain.entities import Order
from sniper_bot.domain.orders import OrderError, OrderErrorType, OrderStatus
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.solana.nonce import is_advance_nonce
from sniper_bot.trading.accounting import fill_from_landed
from sniper_bot.trading.executor_config import ExecutorConfig
from sniper_bot.trading.explain import explain_tx_error
from sniper_bot.trading.persistence import OrderWriter
from sniper_bot.trading.ports import ChainPort, TradeStore
from sniper_bot.trading.stages import StageTimer
from sniper_bot.trading.venue import Venue

__all__ = [
    "Lander",
    "NonceConsumer",
    "NonceLookup",
    "RawTransactions",
    "durable_nonce_of",
    "expiry_for",
    "instruction_at",
    "relay_send",
]

log = structlog.get_logger(__name__)

# How long a moved nonce with no listed consumer is looked at again before the order is EXPIRED
# (the confirmed signature history can trail the account read by a few slots).
ADOPT_GRACE_S = 5.0


class NonceConsumer(Protocol):
    """The landed transaction that consumed a nonce value (``hotpath.nonce.NonceUse`` fits)."""

    @property
    def signature(self) -> Signature: ...


class NonceLookup(Protocol):
    """Who consumed an armed nonce value (``hotpath.nonce.NonceManager`` fits): ``None`` while
    the account still holds it, or when something other than a durable transaction of that
    value (a void) moved it."""

    async def consumed_by(self, address: Pubkey, armed: Hash) -> NonceConsumer | None: ...


class RawTransactions(Protocol):
    """``getTransaction`` with the message kept (``hotpath.nonce.RpcNonceChain`` fits)."""

    async def get_transaction_raw(
        self, sig: Signature
    ) -> tuple[VersionedTransaction, int, TxError] | None: ...


def instruction_at(tx: VersionedTransaction, index: int) -> Instruction:
    """Instruction ``index`` of ``tx`` with its accounts resolved (static keys only)."""
    msg = tx.message
    compiled = msg.instructions[index]
    keys = msg.account_keys
    header = msg.header
    signed = header.num_required_signatures
    signed_writable = signed - header.num_readonly_signed_accounts
    unsigned_writable = len(keys) - header.num_readonly_unsigned_accounts

    def meta(i: int) -> AccountMeta:
        writable = i < signed_writable or signed <= i < unsigned_writable
        return AccountMeta(keys[i], i < signed, writable)

    return Instruction(
        keys[compiled.program_id_index], compiled.data, [meta(i) for i in compiled.accounts]
    )


def durable_nonce_of(tx: VersionedTransaction) -> tuple[Pubkey, Hash] | None:
    """(nonce account, armed value) when ``tx`` is a durable-nonce transaction (its first
    instruction advances a nonce account; the runtime then reads ``recent_blockhash`` as the
    nonce), else None."""
    msg = tx.message
    if not msg.instructions:
        return None
    try:
        first = instruction_at(tx, 0)
    except IndexError:  # an index past the static keys (a lookup table): not one of ours
        return None
    if not is_advance_nonce(first):
        return None
    return first.accounts[0].pubkey, msg.recent_blockhash


def expiry_for(order: Order) -> ExpiryRule:
    """The rule that proves the order's stored bytes can no longer land."""
    if order.signed_tx is None:
        raise ValueError(f"order {order.id} is {order.status} without a signed transaction")
    nonce = durable_nonce_of(VersionedTransaction.from_bytes(order.signed_tx))
    if nonce is not None:
        return NonceExpiry(*nonce)
    if order.last_valid_block_height is None:
        raise ValueError(f"order {order.id} is {order.status} without lastValidBlockHeight")
    return BlockHeightExpiry(order.last_valid_block_height)


class RelayNotAccepted(TemporaryError):
    """No relay took the bytes (refused, unreachable, or the mode cannot be honoured): nothing
    new is on the wire from this send; the watch goes on and the expiry rule decides."""


def relay_send(relays: RelayFanout, *, mev_protect: bool, venue: str = "unknown") -> Send:
    """``Send`` through the relay fan-out: every RPC endpoint and block engine (``mev_protect``:
    the block engines only, as a bundle); returns once a relay accepted."""

    async def send(tx: VersionedTransaction, *, first: bool) -> object:
        try:
            dispatch = await relays.send(
                bytes(tx), mev_protect=mev_protect, source="order", venue=venue
            )
            return await dispatch.accepted()
        except RpcError as exc:
            if isinstance(exc, TemporaryError):
                raise
            raise RelayNotAccepted(exc.message) from exc

    return send


async def _never_public(tx: VersionedTransaction, *, first: bool) -> object:
    raise RelayNotAccepted(
        "MEV protection sends bundles only and no block engine is wired: nothing was sent"
    )


class Lander:
    """Sends a stored signed swap and watches it until it is CONFIRMED, FAILED or EXPIRED."""

    def __init__(
        self,
        *,
        venue: Venue,
        rpc: ChainPort,
        trades: TradeStore,
        writer: OrderWriter,
        metrics: Metrics,
        stages: StageTimer,
        config: ExecutorConfig,
        sleep: Callable[[float], Awaitable[None]],
        monotonic: Callable[[], float],
        send: Send | None = None,
        nonces: NonceLookup | None = None,
        raw: RawTransactions | None = None,
        relays: RelayFanout | None = None,
    ) -> None:
        self._venue = venue
        self._rpc = rpc
        self._nonces = nonces
        self._raw = raw
        self._trades = trades
        self._writer = writer
        self._metrics = metrics
        self._stages = stages
        self._monotonic = monotonic
        self.relays = relays
        # order id -> when its nonce was first seen moved with no consumer listed (see adoptable)
        self._unlisted_since: dict[str, float] = {}
        venue_name = venue.name
        public: Send
        protected: Send = _never_public
        if send is not None:
            public = send
        elif relays is not None:
            public = relay_send(relays, mev_protect=False, venue=venue_name)
            protected = relay_send(relays, mev_protect=True, venue=venue_name)
        else:
            public = rpc_send(rpc, preflight=not config.skip_preflight, fanout=config.send_fanout)

        def timed(wire: Send) -> Send:
            async def timed_send(tx: VersionedTransaction, *, first: bool) -> object:
                sent = wire(tx, first=first)
                return await (self._stages.timed("send", sent) if first else sent)

            return timed_send

        def landing(wire: Send) -> Landing:
            return Landing(
                chain=rpc,
                send=timed(wire),
                config=LandingConfig(
                    poll_interval_s=config.poll_interval_s,
                    resend_interval_s=config.resend_interval_s,
                    land_deadline_s=config.land_deadline_s,
                ),
                sleep=sleep,
                monotonic=monotonic,
                classify=self._explain,
            )

        self._landings = {False: landing(public), True: landing(protected)}

    @property
    def bundles_available(self) -> bool:
        """Can an order be sent bundle-only (a relay fan-out with a block engine)?"""
        return self.relays is not None and bool(self.relays.engines)

    async def first_send(self, order: Order, owner: Pubkey, *, mev_protect: bool = False) -> Order:
        sink = _OrderSink(self, owner, self._monotonic())
        return await self._landings[mev_protect].first_send(
            order, _signed(order), sink, ids={"order_id": order.id}
        )

    async def land(self, order: Order, owner: Pubkey, *, mev_protect: bool = False) -> Order:
        """Watch (and resend) ``order``; ``mev_protect``: its bytes go as bundles only."""
        signed = _signed(order)
        sink = _OrderSink(self, owner, self._monotonic())
        return await self._landings[mev_protect].land(
            order, signed, sink, ids={"order_id": order.id}
        )

    def _explain(
        self,
        err: TxError,
        *,
        program_ids: Sequence[str],
        logs: Sequence[str],
        stage: Literal["simulation", "onchain"],
    ) -> OrderError:
        return explain_tx_error(self._venue, err, program_ids=program_ids, logs=logs, stage=stage)

    async def adoptable(
        self, order: Order, owner: Pubkey, expiry: NonceExpiry
    ) -> tuple[LandedTransaction, VersionedTransaction] | None:
        """The transaction that consumed the order's armed nonce value when it is the order's
        own (fee payer = the order's wallet), landed; None when nothing of ours consumed it
        (a void, or another payer). ``TemporaryError`` when the chain cannot tell yet."""
        if self._nonces is None:
            return None
        try:
            use = await self._nonces.consumed_by(expiry.account, expiry.nonce)
        except TemporaryError:
            raise
        except Exception as exc:  # a stale read of the nonce decides nothing: look again
            raise TemporaryError(f"nonce {expiry.account} unreadable: {exc}") from exc
        if use is None:
            # The nonce moved, but no transaction of ours is listed as its consumer. Either a void
            # moved it (nothing bought) or the consumer is not listed yet: the account read can be
            # newer than the confirmed signature history. EXPIRED is final, so it waits for the
            # history to catch up (ADOPT_GRACE_S) before believing the list is complete.
            first = self._unlisted_since.setdefault(order.id, self._monotonic())
            if self._monotonic() - first < ADOPT_GRACE_S:
                raise TemporaryError(
                    f"nonce {expiry.account} moved; its consumer is not listed yet"
                )
            self._unlisted_since.pop(order.id, None)
            return None
        self._unlisted_since.pop(order.id, None)
        landed = await self._rpc.get_transaction(use.signature)
        raw = await self._raw.get_transaction_raw(use.signature) if self._raw else None
        if landed is None or (self._raw is not None and raw is None):
            raise TemporaryError(f"{use.signature} consumed the nonce but is not readable yet")
        payer = landed.account_keys[0] if landed.account_keys else None
        if payer != owner:
            log.warning(
                "nonce_consumed_by_other_payer",
                order_id=order.id,
                signature=str(use.signature),
                fee_payer=str(payer),
            )
            return None
        tx = raw[0] if raw is not None else VersionedTransaction.from_bytes(order.signed_tx or b"")
        return landed, tx


def _signed(order: Order) -> SignedTransaction:
    if order.signature is None or order.signed_tx is None:
        raise ValueError(f"order {order.id} is {order.status} without a signed transaction")
    return SignedTransaction.stored(order.signed_tx, order.signature, expiry_for(order))


class _OrderSink:
    """``LandingSink[Order]``: each outcome through the executor's ``OrderWriter``."""

    def __init__(self, lander: Lander, owner: Pubkey, started: float) -> None:
        self._lander = lander
        self._writer = lander._writer
        self._owner = owner
        self._started = started

    def phase(self, order: Order) -> Phase:
        if order.is_final:
            return "final"
        return "sent" if order.status is OrderStatus.SENT else "signed"

    async def mark_sent(self, order: Order) -> Order:
        return await self._writer.mark_sent(order)

    async def record_landed(self, order: Order, landed: LandedTransaction) -> Order:
        return await self._landed(order, landed, {})

    async def _landed(
        self, order: Order, landed: LandedTransaction, adopted: dict[str, Any]
    ) -> Order:
        lander = self._lander
        lander._stages.stage("confirm", self._started)
        fill = fill_from_landed(landed, owner=self._owner, mint=order.token_mint, side=order.side)
        await self._writer.store(
            order,
            "record_trade",
            lambda: lander._trades.record_trade(  # idempotent per order: safe to repeat
                order_id=order.id,
                in_amount=fill.in_amount,
                out_amount=fill.out_amount,
                fee_lamports=fill.fee_lamports,
                signature=str(landed.signature),
                slot=fill.slot,
            ),
            event="landed_unrecorded",
        )
        await self._writer.hook("trade_recorded", order)
        return await self._writer.move(
            order,
            OrderStatus.CONFIRMED,
            in_amount=fill.in_amount,
            out_amount=fill.out_amount,
            fee_lamports=fill.fee_lamports,
            **adopted,
        )

    async def mark_failed(
        self, order: Order, error: OrderError, landed: LandedTransaction | None
    ) -> Order:
        return await self._failed(order, error, landed, {})

    async def _failed(
        self,
        order: Order,
        error: OrderError,
        landed: LandedTransaction | None,
        adopted: dict[str, Any],
    ) -> Order:
        if landed is None:  # refused by the first send's preflight: nothing is on chain
            return await self._writer.fail(order, error)
        error = replace(error, details={**error.details, "signature": str(landed.signature)})
        return await self._writer.fail(
            order, error, fee_lamports=landed.fee, event="landed_unrecorded", **adopted
        )

    async def mark_expired(self, order: Order, expired: Expired) -> Order:
        if expired.rule == "nonce":
            expiry = expiry_for(order)
            assert isinstance(expiry, NonceExpiry)
            found = await self._lander.adoptable(order, self._owner, expiry)
            if found is not None:
                return await self._adopt(order, *found)
        error = OrderError(OrderErrorType.BLOCKHASH_EXPIRED, expired.reason, expired.details)
        self._lander._metrics.swap_failures.labels(reason=error.type.value).inc()
        return await self._writer.move(order, OrderStatus.EXPIRED, error=error)

    async def _adopt(
        self, order: Order, landed: LandedTransaction, tx: VersionedTransaction
    ) -> Order:
        """The order's armed nonce was consumed by ``landed``, signed by the order's wallet:
        that is the order's transaction (another replica's bytes, or ours seen late)."""
        adopted: dict[str, Any] = {}
        if str(landed.signature) != order.signature:
            log.info(
                "nonce_order_adopted",
                order_id=order.id,
                stored=order.signature,
                landed=str(landed.signature),
            )
            adopted = {"signature": str(landed.signature), "signed_tx": bytes(tx)}
        if landed.err is None:
            return await self._landed(order, landed, adopted)
        keys = list(tx.message.account_keys)
        program_ids = [str(keys[ix.program_id_index]) for ix in tx.message.instructions]
        error = self._lander._explain(
            landed.err, program_ids=program_ids, logs=landed.logs, stage="onchain"
        )
        return await self._failed(order, error, landed, adopted)
