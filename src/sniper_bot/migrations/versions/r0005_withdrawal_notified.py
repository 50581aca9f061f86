"""Withdrawal: "notifiedAt", when the owner was told the final result (exactly once, durably).

Revision ID: 0005_withdrawal_notified
Revises: 0004_exit_settings
Create Date: 2026-12-09

A nullable timestamp: NULL until the final result reached the owner. Rows that are already final
when this runs were shown to their owners by the old synchronous flow, so they are backfilled
with "updatedAt" (otherwise the first start after the upgrade would push every old result again).
Batch operations, as in 0001, so SQLite works too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_withdrawal_notified"
down_revision: str | Sequence[str] | None = "0004_exit_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("Withdrawal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notifiedAt", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        'UPDATE "Withdrawal" SET "notifiedAt" = "updatedAt" '
        "WHERE status IN ('CONFIRMED', 'FAILED', 'EXPIRED')"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("Withdrawal", schema=None) as batch_op:
        batch_op.drop_column("notifiedAt")
