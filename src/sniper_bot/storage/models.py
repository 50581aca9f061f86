"""SQLAlchemy tables. Names follow the runbook (Prisma style): quoted PascalCase tables,
camelCase columns, except ``"HoneypotCheck"`` whose columns the runbook queries in snake_case.

Rows never leave ``storage``: repositories turn them into ``sniper_bot.domain.entities``.
Amounts are BIGINT base units; enums are VARCHAR (no native PG enum types to migrate).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sniper_bot.domain.entities import OrderKind, PositionStatus
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import NonceStatus, SnipeStatus
from sniper_bot.domain.limits import DcaStatus, LimitStatus, TriggerKind
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.domain.withdrawal import WithdrawalStatus
from sniper_bot.storage.types import BigIntPK, JSONType, UTCDateTime

__all__ = [
    "Base",
    "DcaPlanRow",
    "HoneypotCheckRow",
    "LimitOrderRow",
    "PositionRow",
    "SessionRow",
    "SnipeTargetRow",
    "SniperOrderRow",
    "TradeRow",
    "UserRow",
    "UserSettingsRow",
    "WalletRow",
    "WithdrawalRow",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


def _now_default() -> Any:
    return func.now()


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    __tablename__ = "User"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column("telegramId", BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column("isAdmin", Boolean, server_default=text("false"))
    pin_hash: Mapped[str | None] = mapped_column("pinHash", Text)
    pin_failed_attempts: Mapped[int] = mapped_column(
        "pinFailedAttempts", Integer, server_default=text("0")
    )
    pin_locked_until: Mapped[datetime | None] = mapped_column("pinLockedUntil", UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=_now_default()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=_now_default()
    )


class WalletRow(Base):
    __tablename__ = "Wallet"
    __table_args__ = (
        # At most one active wallet per user (a partial unique index on both backends).
        Index(
            "uq_wallet_one_active_per_user",
            "userId",
            unique=True,
            postgresql_where=text('"isActive"'),
            sqlite_where=text('"isActive"'),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE"), index=True
    )
    public_key: Mapped[str] = mapped_column("publicKey", String(44), unique=True)
    label: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column("isActive", Boolean, server_default=text("false"))
    key_id: Mapped[str] = mapped_column("keyId", String(64), index=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=_now_default()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=_now_default()
    )


class UserSettingsRow(Base):
    __tablename__ = "UserSettings"

    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE"), primary_key=True
    )
    slippage_bps: Mapped[int] = mapped_column("slippageBps", Integer, server_default=text("100"))
    snipe_slippage_bps: Mapped[int] = mapped_column(
        "snipeSlippageBps", Integer, server_default=text("1500")
    )
    priority_fee_level: Mapped[FeeLevel] = mapped_column(
        "priorityFeeLevel", _enum(FeeLevel), server_default=text("'MEDIUM'")
    )
    max_priority_fee_lamports: Mapped[int] = mapped_column(
        "maxPriorityFeeLamports", BigInteger, server_default=text("1000000")
    )
    buy_presets_lamports: Mapped[list[int]] = mapped_column("buyPresetsLamports", JSONType)
    confirm_trades: Mapped[bool] = mapped_column(  # default false since 0015_notify_prefs
        "confirmTrades", Boolean, server_default=text("false")
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=_now_default()
    )
    # automatic exits (0004_exit_settings); NULL = rule off
    take_profit_pct: Mapped[int | None] = mapped_column("takeProfitPct", Integer)
    stop_loss_pct: Mapped[int | None] = mapped_column("stopLossPct", Integer)
    trailing_stop_pct: Mapped[int | None] = mapped_column("trailingStopPct", Integer)
    max_hold_minutes: Mapped[int | None] = mapped_column("maxHoldMinutes", Integer)
    # how orders are sent and routed (0008_trade_settings)
    mev_protection: Mapped[bool] = mapped_column(
        "mevProtection", Boolean, server_default=text("false")
    )
    jito_tip_lamports: Mapped[int | None] = mapped_column("jitoTipLamports", BigInteger)
    tip_percentile: Mapped[int | None] = mapped_column("tipPercentile", Integer)
    force_jupiter: Mapped[bool] = mapped_column(
        "forceJupiter", Boolean, server_default=text("false")
    )
    # simulated executor for this user (0010_limit_dca)
    paper_trading: Mapped[bool] = mapped_column(
        "paperTrading", Boolean, server_default=text("false")
    )
    # exit ladder and "sell when the creator sells" (0014_exit_ladders)
    exit_ladder: Mapped[list[list[int]] | None] = mapped_column("exitLadder", JSONType)
    sell_with_creator: Mapped[bool] = mapped_column(
        "sellWithCreator", Boolean, server_default=text("false")
    )
    # which pushed messages the user gets (0015_notify_prefs); true = sent
    notify_fills: Mapped[bool] = mapped_column("notifyFills", Boolean, server_default=text("true"))
    notify_exits: Mapped[bool] = mapped_column("notifyExits", Boolean, server_default=text("true"))
    notify_snipe_misses: Mapped[bool] = mapped_column(
        "notifySnipeMisses", Boolean, server_default=text("true")
    )
    notify_copies: Mapped[bool] = mapped_column(
        "notifyCopies", Boolean, server_default=text("true")
    )


class SniperOrderRow(Base):
    __tablename__ = "SniperOrder"
    __table_args__ = (
        UniqueConstraint("userId", "idempotencyKey", name="uq_sniper_order_user_idempotency"),
        Index("ix_SniperOrder_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int | None] = mapped_column(
        "walletId", BigInteger, ForeignKey("Wallet.id", ondelete="SET NULL")
    )
    kind: Mapped[OrderKind] = mapped_column(_enum(OrderKind))
    token_mint: Mapped[str] = mapped_column("tokenMint", String(44))
    side: Mapped[OrderSide] = mapped_column(_enum(OrderSide))
    amount: Mapped[int] = mapped_column(BigInteger)
    slippage_bps: Mapped[int] = mapped_column("slippageBps", Integer)
    priority_fee: Mapped[FeeLevel] = mapped_column("priorityFee", _enum(FeeLevel))
    priority_fee_lamports: Mapped[int] = mapped_column(
        "priorityFeeLamports", BigInteger, server_default=text("0")
    )
    status: Mapped[OrderStatus] = mapped_column(
        _enum(OrderStatus), server_default=text("'PENDING'")
    )
    signature: Mapped[str | None] = mapped_column(String(88), unique=True)
    last_valid_block_height: Mapped[int | None] = mapped_column("lastValidBlockHeight", BigInteger)
    signed_tx: Mapped[bytes | None] = mapped_column("signedTx", LargeBinary)
    quote: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    idempotency_key: Mapped[str] = mapped_column("idempotencyKey", String(128))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    in_amount: Mapped[int | None] = mapped_column("inAmount", BigInteger)
    out_amount: Mapped[int | None] = mapped_column("outAmount", BigInteger)
    fee_lamports: Mapped[int | None] = mapped_column("feeLamports", BigInteger)
    locked_by: Mapped[str | None] = mapped_column("lockedBy", String(128))
    locked_until: Mapped[datetime | None] = mapped_column("lockedUntil", UTCDateTime)
    # When the owner was told the final result (NULL: still owed; see the order outbox).
    notified_at: Mapped[datetime | None] = mapped_column("notifiedAt", UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=_now_default()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=_now_default()
    )
    # The runbook's failed-orders query says ``created_at``; a stored generated copy keeps it
    # working as written. Read-only: never insert or update it.
    created_at_alias: Mapped[datetime | None] = mapped_column(
        "created_at", UTCDateTime, Computed('"createdAt"', persisted=True)
    )


# The runbook's index, exactly: ("userId", status, "createdAt" DESC).
Index(
    "idx_sniper_order_user_status_created",
    SniperOrderRow.user_id,
    SniperOrderRow.status,
    SniperOrderRow.created_at.desc(),
)
# The order outbox's query: final results still owed to their owners (a few rows at most).
Index(
    "ix_SniperOrder_unnotified",
    SniperOrderRow.updated_at,
    postgresql_where=SniperOrderRow.notified_at.is_(None),
    sqlite_where=SniperOrderRow.notified_at.is_(None),
)


class PositionRow(Base):
    __tablename__ = "Position"
    __table_args__ = (
        UniqueConstraint("walletId", "tokenMint", name="uq_position_wallet_mint"),
        Index("ix_Position_userId_status", "userId", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int] = mapped_column(
        "walletId", BigInteger, ForeignKey("Wallet.id", ondelete="CASCADE")
    )
    token_mint: Mapped[str] = mapped_column("tokenMint", String(44))
    token_amount: Mapped[int] = mapped_column("tokenAmount", BigInteger, server_default=text("0"))
    cost_basis_lamports: Mapped[int] = mapped_column(
        "costBasisLamports", BigInteger, server_default=text("0")
    )
    realized_pnl_lamports: Mapped[int] = mapped_column(
        "realizedPnlLamports", BigInteger, server_default=text("0")
    )
    status: Mapped[PositionStatus] = mapped_column(
        _enum(PositionStatus), server_default=text("'OPEN'")
    )
    opened_at: Mapped[datetime] = mapped_column(
        "openedAt", UTCDateTime, server_default=_now_default()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=_now_default()
    )
    # this position's own exit plan (0014_exit_ladders); NULL = the owner's defaults
    exit_plan: Mapped[dict[str, Any] | None] = mapped_column("exitPlan", JSONType)


class TradeRow(Base):
    __tablename__ = "Trade"
    __table_args__ = (Index("ix_Trade_userId_createdAt", "userId", "createdAt"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(
        "orderId", String(36), ForeignKey("SniperOrder.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int | None] = mapped_column(
        "walletId", BigInteger, ForeignKey("Wallet.id", ondelete="SET NULL")
    )
    token_mint: Mapped[str] = mapped_column("tokenMint", String(44))
    side: Mapped[OrderSide] = mapped_column(_enum(OrderSide))
    in_amount: Mapped[int] = mapped_column("inAmount", BigInteger)
    out_amount: Mapped[int] = mapped_column("outAmount", BigInteger)
    fee_lamports: Mapped[int] = mapped_column("feeLamports", BigInteger, server_default=text("0"))
    signature: Mapped[str] = mapped_column(String(88))
    slot: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=_now_default()
    )


class HoneypotCheckRow(Base):
    __tablename__ = "HoneypotCheck"
    __table_args__ = (Index("ix_HoneypotCheck_token_mint_checked_at", "token_mint", "checked_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    token_mint: Mapped[str] = mapped_column(String(44))
    risk_score: Mapped[int] = mapped_column(Integer)
    is_honeypot: Mapped[bool] = mapped_column(Boolean)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())


class SessionRow(Base):
    __tablename__ = "Session"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    expires_at: Mapped[datetime] = mapped_column("expiresAt", UTCDateTime, index=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class SnipeTargetRow(Base):
    __tablename__ = "SnipeTarget"
    __table_args__ = (
        Index("ix_SnipeTarget_tokenMint_status", "tokenMint", "status"),
        Index("ix_SnipeTarget_userId_status", "userId", "status"),
        Index("ix_SnipeTarget_status_expiresAt", "status", "expiresAt"),
        # One selector at least (0009): a mint, a creator (dev wallet) or a launch filter.
        CheckConstraint(
            '"tokenMint" IS NOT NULL OR creator IS NOT NULL OR "launchFilter" IS NOT NULL',
            name="selector",
        ),
        # A durable nonce account serves one armed target at a time (its nonce is its order).
        Index(
            "ix_SnipeTarget_nonceAccount_armed",
            "nonceAccount",
            unique=True,
            sqlite_where=text("status = 'ARMED'"),
            postgresql_where=text("status = 'ARMED'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int] = mapped_column(
        "walletId", BigInteger, ForeignKey("Wallet.id", ondelete="CASCADE")
    )
    # NULL for a creator/filter target until it fires (then the mint it fired on)
    token_mint: Mapped[str | None] = mapped_column("tokenMint", String(44))
    creator: Mapped[str | None] = mapped_column(String(44))
    launch_filter: Mapped[str | None] = mapped_column("launchFilter", Text)  # LaunchFilter JSON
    amount_lamports: Mapped[int] = mapped_column("amountLamports", BigInteger)
    slippage_bps: Mapped[int] = mapped_column("slippageBps", Integer)
    priority_fee: Mapped[FeeLevel] = mapped_column("priorityFee", _enum(FeeLevel))
    nonce_account: Mapped[str | None] = mapped_column("nonceAccount", String(44))
    nonce_value: Mapped[str | None] = mapped_column("nonceValue", String(44))
    nonce_status: Mapped[NonceStatus | None] = mapped_column("nonceStatus", _enum(NonceStatus))
    status: Mapped[SnipeStatus] = mapped_column(_enum(SnipeStatus), server_default=text("'ARMED'"))
    order_id: Mapped[str | None] = mapped_column(
        "orderId", String(36), ForeignKey("SniperOrder.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column("expiresAt", UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column("firedAt", UTCDateTime)
    # armed on paper (0015_notify_prefs): fills in the paper book; its fill's id (no FK)
    paper: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    paper_order_id: Mapped[str | None] = mapped_column("paperOrderId", String(64))


class WithdrawalRow(Base):
    __tablename__ = "Withdrawal"
    __table_args__ = (
        UniqueConstraint("userId", "idempotencyKey", name="uq_withdrawal_user_idempotency"),
        Index("ix_Withdrawal_userId_createdAt", "userId", "createdAt"),
        Index("ix_Withdrawal_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int] = mapped_column(
        "walletId", BigInteger, ForeignKey("Wallet.id", ondelete="CASCADE")
    )
    asset: Mapped[str] = mapped_column(String(44))
    token_program: Mapped[str | None] = mapped_column("tokenProgram", String(44))
    destination: Mapped[str] = mapped_column(String(44))
    amount: Mapped[int] = mapped_column(BigInteger)
    decimals: Mapped[int] = mapped_column(Integer)
    fee_lamports: Mapped[int] = mapped_column("feeLamports", BigInteger)
    rent_lamports: Mapped[int] = mapped_column("rentLamports", BigInteger, server_default=text("0"))
    status: Mapped[WithdrawalStatus] = mapped_column(
        _enum(WithdrawalStatus), server_default=text("'PENDING'")
    )
    signature: Mapped[str | None] = mapped_column(String(88), unique=True)
    last_valid_block_height: Mapped[int | None] = mapped_column("lastValidBlockHeight", BigInteger)
    signed_tx: Mapped[bytes | None] = mapped_column("signedTx", LargeBinary)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    idempotency_key: Mapped[str] = mapped_column("idempotencyKey", String(128))
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=func.now()
    )
    # When the owner was told the final result; NULL until then (claimed before the send).
    notified_at: Mapped[datetime | None] = mapped_column("notifiedAt", UTCDateTime)


class LimitOrderRow(Base):
    """A limit order (0010): OPEN until its trigger fires one order (key ``limit:<id>``)."""

    __tablename__ = "LimitOrder"
    __table_args__ = (
        Index("ix_LimitOrder_status_tokenMint", "status", "tokenMint"),
        Index("ix_LimitOrder_userId_status", "userId", "status"),
        # a buy spends lamports, a sell sells a percentage of the position
        CheckConstraint(
            '(side = \'BUY\' AND "amountLamports" > 0 AND "sellPct" IS NULL) OR '
            '(side = \'SELL\' AND "sellPct" BETWEEN 1 AND 100 AND "amountLamports" IS NULL)',
            name="amount",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int] = mapped_column(
        "walletId", BigInteger, ForeignKey("Wallet.id", ondelete="CASCADE")
    )
    token_mint: Mapped[str] = mapped_column("tokenMint", String(44))
    side: Mapped[OrderSide] = mapped_column(_enum(OrderSide))
    trigger_kind: Mapped[TriggerKind] = mapped_column("triggerKind", _enum(TriggerKind))
    # PRICE: micro-lamports per whole token; MCAP: lamports (sniper_bot.domain.limits)
    trigger_value: Mapped[int] = mapped_column("triggerValue", BigInteger)
    amount_lamports: Mapped[int | None] = mapped_column("amountLamports", BigInteger)
    sell_pct: Mapped[int | None] = mapped_column("sellPct", Integer)
    decimals: Mapped[int] = mapped_column(Integer)
    slippage_bps: Mapped[int] = mapped_column("slippageBps", Integer)
    priority_fee: Mapped[FeeLevel] = mapped_column("priorityFee", _enum(FeeLevel))
    status: Mapped[LimitStatus] = mapped_column(_enum(LimitStatus), server_default=text("'OPEN'"))
    order_id: Mapped[str | None] = mapped_column(
        "orderId", String(36), ForeignKey("SniperOrder.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column("expiresAt", UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column("firedAt", UTCDateTime)
    # armed on paper (0015_notify_prefs): fills in the paper book; its fill's id (no FK)
    paper: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    paper_order_id: Mapped[str | None] = mapped_column("paperOrderId", String(64))


class DcaPlanRow(Base):
    """A DCA plan (0010): ``parts`` orders every ``intervalSeconds``; part k: ``dca:<id>:<k>``."""

    __tablename__ = "DcaPlan"
    __table_args__ = (
        Index("ix_DcaPlan_status_nextAt", "status", "nextAt"),
        Index("ix_DcaPlan_userId_status", "userId", "status"),
        CheckConstraint(
            '"totalAmount" > 0 AND parts >= 1 AND "partsDone" BETWEEN 0 AND parts AND '
            '"intervalSeconds" > 0',
            name="plan",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int] = mapped_column(
        "walletId", BigInteger, ForeignKey("Wallet.id", ondelete="CASCADE")
    )
    token_mint: Mapped[str] = mapped_column("tokenMint", String(44))
    side: Mapped[OrderSide] = mapped_column(_enum(OrderSide))
    # lamports for BUY, token base units for SELL
    total_amount: Mapped[int] = mapped_column("totalAmount", BigInteger)
    parts: Mapped[int] = mapped_column(Integer)
    parts_done: Mapped[int] = mapped_column("partsDone", Integer, server_default=text("0"))
    interval_seconds: Mapped[int] = mapped_column("intervalSeconds", Integer)
    # the band (micro-lamports per whole token); outside it the plan pauses; NULL: no bound
    band_min_price: Mapped[int | None] = mapped_column("bandMinPrice", BigInteger)
    band_max_price: Mapped[int | None] = mapped_column("bandMaxPrice", BigInteger)
    decimals: Mapped[int] = mapped_column(Integer)
    slippage_bps: Mapped[int] = mapped_column("slippageBps", Integer)
    priority_fee: Mapped[FeeLevel] = mapped_column("priorityFee", _enum(FeeLevel))
    status: Mapped[DcaStatus] = mapped_column(_enum(DcaStatus), server_default=text("'ACTIVE'"))
    next_at: Mapped[datetime] = mapped_column("nextAt", UTCDateTime)
    last_order_id: Mapped[str | None] = mapped_column(
        "lastOrderId", String(36), ForeignKey("SniperOrder.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=func.now()
    )
    # armed on paper (0015_notify_prefs): fills in the paper book; its fill's id (no FK)
    paper: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    paper_order_id: Mapped[str | None] = mapped_column("paperOrderId", String(64))


class PaperAccountRow(Base):
    """A user's simulated SOL balance for paper trading (0011_paper); nothing here is on chain."""

    __tablename__ = "PaperAccount"

    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE"), primary_key=True
    )
    lamports: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=func.now()
    )


class PaperPositionRow(Base):
    """A simulated position (average cost, as ``PositionRow``), one per user and mint."""

    __tablename__ = "PaperPosition"
    __table_args__ = (
        UniqueConstraint("userId", "tokenMint", name="uq_paper_position_user_mint"),
        Index("ix_PaperPosition_userId_status", "userId", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    token_mint: Mapped[str] = mapped_column("tokenMint", String(44))
    token_amount: Mapped[int] = mapped_column("tokenAmount", BigInteger, server_default=text("0"))
    cost_basis_lamports: Mapped[int] = mapped_column(
        "costBasisLamports", BigInteger, server_default=text("0")
    )
    realized_pnl_lamports: Mapped[int] = mapped_column(
        "realizedPnlLamports", BigInteger, server_default=text("0")
    )
    status: Mapped[PositionStatus] = mapped_column(
        _enum(PositionStatus), server_default=text("'OPEN'")
    )
    opened_at: Mapped[datetime] = mapped_column("openedAt", UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=func.now()
    )


class PaperTradeRow(Base):
    """A simulated fill: idempotent per (user, idempotency key), so a double-tap fills once."""

    __tablename__ = "PaperTrade"
    __table_args__ = (
        UniqueConstraint("userId", "idempotencyKey", name="uq_paper_trade_user_key"),
        Index("ix_PaperTrade_userId_createdAt", "userId", "createdAt"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    idempotency_key: Mapped[str] = mapped_column("idempotencyKey", String(128))
    token_mint: Mapped[str] = mapped_column("tokenMint", String(44))
    side: Mapped[OrderSide] = mapped_column(_enum(OrderSide))
    in_amount: Mapped[int] = mapped_column("inAmount", BigInteger)
    out_amount: Mapped[int] = mapped_column("outAmount", BigInteger)
    fee_lamports: Mapped[int] = mapped_column("feeLamports", BigInteger, server_default=text("0"))
    venue: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )


class CopyFollowRow(Base):
    """A followed leader wallet (0012): its buys and sells are mirrored with the user's rules."""

    __tablename__ = "CopyFollow"
    __table_args__ = (
        Index("ix_CopyFollow_status_leaderWallet", "status", "leaderWallet"),
        Index("ix_CopyFollow_userId_status", "userId", "status"),
        CheckConstraint(
            "(mode = 'FIXED' OR (mode = 'BPS' AND \"sizeValue\" <= 10000)) AND "
            '"sizeValue" > 0 AND ("maxPerTrade" IS NULL OR "maxPerTrade" > 0) AND '
            '("maxPerDay" IS NULL OR "maxPerDay" > 0)',
            name="size",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        "userId", BigInteger, ForeignKey("User.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int] = mapped_column(
        "walletId", BigInteger, ForeignKey("Wallet.id", ondelete="CASCADE")
    )
    leader_wallet: Mapped[str] = mapped_column("leaderWallet", String(44))
    mode: Mapped[str] = mapped_column(String(16))  # domain.copy.CopyMode
    size_value: Mapped[int] = mapped_column("sizeValue", BigInteger)
    max_per_trade: Mapped[int | None] = mapped_column("maxPerTrade", BigInteger)
    max_per_day: Mapped[int | None] = mapped_column("maxPerDay", BigInteger)
    sell_with_leader: Mapped[bool] = mapped_column(
        "sellWithLeader", Boolean, server_default=text("false")
    )
    slippage_bps: Mapped[int] = mapped_column("slippageBps", Integer)
    priority_fee: Mapped[FeeLevel] = mapped_column("priorityFee", _enum(FeeLevel))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'ACTIVE'"))
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        "updatedAt", UTCDateTime, server_default=func.now()
    )


class CopyTradeRow(Base):
    """One leader trade seen for one follow (0012): unique per (follow, leader signature); the
    day's spent lamports are its PLACED buys' sum."""

    __tablename__ = "CopyTrade"
    __table_args__ = (
        UniqueConstraint("followId", "leaderSignature", name="uq_copy_trade_follow_signature"),
        Index("ix_CopyTrade_followId_day", "followId", "day"),
        CheckConstraint('lamports >= 0 AND "tokenAmount" >= 0', name="amounts"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    follow_id: Mapped[int] = mapped_column(
        "followId", BigInteger, ForeignKey("CopyFollow.id", ondelete="CASCADE")
    )
    leader_signature: Mapped[str] = mapped_column("leaderSignature", String(88))
    token_mint: Mapped[str] = mapped_column("tokenMint", String(44))
    side: Mapped[OrderSide] = mapped_column(_enum(OrderSide))
    lamports: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    token_amount: Mapped[int] = mapped_column("tokenAmount", BigInteger, server_default=text("0"))
    day: Mapped[str] = mapped_column(String(10))  # UTC date, YYYY-MM-DD
    status: Mapped[str] = mapped_column(String(16))  # PLACED | SKIPPED | FAILED
    order_id: Mapped[str | None] = mapped_column(
        "orderId", String(36), ForeignKey("SniperOrder.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )


class BroadcastRow(Base):
    """An admin's /broadcast (0013): ``cursor`` is the last "User".id claimed for it."""

    __tablename__ = "Broadcast"
    __table_args__ = (Index("ix_Broadcast_status", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message: Mapped[str] = mapped_column("text", Text)
    created_by: Mapped[int] = mapped_column("createdBy", BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'RUNNING'"))
    total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cursor: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    sent: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    blocked: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    failed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", UTCDateTime, server_default=func.now()
    )
    finished_at: Mapped[datetime | None] = mapped_column("finishedAt", UTCDateTime)
