"""What the facade needs from the services below it, as small Protocols (the real ones fit).

``ControlDeps`` holds these, so the seam between the facade and the services is typed without the
facade depending on how a service is built. The real implementations:

* ``Users``, ``UserSettingsStore``, ``OrderStore``, ``PositionStore``: the storage repositories
  (``storage.repositories``: users, settings, orders, positions).
* ``Wallets``: ``wallet.service.WalletService``; ``Withdrawals``: ``wallet.withdrawals.
  WithdrawalService``.
* ``Trading``: ``trading.service.TradingService``; ``Snipes``: ``engine.snipe.SnipeEngine``.
* ``ChainReader``: ``chain.rpc.SolanaRpc``; the quoting port is ``ports.venue.Quoter``.
* ``RiskReports``: ``safety.service.RiskService`` (a ``ports.risk.RiskChecker`` whose verdict is the
  full ``domain.risk.RiskReport``, which the token card renders finding by finding).
* ``SettledSnipe``, ``ExitPosition``, ``ExitVerdict``: what the notifiers hand over
  (``engine.snipe.SnipeResult``, ``domain.entities.Position``, ``domain.exits.ExitDecision``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from solders.account import Account
from solders.pubkey import Pubkey

from sniper_bot.chain.endpoint_state import Read
from sniper_bot.chain.types import TokenAccountInfo
from sniper_bot.domain.entities import Order, Position, User, UserSettings
from sniper_bot.domain.exits import ExitReason, ExitRule
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchFilter, SnipeStatus, SnipeTarget
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.domain.risk import RiskReport
from sniper_bot.domain.withdrawal import WithdrawalRecord
from sniper_bot.ports.risk import RiskChecker
from sniper_bot.wallet.keys import ExportedKey
from sniper_bot.wallet.service import WalletView
from sniper_bot.wallet.withdrawals import WithdrawalPlan

__all__ = [
    "ChainReader",
    "ExitPosition",
    "ExitVerdict",
    "OrderStore",
    "PositionStore",
    "RiskReports",
    "SettledSnipe",
    "Snipes",
    "TradeProgress",
    "Trading",
    "UserSettingsStore",
    "Users",
    "Wallets",
    "Withdrawals",
]

# The executor's progress events: (event name, the order as it is now).
TradeProgress = Callable[[str, Order], Awaitable[None]]


class Users(Protocol):
    async def get_or_create(self, telegram_id: int, username: str | None) -> User: ...
    async def get(self, user_id: int) -> User | None: ...


class UserSettingsStore(Protocol):
    async def get(self, user_id: int) -> UserSettings: ...
    async def update(self, user_id: int, /, **changes: object) -> UserSettings: ...


class OrderStore(Protocol):
    async def get(self, user_id: int, order_id: str) -> Order | None: ...
    async def get_by_id(self, order_id: str) -> Order | None: ...
    async def list_for_user(
        self, user_id: int, statuses: Iterable[OrderStatus] | None = None, limit: int = 20
    ) -> list[Order]: ...
    async def mark_notified(
        self, order_id: str, at: datetime, *, user_id: int | None = None
    ) -> bool: ...


class PositionStore(Protocol):
    async def list_open(self, user_id: int) -> list[Position]: ...
    async def get_open_by_id(self, user_id: int, position_id: int) -> Position | None: ...
    async def set_exit_plan(
        self, user_id: int, position_id: int, plan: ExitRule | None
    ) -> Position: ...


class Wallets(Protocol):
    async def list_wallets(self, telegram_id: int) -> list[WalletView]: ...
    async def active_wallet(self, telegram_id: int) -> WalletView: ...
    async def create_wallet(
        self, telegram_id: int, *, label: str | None = None, username: str | None = None
    ) -> WalletView: ...
    async def import_wallet(
        self,
        telegram_id: int,
        secret_text: str,
        *,
        label: str | None = None,
        username: str | None = None,
    ) -> WalletView: ...
    async def set_active(self, telegram_id: int, wallet_id: int) -> WalletView: ...
    async def set_pin(
        self, telegram_id: int, new_pin: str, *, current_pin: str | None = None
    ) -> None: ...
    async def export_key(self, telegram_id: int, wallet_id: int, pin: str) -> ExportedKey: ...


class Trading(Protocol):
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
        progress: TradeProgress | None = None,
    ) -> Order: ...
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
        progress: TradeProgress | None = None,
    ) -> Order: ...


class ChainReader(Protocol):
    async def read_balance(self, pubkey: Pubkey) -> Read[int]: ...
    async def get_balance(self, pubkey: Pubkey) -> int: ...
    async def read_account_info(self, pubkey: Pubkey) -> Read[Account | None]: ...
    async def get_account_info(self, pubkey: Pubkey) -> Account | None: ...
    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]: ...
    async def get_multiple_accounts_processed(
        self, pubkeys: Sequence[Pubkey]
    ) -> list[Account | None]: ...
    async def get_token_accounts_by_owner(
        self, owner: Pubkey, program_id: Pubkey
    ) -> list[TokenAccountInfo]: ...


class RiskReports(RiskChecker, Protocol):
    async def check(self, mint: str, *, force: bool = False) -> RiskReport: ...


class Withdrawals(Protocol):
    async def preview(
        self,
        telegram_id: int,
        destination_text: str,
        amount_text: str,
        mint_text: str | None = None,
        *,
        wallet_id: int | None = None,
    ) -> WithdrawalPlan: ...
    async def submit(
        self,
        telegram_id: int,
        destination_text: str,
        amount_text: str,
        mint_text: str | None,
        pin: str,
        idempotency_key: str,
        *,
        wallet_id: int | None = None,
    ) -> WithdrawalRecord: ...
    async def shown(self, telegram_id: int, withdrawal_id: str, *, final: bool) -> None: ...


class Snipes(Protocol):
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
    ) -> SnipeTarget: ...
    async def arm_creator(
        self,
        user_id: int,
        wallet_id: int,
        creator: str,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        ttl_s: float | None = None,
    ) -> SnipeTarget: ...
    async def arm_filter(
        self,
        user_id: int,
        wallet_id: int,
        launch_filter: LaunchFilter,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        ttl_s: float | None = None,
    ) -> SnipeTarget: ...
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
    ) -> SnipeTarget: ...
    async def list_for_user(
        self, user_id: int, statuses: tuple[SnipeStatus, ...] | None = None, limit: int = 20
    ) -> list[SnipeTarget]: ...
    async def cancel(self, user_id: int, target_id: int) -> SnipeTarget: ...


class SettledSnipe(Protocol):
    @property
    def target(self) -> SnipeTarget: ...
    @property
    def order(self) -> Order | None: ...


class ExitPosition(Protocol):
    @property
    def token_mint(self) -> str: ...


class ExitVerdict(Protocol):
    @property
    def reason(self) -> ExitReason: ...
    @property
    def value_lamports(self) -> int: ...
    @property
    def cost_basis_lamports(self) -> int: ...
    @property
    def step(self) -> int | None: ...
