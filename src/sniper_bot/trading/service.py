"""The trading engine the bot calls: ``buy``/``sell`` (idempotent per user action), ``recover_all``.

    order = await trading.buy(user_id, wallet_id, mint, lamports, slippage_bps, fee_level, key)
    order.status / order.error.user_message  -> what the user is told

A double-tap (same idempotency key) returns the first order and never runs a second swap.
On start, ``recover_all()`` resolves every non-final order: SIGNED/SENT ones are watched with the
same bytes until they land or provably expire; PENDING/QUOTED ones (nothing was sent) are re-run
when younger than ``max_pending_age_s``, otherwise cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from solders.pubkey import Pubkey
from solders.signature import Signature

from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.observability.metrics import Metrics
from sniper_bot.trading.executor import SwapExecutor, TradeAccount

__all__ = ["OrderCreator", "SignerSource", "TradingService", "UnlockedKey"]

log = structlog.get_logger(__name__)


class UnlockedKey(Protocol):
    @property
    def wallet_id(self) -> int: ...
    @property
    def pubkey(self) -> Pubkey: ...
    def sign_message(self, message: bytes) -> Signature: ...


class SignerSource(Protocol):
    """``sniper_bot.wallet.service.WalletService`` fits."""

    async def signer(self, user_id: int, wallet_id: int | None = None) -> UnlockedKey: ...


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
    ) -> tuple[Order, bool]: ...
    async def list_non_final(self) -> list[Order]: ...
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
    ) -> None:
        self._executor = executor
        self._orders = orders
        self._signers = signers
        self._metrics = metrics
        self._max_fee = max_priority_fee_lamports
        self._max_pending_age_s = max_pending_age_s
        self._now = now

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
    ) -> Order:
        Pubkey.from_string(mint)  # a malformed mint fails here, before any row is written
        validate_slippage_bps(slippage_bps)
        key = await self._signers.signer(user_id, wallet_id)
        order, created = await self._orders.create(
            user_id=user_id,
            wallet_id=key.wallet_id,
            kind=kind,
            token_mint=mint,
            side=side,
            amount=amount,
            slippage_bps=slippage_bps,
            priority_fee=fee_level,
            idempotency_key=idempotency_key,
        )
        if not created:
            log.info("order_idempotent_replay", order_id=order.id, status=order.status.value)
            if order.is_final:
                return order
        result = await self._executor.run(order, self._account(key))
        await self.refresh_gauge()
        return result

    def _account(self, key: UnlockedKey) -> TradeAccount:
        return TradeAccount(owner=key.pubkey, key=key, max_priority_fee_lamports=self._max_fee)

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
        await self.refresh_gauge()
        return results

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
        return await self._executor.run(order, self._account(key))

    async def refresh_gauge(self) -> None:
        counts = await self._orders.count_by_status()
        for status in OrderStatus:
            self._metrics.orders.labels(state=status.value).set(counts.get(status, 0))


def describe(orders: Sequence[Order]) -> list[str]:
    """One line per order for logs and the CLI."""
    return [
        f"{o.id} {o.side} {o.status} {o.error.type if o.error else ''}".rstrip() for o in orders
    ]
