"""Initial schema: User, Wallet, UserSettings, SniperOrder, Position, Trade, HoneypotCheck, Session.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-29

Written to run on PostgreSQL and SQLite alike: ``sa.func.now()`` defaults (never the literal
``now()``, which SQLite rejects on insert), batch operations, VARCHAR enums.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "HoneypotCheck",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("token_mint", sa.String(length=44), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("is_honeypot", sa.Boolean(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "checked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_HoneypotCheck")),
    )
    with op.batch_alter_table("HoneypotCheck", schema=None) as batch_op:
        batch_op.create_index(
            "ix_HoneypotCheck_token_mint_checked_at", ["token_mint", "checked_at"], unique=False
        )

    op.create_table(
        "User",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("telegramId", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("isAdmin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("pinHash", sa.Text(), nullable=True),
        sa.Column("pinFailedAttempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("pinLockedUntil", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updatedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_User")),
        sa.UniqueConstraint("telegramId", name=op.f("uq_User_telegramId")),
    )
    op.create_table(
        "Session",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("userId", sa.BigInteger(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("expiresAt", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_Session_userId_User"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_Session")),
    )
    with op.batch_alter_table("Session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_Session_expiresAt"), ["expiresAt"], unique=False)
        batch_op.create_index(batch_op.f("ix_Session_userId"), ["userId"], unique=False)

    op.create_table(
        "UserSettings",
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("slippageBps", sa.Integer(), server_default=sa.text("100"), nullable=False),
        sa.Column("snipeSlippageBps", sa.Integer(), server_default=sa.text("1500"), nullable=False),
        sa.Column(
            "priorityFeeLevel",
            sa.String(length=16),
            server_default=sa.text("'MEDIUM'"),
            nullable=False,
        ),
        sa.Column(
            "maxPriorityFeeLamports",
            sa.BigInteger(),
            server_default=sa.text("1000000"),
            nullable=False,
        ),
        sa.Column(
            "buyPresetsLamports",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("confirmTrades", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "updatedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_UserSettings_userId_User"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("userId", name=op.f("pk_UserSettings")),
    )
    op.create_table(
        "Wallet",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("publicKey", sa.String(length=44), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("keyId", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updatedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_Wallet_userId_User"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_Wallet")),
        sa.UniqueConstraint("publicKey", name=op.f("uq_Wallet_publicKey")),
    )
    with op.batch_alter_table("Wallet", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_Wallet_keyId"), ["keyId"], unique=False)
        batch_op.create_index(batch_op.f("ix_Wallet_userId"), ["userId"], unique=False)
        batch_op.create_index(
            "uq_wallet_one_active_per_user",
            ["userId"],
            unique=True,
            postgresql_where=sa.text('"isActive"'),
            sqlite_where=sa.text('"isActive"'),
        )

    op.create_table(
        "Position",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("walletId", sa.BigInteger(), nullable=False),
        sa.Column("tokenMint", sa.String(length=44), nullable=False),
        sa.Column("tokenAmount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "costBasisLamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "realizedPnlLamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'OPEN'"), nullable=False),
        sa.Column(
            "openedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updatedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_Position_userId_User"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["walletId"],
            ["Wallet.id"],
            name=op.f("fk_Position_walletId_Wallet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_Position")),
        sa.UniqueConstraint("walletId", "tokenMint", name="uq_position_wallet_mint"),
    )
    with op.batch_alter_table("Position", schema=None) as batch_op:
        batch_op.create_index("ix_Position_userId_status", ["userId", "status"], unique=False)

    op.create_table(
        "SniperOrder",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("walletId", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tokenMint", sa.String(length=44), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("slippageBps", sa.Integer(), nullable=False),
        sa.Column("priorityFee", sa.String(length=16), nullable=False),
        sa.Column(
            "priorityFeeLamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'PENDING'"), nullable=False
        ),
        sa.Column("signature", sa.String(length=88), nullable=True),
        sa.Column("lastValidBlockHeight", sa.BigInteger(), nullable=True),
        sa.Column("signedTx", sa.LargeBinary(), nullable=True),
        sa.Column(
            "quote",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "error",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("idempotencyKey", sa.String(length=128), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("inAmount", sa.BigInteger(), nullable=True),
        sa.Column("outAmount", sa.BigInteger(), nullable=True),
        sa.Column("feeLamports", sa.BigInteger(), nullable=True),
        sa.Column("lockedBy", sa.String(length=128), nullable=True),
        sa.Column("lockedUntil", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updatedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            sa.Computed('"createdAt"', persisted=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_SniperOrder_userId_User"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["walletId"],
            ["Wallet.id"],
            name=op.f("fk_SniperOrder_walletId_Wallet"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_SniperOrder")),
        sa.UniqueConstraint("signature", name=op.f("uq_SniperOrder_signature")),
        sa.UniqueConstraint("userId", "idempotencyKey", name="uq_sniper_order_user_idempotency"),
    )
    with op.batch_alter_table("SniperOrder", schema=None) as batch_op:
        batch_op.create_index(
            "idx_sniper_order_user_status_created",
            ["userId", "status", sa.literal_column('"createdAt" DESC')],
            unique=False,
        )
        batch_op.create_index("ix_SniperOrder_status", ["status"], unique=False)

    op.create_table(
        "Trade",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("orderId", sa.String(length=36), nullable=False),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("walletId", sa.BigInteger(), nullable=True),
        sa.Column("tokenMint", sa.String(length=44), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("inAmount", sa.BigInteger(), nullable=False),
        sa.Column("outAmount", sa.BigInteger(), nullable=False),
        sa.Column("feeLamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("signature", sa.String(length=88), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["orderId"],
            ["SniperOrder.id"],
            name=op.f("fk_Trade_orderId_SniperOrder"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_Trade_userId_User"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["walletId"], ["Wallet.id"], name=op.f("fk_Trade_walletId_Wallet"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_Trade")),
        sa.UniqueConstraint("orderId", name=op.f("uq_Trade_orderId")),
    )
    with op.batch_alter_table("Trade", schema=None) as batch_op:
        batch_op.create_index("ix_Trade_userId_createdAt", ["userId", "createdAt"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("Trade", schema=None) as batch_op:
        batch_op.drop_index("ix_Trade_userId_createdAt")

    op.drop_table("Trade")
    with op.batch_alter_table("SniperOrder", schema=None) as batch_op:
        batch_op.drop_index("ix_SniperOrder_status")
        batch_op.drop_index("idx_sniper_order_user_status_created")

    op.drop_table("SniperOrder")
    with op.batch_alter_table("Position", schema=None) as batch_op:
        batch_op.drop_index("ix_Position_userId_status")

    op.drop_table("Position")
    with op.batch_alter_table("Wallet", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_wallet_one_active_per_user",
            postgresql_where=sa.text('"isActive"'),
            sqlite_where=sa.text('"isActive"'),
        )
        batch_op.drop_index(batch_op.f("ix_Wallet_userId"))
        batch_op.drop_index(batch_op.f("ix_Wallet_keyId"))

    op.drop_table("Wallet")
    op.drop_table("UserSettings")
    with op.batch_alter_table("Session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_Session_userId"))
        batch_op.drop_index(batch_op.f("ix_Session_expiresAt"))

    op.drop_table("Session")
    op.drop_table("User")
    with op.batch_alter_table("HoneypotCheck", schema=None) as batch_op:
        batch_op.drop_index("ix_HoneypotCheck_token_mint_checked_at")

    op.drop_table("HoneypotCheck")
