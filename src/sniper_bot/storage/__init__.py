"""Persistence: PostgreSQL (production) or SQLite (embedded default), Alembic migrations,
repositories that return ``sniper_bot.domain.entities`` values.

    db = Database(settings.database_url, pool_size=settings.database_connection_limit)
    await db.connect()
    if not await db.is_up_to_date():
        await db.upgrade()
    repos = Repositories.build(db)
"""

from __future__ import annotations

from . import snipes as snipes  # registers "SnipeTarget" on Base.metadata (migrations)
from . import withdrawals as withdrawals  # registers "Withdrawal" on Base.metadata
from .database import Database
from .errors import (
    DatabaseUnavailable,
    DuplicateWallet,
    InvalidSetting,
    NotFound,
    StaleOrderState,
    WalletBusy,
)
from .repositories import (
    HoneypotCheckRepository,
    OrderRepository,
    PositionRepository,
    Repositories,
    SessionRepository,
    SettingsRepository,
    TradeRepository,
    UserRepository,
    WalletRepository,
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
    "StaleOrderState",
    "TradeRepository",
    "UserRepository",
    "WalletBusy",
    "WalletRepository",
    "default_sqlite_url",
    "parse_database_url",
]
