"""SniperOrder: "notifiedAt", when the owner was told the order's final result.

Revision ID: 0006_order_notified
Revises: 0005_withdrawal_notified
Create Date: 2026-12-09

A nullable timestamp, set by compare-and-set by whoever delivered the result (the handler that
showed it, the snipe or exit notifier, or the outbox that pushes results no one showed, such as
orders finished by recovery). Rows that are already final when this runs were shown by the old
flow, so they are backfilled with "updatedAt": the first start after the upgrade must not push
every old result again. A partial index keeps the outbox's query on the few rows still owed.
The column is added in batch mode (a plain ALTER TABLE ADD COLUMN on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_order_notified"
down_revision: str | Sequence[str] | None = "0005_withdrawal_notified"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNNOTIFIED = sa.text('"notifiedAt" IS NULL')


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("SniperOrder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notifiedAt", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        'UPDATE "SniperOrder" SET "notifiedAt" = "updatedAt" '
        "WHERE status IN ('CONFIRMED', 'FAILED', 'EXPIRED', 'CANCELLED')"
    )
    op.create_index(
        "ix_SniperOrder_unnotified",
        "SniperOrder",
        ["updatedAt"],
        postgresql_where=_UNNOTIFIED,
        sqlite_where=_UNNOTIFIED,
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_SniperOrder_unnotified", table_name="SniperOrder")
    # Not batch mode: a batch copy of "SniperOrder" would insert into its generated column
    # (created_at). SQLite has had ALTER TABLE ... DROP COLUMN since 3.35.
    op.drop_column("SniperOrder", "notifiedAt")
