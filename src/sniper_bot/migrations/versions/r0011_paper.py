"""PaperAccount, PaperPosition, PaperTrade: paper trading's simulated book.

Revision ID: 0011_paper
Revises: 0010_limit_dca
Create Date: 2026-12-04

A paper user (``PAPER_TRADING=true`` or ``"UserSettings"."paperTrading"``) trades on live quotes
through a simulated executor that never signs or sends; its fills are kept here, apart from the
real ``"Position"``/``"Trade"`` (a paper fill can never be mistaken for money on chain).

- ``"PaperAccount"``: the user's simulated SOL (lamports, BIGINT), created with
  ``PAPER_START_LAMPORTS`` on the first paper trade.
- ``"PaperPosition"``: average-cost totals per (user, mint), as ``"Position"``.
- ``"PaperTrade"``: one simulated fill, unique per (user, idempotency key): a double-tap fills once.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011_paper"
down_revision: str | Sequence[str] | None = "0010_limit_dca"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _now(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["userId"], ["User.id"], name=op.f(f"fk_{table}_userId_User"), ondelete="CASCADE"
    )


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "PaperAccount",
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("lamports", sa.BigInteger(), nullable=False),
        _now("createdAt"),
        _now("updatedAt"),
        _user_fk("PaperAccount"),
        sa.PrimaryKeyConstraint("userId", name=op.f("pk_PaperAccount")),
    )
    op.create_table(
        "PaperPosition",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("tokenMint", sa.String(length=44), nullable=False),
        sa.Column("tokenAmount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "costBasisLamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "realizedPnlLamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'OPEN'"), nullable=False),
        _now("openedAt"),
        _now("updatedAt"),
        _user_fk("PaperPosition"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_PaperPosition")),
        sa.UniqueConstraint("userId", "tokenMint", name="uq_paper_position_user_mint"),
    )
    op.create_index("ix_PaperPosition_userId_status", "PaperPosition", ["userId", "status"])
    op.create_table(
        "PaperTrade",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("idempotencyKey", sa.String(length=128), nullable=False),
        sa.Column("tokenMint", sa.String(length=44), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("inAmount", sa.BigInteger(), nullable=False),
        sa.Column("outAmount", sa.BigInteger(), nullable=False),
        sa.Column("feeLamports", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        _now("createdAt"),
        _user_fk("PaperTrade"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_PaperTrade")),
        sa.UniqueConstraint("userId", "idempotencyKey", name="uq_paper_trade_user_key"),
    )
    op.create_index("ix_PaperTrade_userId_createdAt", "PaperTrade", ["userId", "createdAt"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_PaperTrade_userId_createdAt", table_name="PaperTrade")
    op.drop_table("PaperTrade")
    op.drop_index("ix_PaperPosition_userId_status", table_name="PaperPosition")
    op.drop_table("PaperPosition")
    op.drop_table("PaperAccount")
