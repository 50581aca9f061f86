"""Withdrawal: SOL and token withdrawals (PENDING -> SIGNED -> SENT -> CONFIRMED|FAILED|EXPIRED).

Revision ID: 0003_withdrawals
Revises: 0002_snipe_targets
Create Date: 2026-12-01

Same rules as 0001: ``sa.func.now()`` defaults, batch operations, VARCHAR enums, BIGINT money.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_withdrawals"
down_revision: str | Sequence[str] | None = "0002_snipe_targets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "Withdrawal",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("walletId", sa.BigInteger(), nullable=False),
        sa.Column("asset", sa.String(length=44), nullable=False),
        sa.Column("tokenProgram", sa.String(length=44), nullable=True),
        sa.Column("destination", sa.String(length=44), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("feeLamports", sa.BigInteger(), nullable=False),
        sa.Column("rentLamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'PENDING'"), nullable=False
        ),
        sa.Column("signature", sa.String(length=88), nullable=True),
        sa.Column("lastValidBlockHeight", sa.BigInteger(), nullable=True),
        sa.Column("signedTx", sa.LargeBinary(), nullable=True),
        sa.Column(
            "error",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("idempotencyKey", sa.String(length=128), nullable=False),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updatedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_Withdrawal_userId_User"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["walletId"],
            ["Wallet.id"],
            name=op.f("fk_Withdrawal_walletId_Wallet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_Withdrawal")),
        sa.UniqueConstraint("signature", name=op.f("uq_Withdrawal_signature")),
        sa.UniqueConstraint("userId", "idempotencyKey", name="uq_withdrawal_user_idempotency"),
    )
    with op.batch_alter_table("Withdrawal", schema=None) as batch_op:
        batch_op.create_index("ix_Withdrawal_status", ["status"], unique=False)
        batch_op.create_index(
            "ix_Withdrawal_userId_createdAt", ["userId", "createdAt"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("Withdrawal", schema=None) as batch_op:
        batch_op.drop_index("ix_Withdrawal_userId_createdAt")
        batch_op.drop_index("ix_Withdrawal_status")
    op.drop_table("Withdrawal")
