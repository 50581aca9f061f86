"""A swap from SIGNED to a final state through the shared lifecycle (``sniper_bot.chain.landing``).

The sends, resends, status watch, ``meta.err`` decision and expiry proof are ``chain.landing``'s;
this module is how an order records each outcome:

* SENT is bookkeeping, tried once (``OrderWriter.mark_sent``): the next resend tries again.
* A landed swap's trade is recorded (idempotently, per order) before CONFIRMED, so a crash
  between them is redone by recovery; the landed result is written until the database takes it.
* FAILED and EXPIRED are counted in ``swap_failures`` like every other failure.
* A lost compare-and-set raises ``OrderLost`` (the executor stops and reloads).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Literal

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sniper_bot.chain.landing import (
    BlockHeightExpiry,
    Expired,
    Landing,
    LandingConfig,
    Phase,
    Send,
    SignedTransaction,
    rpc_send,
)
from sniper_bot.chain.types import LandedTransaction, TxError
from sniper_bot.domain.entities import Order
from sniper_bot.domain.orders import OrderError, OrderErrorType, OrderStatus
from sniper_bot.observability.metrics import Metrics
from sniper_bot.trading.accounting import fill_from_landed
from sniper_bot.trading.executor_config import ExecutorConfig
from sniper_bot.trading.explain import explain_tx_error
from sniper_bot.trading.persistence import OrderWriter
from sniper_bot.trading.ports import ChainPort, TradeStore
from sniper_bot.trading.stages import StageTimer
from sniper_bot.trading.venue import Venue

__all__ = ["Lander"]


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
    ) -> None:
        self._venue = venue
        self._trades = trades
        self._writer = writer
        self._metrics = metrics
        self._stages = stages
        self._monotonic = monotonic
        wire = send or rpc_send(rpc, preflight=not config.skip_preflight, fanout=config.send_fanout)

        async def timed_send(tx: VersionedTransaction, *, first: bool) -> object:
            sent = wire(tx, first=first)
            return await (self._stages.timed("send", sent) if first else sent)

        self._landing = Landing(
            chain=rpc,
            send=timed_send,
            config=LandingConfig(
                poll_interval_s=config.poll_interval_s,
                resend_interval_s=config.resend_interval_s,
                land_deadline_s=config.land_deadline_s,
            ),
            sleep=sleep,
            monotonic=monotonic,
            classify=self._explain,
        )

    async def first_send(self, order: Order, owner: Pubkey) -> Order:
        sink = _OrderSink(self, owner, self._monotonic())
        return await self._landing.first_send(
            order, _signed(order), sink, ids={"order_id": order.id}
        )

    async def land(self, order: Order, owner: Pubkey) -> Order:
        signed = _signed(order)
        sink = _OrderSink(self, owner, self._monotonic())
        return await self._landing.land(order, signed, sink, ids={"order_id": order.id})

    def _explain(
        self,
        err: TxError,
        *,
        program_ids: Sequence[str],
        logs: Sequence[str],
        stage: Literal["simulation", "onchain"],
    ) -> OrderError:
        return explain_tx_error(self._venue, err, program_ids=program_ids, logs=logs, stage=stage)


def _signed(order: Order) -> SignedTransaction:
    if order.signature is None or order.signed_tx is None or order.last_valid_block_height is None:
        raise ValueError(f"order {order.id} is {order.status} without a signed transaction")
    expiry = BlockHeightExpiry(order.last_valid_block_height)
    return SignedTransaction.stored(order.signed_tx, order.signature, expiry)


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
        )

    async def mark_failed(
        self, order: Order, error: OrderError, landed: LandedTransaction | None
    ) -> Order:
        if landed is None:  # refused by the first send's preflight: nothing is on chain
            return await self._writer.fail(order, error)
        error = replace(error, details={**error.details, "signature": str(landed.signature)})
        return await self._writer.fail(
            order, error, fee_lamports=landed.fee, event="landed_unrecorded"
        )

    async def mark_expired(self, order: Order, expired: Expired) -> Order:
        error = OrderError(OrderErrorType.BLOCKHASH_EXPIRED, expired.reason, expired.details)
        self._lander._metrics.swap_failures.labels(reason=error.type.value).inc()
        return await self._writer.move(order, OrderStatus.EXPIRED, error=error)
