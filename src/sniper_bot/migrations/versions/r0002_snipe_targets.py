"""SnipeTarget: snipe orders waiting for their pool (ARMED -> FIRED | CANCELLED | EXPIRED | FAILED).

Revision ID: 0002_snipe_targets
Revises: 0001_initial
Create Date: 2026-11-30

Same rules as 0001: ``sa.func.now()`` defaults, batch operations, VARCHAR enums, BIGINT money.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_snipe_targets"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "SnipeTarget",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("walletId", sa.BigInteger(), nullable=False),
        sa.Column("tokenMint", sa.String(length=44), nullable=False),
        sa.Column("amountLamports", sa.BigInteger(), nullable=False),
        sa.Column("slippageBps", sa.Integer(), nullable=False),
        sa.Column("priorityFee", sa.String(length=16), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'ARMED'"), nullable=False
        ),
        sa.Column("orderId", sa.String(length=36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expiresAt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("firedAt", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["orderId"],
            ["SniperOrder.id"],
            name=op.f("fk_SnipeTarget_orderId_SniperOrder"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_SnipeTarget_userId_User"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["walletId"],
            ["Wallet.id"],
            name=op.f("fk_SnipeTarget_walletId_Wallet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_SnipeTarget")),
    )
    with op.batch_alter_table("SnipeTarget", schema=None) as batch_op:
        batch_op.create_index(
            "ix_SnipeTarget_status_expiresAt", ["status", "expiresAt"], unique=False
        )
        batch_op.create_index(
            "ix_SnipeTarget_tokenMint_status", ["tokenMint", "status"], unique=False
        )
        batch_op.create_index("ix_SnipeTarget_userId_status", ["userId", "status"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("SnipeTarget", schema=None) as batch_op:
        batch_op.drop_index("ix_SnipeTarget_userId_status")
        batch_op.drop_index("ix_SnipeTarget_tokenMint_status")
        batch_op.drop_index("ix_SnipeTarget_status_expiresAt")
    op.drop_table("SnipeTarget")
