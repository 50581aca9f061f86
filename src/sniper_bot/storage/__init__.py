"""Persistence: PostgreSQL (production) or SQLite (embedded default), Alembic migrations,
repositories that return ``sniper_bot.domain.entities`` values.

    db = Database(settings.database_url, pool_size=settings.database_connection_limit)
    await db.connect()
    if not await db.is_up_to_date():
        await db.upgrade()
    repos = Repositories.build(db)
"""

from __future__ import annotations

from .database import Database
from .errors import (
    DatabaseUnavailable,
    DuplicateWallet,
    InvalidSetting,
    NotFound,
    StaleOrderState,
    StaleSnipeState,
    StaleWithdrawalState,
    WalletBusy,
)
from .repositories import (
    HoneypotCheckRepository,
    OrderRepository,
    PositionRepository,
    Repositories,
    SessionRepository,
    SettingsRepository,
    SnipeNotArmed,
    SnipeTargetRepository,
    TradeRepository,
    UserRepository,
    WalletRepository,
    WithdrawalRepository,
)
from .urls import DatabaseUrl, default_sqlite_url, parse_database_url

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "DatabaseUrl",
    "DuplicateWallet",
    "HoneypotCheckRepository",
    "InvalidSetting",
    "NotFound",
    "OrderRepository",
    "PositionRepository",
    "Repositories",
    "SessionRepository",
    "SettingsRepository",
    "SnipeNotArmed",
    "SnipeTargetRepository",
    "StaleOrderState",
    "StaleSnipeState",
    "StaleWithdrawalState",
    "TradeRepository",
    "UserRepository",
    "WalletBusy",
    "WalletRepository",
    "WithdrawalRepository",
    "default_sqlite_url",
    "parse_database_url",
]
