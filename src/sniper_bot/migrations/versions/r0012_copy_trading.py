"""CopyFollow and CopyTrade: copy trading (issue 18 item 4).

Revision ID: 0012_copy_trading
Revises: 0011_paper
Create Date: 2026-12-04

- ``"CopyFollow"``: a user follows ``leaderWallet``; each copied buy spends ``sizeValue``
  lamports (``mode`` FIXED) or ``sizeValue`` basis points of the leader's SOL (``mode`` BPS),
  at most ``maxPerTrade`` lamports a trade and ``maxPerDay`` lamports a UTC day; with
  ``sellWithLeader`` a leader's sell sells the same share of the user's tokens.
  ACTIVE -> REMOVED (``/copy remove``).
- ``"CopyTrade"``: one leader trade seen for one follow, unique per (follow, leader signature):
  the day's spent lamports are the sum of its PLACED buys of that ``day``; a replay finds the
  row and never mirrors twice (the order's key is ``copy:<follow id>:<leader signature>``).

Money is integers (BIGINT lamports / token base units), enums VARCHAR.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_copy_trading"
down_revision: str | Sequence[str] | None = "0011_paper"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SIZE = " AND ".join(
    (
        "(mode = 'FIXED' OR (mode = 'BPS' AND \"sizeValue\" <= 10000))",
        '"sizeValue" > 0',
        '("maxPerTrade" IS NULL OR "maxPerTrade" > 0)',
        '("maxPerDay" IS NULL OR "maxPerDay" > 0)',
    )
)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "CopyFollow",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("walletId", sa.BigInteger(), nullable=False),
        sa.Column("leaderWallet", sa.String(length=44), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("sizeValue", sa.BigInteger(), nullable=False),
        sa.Column("maxPerTrade", sa.BigInteger(), nullable=True),
        sa.Column("maxPerDay", sa.BigInteger(), nullable=True),
        sa.Column("sellWithLeader", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("slippageBps", sa.Integer(), nullable=False),
        sa.Column("priorityFee", sa.String(length=16), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'ACTIVE'"), nullable=False
        ),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updatedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f("fk_CopyFollow_userId_User"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["walletId"],
            ["Wallet.id"],
            name=op.f("fk_CopyFollow_walletId_Wallet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_CopyFollow")),
        sa.CheckConstraint(_SIZE, name=op.f("ck_CopyFollow_size")),
    )
    with op.batch_alter_table("CopyFollow", schema=None) as batch_op:
        batch_op.create_index("ix_CopyFollow_status_leaderWallet", ["status", "leaderWallet"])
        batch_op.create_index("ix_CopyFollow_userId_status", ["userId", "status"])

    op.create_table(
        "CopyTrade",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("followId", sa.BigInteger(), nullable=False),
        sa.Column("leaderSignature", sa.String(length=88), nullable=False),
        sa.Column("tokenMint", sa.String(length=44), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("lamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("tokenAmount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("orderId", sa.String(length=36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["followId"],
            ["CopyFollow.id"],
            name=op.f("fk_CopyTrade_followId_CopyFollow"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["orderId"],
            ["SniperOrder.id"],
            name=op.f("fk_CopyTrade_orderId_SniperOrder"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_CopyTrade")),
        sa.UniqueConstraint("followId", "leaderSignature", name="uq_copy_trade_follow_signature"),
        sa.CheckConstraint(
            'lamports >= 0 AND "tokenAmount" >= 0', name=op.f("ck_CopyTrade_amounts")
        ),
    )
    with op.batch_alter_table("CopyTrade", schema=None) as batch_op:
        batch_op.create_index("ix_CopyTrade_followId_day", ["followId", "day"])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("CopyTrade", schema=None) as batch_op:
        batch_op.drop_index("ix_CopyTrade_followId_day")
    op.drop_table("CopyTrade")
    with op.batch_alter_table("CopyFollow", schema=None) as batch_op:
        batch_op.drop_index("ix_CopyFollow_userId_status")
        batch_op.drop_index("ix_CopyFollow_status_leaderWallet")
    op.drop_table("CopyFollow")
