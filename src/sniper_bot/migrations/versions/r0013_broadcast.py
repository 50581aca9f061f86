"""Broadcast: an admin's /broadcast and its progress (issue 17 item 5).

Revision ID: 0013_broadcast
Revises: 0012_copy_trading
Create Date: 2026-12-04

- ``"Broadcast"``: one message to every user, sent in ascending ``"User".id`` order. ``cursor``
  is the last user id claimed (compare-and-set before the send, so of two runners one sends and a
  restart resumes after it: nobody gets it twice); ``sent`` / ``blocked`` (403, the user blocked
  the bot) / ``failed`` count the outcomes. RUNNING -> DONE.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_broadcast"
down_revision: str | Sequence[str] | None = "0012_copy_trading"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "Broadcast",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("createdBy", sa.BigInteger(), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'RUNNING'"), nullable=False
        ),
        sa.Column("total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cursor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("blocked", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finishedAt", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_Broadcast")),
    )
    with op.batch_alter_table("Broadcast", schema=None) as batch_op:
        batch_op.create_index("ix_Broadcast_status", ["status"])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("Broadcast", schema=None) as batch_op:
        batch_op.drop_index("ix_Broadcast_status")
    op.drop_table("Broadcast")
