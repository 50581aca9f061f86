"""UserSettings: automatic exit rules (take-profit, stop-loss, trailing stop, max hold time).

Revision ID: 0004_exit_settings
Revises: 0003_withdrawals
Create Date: 2026-12-08

Four nullable INTEGER columns; NULL means the rule is off, so existing rows need no backfill.
Batch operations, as in 0001, so SQLite works too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_exit_settings"
down_revision: str | Sequence[str] | None = "0003_withdrawals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("takeProfitPct", "stopLossPct", "trailingStopPct", "maxHoldMinutes")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        for name in _COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
