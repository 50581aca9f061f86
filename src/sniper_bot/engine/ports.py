"""What the snipe engine needs from its neighbours, as small Protocols (the real ones fit).

``SnipeTargetStore`` = ``sniper_bot.storage.repositories.snipes.SnipeTargetRepository`` (its
transitions raise ``sniper_bot.ports.stores.StaleSnipeState`` when another worker moved first);
``Buyer`` = ``sniper_bot.trading.service.TradingService``; ``LaunchFeed`` =
``sniper_bot.detection.LaunchDetector``; ``RouteProbe`` = ``sniper_bot.engine.probe.
QuoteRouteProbe``; ``HotSnipes`` = ``sniper_bot.hotpath.arming.HotArming`` (the zero-round-trip
path: targets it owns fire from the pump.fun create itself, never through the engine). The
risk check is ``sniper_bot.ports.risk.RiskChecker`` (``sniper_bot.safety.
service.RiskService``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchEvent, LaunchFilter, SnipeStatus, SnipeTarget

__all__ = ["Buyer", "HotSnipes", "LaunchFeed", "RouteProbe", "SnipeTargetStore"]


class SnipeTargetStore(Protocol):
    async def arm(
        self,
        *,
        user_id: int,
        wallet_id: int,
        amount_lamports: int,
        slippage_bps: int,
        priority_fee: FeeLevel,
        expires_at: datetime,
        token_mint: str | None = None,
        launch_filter: LaunchFilter | None = None,
        paper: bool = False,
        creator: str | None = None,
    ) -> SnipeTarget: ...
    async def list_armed(
        self, now: datetime | None = None, limit: int | None = None
    ) -> list[SnipeTarget]: ...
    async def get(self, user_id: int, target_id: int) -> SnipeTarget | None: ...
    async def get_by_id(self, target_id: int) -> SnipeTarget | None: ...
    async def list_for_user(
        self, user_id: int, statuses: tuple[SnipeStatus, ...] | None = None, limit: int = 20
    ) -> list[SnipeTarget]: ...
    async def cancel(self, user_id: int, target_id: int) -> SnipeTarget: ...
    async def list_armed_for_mint(
        self, mint: str, now: datetime | None = None
    ) -> list[SnipeTarget]: ...
    async def mark_fired(
        self,
        target_id: int,
        order_id: str | None = None,
        now: datetime | None = None,
        *,
        mint: str | None = None,
    ) -> SnipeTarget: ...
    async def attach_order(self, target_id: int, order_id: str) -> SnipeTarget: ...
    async def mark_failed(
        self, target_id: int, error: str, order_id: str | None = None
    ) -> SnipeTarget: ...
    async def expire_due(self, now: datetime | None = None) -> list[SnipeTarget]: ...
    async def list_fired_without_order(self) -> list[SnipeTarget]: ...


class Buyer(Protocol):
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
    ) -> Order: ...


class RouteProbe(Protocol):
    async def routable(self, mint: str) -> bool: ...


class LaunchFeed(Protocol):
    async def run(self, sink: Callable[[LaunchEvent], Awaitable[None]]) -> None: ...


class HotSnipes(Protocol):
    def owns(self, target: SnipeTarget) -> bool: ...
    async def arm(
        self, user_id: int, wallet_id: int | None, *, lamports: int, slippage_bps: int,
        fee_level: FeeLevel, mint: str | None = None, creator: str | None = None,
        launch_filter: LaunchFilter | None = None, ttl_s: float | None = None,
    ) -> SnipeTarget: ...  # fmt: skip
    async def cancel(self, user_id: int, target_id: int) -> SnipeTarget: ...
