"""From SIGNED to a final state: the first send, then only the same bytes until landed or expired.

* After SIGNED only the stored bytes are ever (re)sent; no new quote for the order.
* EXPIRED only once the block height passed lastValidBlockHeight *and* the status is still null.
* Success is declared only from the landed transaction's ``meta.err``; the trade is recorded
  (idempotently, per order) before CONFIRMED, so a crash between them is redone by recovery.
* The loop never stops watching for a failed write: marking SENT is tried again on the next
  resend, and the landed result is written until the database takes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import structlog
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.errors import PreflightFailure
from sniper_bot.chain.types import LandedTransaction
from sniper_bot.domain.entities import Order
from sniper_bot.domain.orders import OrderError, OrderErrorType, OrderStatus
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.solana.tx_errors import is_already_processed
from sniper_bot.trading.accounting import fill_from_landed
from sniper_bot.trading.executor_config import ExecutorConfig
from sniper_bot.trading.explain import explain_tx_error
from sniper_bot.trading.persistence import OrderWriter
from sniper_bot.trading.ports import ChainPort, TradeStore
from sniper_bot.trading.stages import StageTimer
from sniper_bot.trading.venue import Venue

__all__ = ["Lander"]

log = structlog.get_logger(__name__)

_CONFIRMED = ("confirmed", "finalized")


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
    ) -> None:
        self._venue = venue
        self._rpc = rpc
        self._trades = trades
        self._writer = writer
        self._metrics = metrics
        self._stages = stages
        self._config = config
        self._sleep = sleep
        self._monotonic = monotonic

    async def first_send(
        self, order: Order, signed: VersionedTransaction, program_ids: tuple[str, ...]
    ) -> Order:
        try:
            await self._stages.timed(
                "send",
                self._rpc.send_transaction(
                    signed,
                    skip_preflight=self._config.skip_preflight,
                    fanout=self._config.send_fanout,
                ),
            )
        except PreflightFailure as exc:
            if is_already_processed(exc.err):
                return order
            status = (await self._rpc.get_signature_statuses([signed.signatures[0]]))[0]
            if status is not None:  # it exists after all: let the landing loop read it
                return order
            error = explain_tx_error(
                self._venue, exc.err, program_ids=program_ids, logs=exc.logs, stage="simulation"
            )
            if error.type is OrderErrorType.BLOCKHASH_EXPIRED:
                # This node does not know the blockhash (expired, or it lags): only the block
                # height passing lastValidBlockHeight proves it can never land. Keep watching.
                log.info("first_send_blockhash_not_found", order_id=order.id)
                return order
            return await self._writer.fail(order, error)
        except TemporaryError as exc:  # may or may not have reached a leader: keep watching
            log.warning("first_send_unconfirmed", order_id=order.id, error=str(exc))
            return order
        return await self._writer.mark_sent(order)

    async def land(self, order: Order, owner: Pubkey) -> Order:
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
        while self._monotonic() - t0 < self._config.land_deadline_s:
            try:
                status = (await self._rpc.get_signature_statuses([sig]))[0]
                if status is not None and status.confirmation_status in _CONFIRMED:
                    landed = await self._rpc.get_transaction(sig)
                    if landed is not None:
                        self._stages.stage("confirm", t0)
                        return await self._finalize(order, landed, tx, owner)
                elif status is None:
                    if await self._rpc.get_block_height() > lvbh:
                        # Past lastValidBlockHeight it can no longer land: one more look decides.
                        if (await self._rpc.get_signature_statuses([sig]))[0] is None:
                            return await self._expire(order)
                        continue
                    if self._monotonic() - last_send >= self._config.resend_interval_s:
                        last_send = self._monotonic()
                        order = await self._resend(order, tx)
            except TemporaryError as exc:
                log.warning("landing_rpc_error", order_id=order.id, error=str(exc))
            await self._sleep(self._config.poll_interval_s)
        log.warning("landing_deadline", order_id=order.id, status=order.status.value)
        return order

    async def _resend(self, order: Order, tx: VersionedTransaction) -> Order:
        try:
            await self._rpc.send_transaction(
                tx, skip_preflight=True, fanout=self._config.send_fanout
            )
        except (TemporaryError, PreflightFailure) as exc:
            log.info("resend_failed", order_id=order.id, error=str(exc))
            return order
        if order.status is OrderStatus.SIGNED:
            order = await self._writer.mark_sent(order)
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
            error = explain_tx_error(
                self._venue, landed.err, program_ids=programs, logs=landed.logs
            )
            error = replace(error, details={**error.details, "signature": str(landed.signature)})
            return await self._writer.fail(
                order, error, fee_lamports=landed.fee, event="landed_unrecorded"
            )
        fill = fill_from_landed(landed, owner=owner, mint=order.token_mint, side=order.side)
        await self._writer.store(
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
        await self._writer.hook("trade_recorded", order)
        return await self._writer.move(
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
        return await self._writer.move(order, OrderStatus.EXPIRED, error=error)
