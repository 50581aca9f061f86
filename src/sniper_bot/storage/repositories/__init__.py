"""Repositories: each method is one transaction and returns frozen domain entities."""

from __future__ import annotations

from dataclasses import dataclass

from sniper_bot.storage.database import Database

from .base import Clock, utcnow
from .honeypot import HoneypotCheckRepository
from .orders import MUTABLE_ORDER_FIELDS, OrderRepository
from .positions import PositionRepository, TradeRepository
from .sessions import SessionRepository
from .settings import SettingsRepository
from .snipes import SnipeNotArmed, SnipeTargetRepository
from .users import UserRepository
from .wallets import WalletRepository
from .withdrawals import WithdrawalRepository

__all__ = [
    "MUTABLE_ORDER_FIELDS",
    "HoneypotCheckRepository",
    "OrderRepository",
    "PositionRepository",
    "Repositories",
    "SessionRepository",
    "SettingsRepository",
    "SnipeNotArmed",
    "SnipeTargetRepository",
    "TradeRepository",
    "UserRepository",
    "WalletRepository",
    "WithdrawalRepository",
]


@dataclass(frozen=True, slots=True)
class Repositories:
    """Every repository over one ``Database`` and one clock (built by the composition root)."""

    users: UserRepository
    wallets: WalletRepository
    settings: SettingsRepository
    orders: OrderRepository
    positions: PositionRepository
    trades: TradeRepository
    honeypot_checks: HoneypotCheckRepository
    sessions: SessionRepository
    snipes: SnipeTargetRepository
    withdrawals: WithdrawalRepository

    @classmethod
    def build(cls, db: Database, clock: Clock = utcnow) -> Repositories:
        return cls(
            users=UserRepository(db, clock),
            wallets=WalletRepository(db, clock),
            settings=SettingsRepository(db, clock),
            orders=OrderRepository(db, clock),
            positions=PositionRepository(db, clock),
            trades=TradeRepository(db, clock),
            honeypot_checks=HoneypotCheckRepository(db, clock),
            sessions=SessionRepository(db, clock),
            snipes=SnipeTargetRepository(db, clock),
            withdrawals=WithdrawalRepository(db, clock),
        )
