"""UserSettings: how orders are sent (MEV protection, Jito tip) and routed (force Jupiter).

Revision ID: 0008_trade_settings
Revises: 0007_session_version
Create Date: 2026-12-04

- ``mevProtection`` BOOLEAN NOT NULL DEFAULT false: when true, a swap goes only as a Jito
  bundle, never to the public mempool.
- ``jitoTipLamports`` BIGINT NULL: a fixed tip; NULL = take the tip from the tip floor.
- ``tipPercentile`` INTEGER NULL: which tip-floor percentile (50/75/95/99) when the tip is
  automatic; NULL = the configured default.
- ``forceJupiter`` BOOLEAN NOT NULL DEFAULT false: route every order through Jupiter even
  when the token trades on the pump.fun curve or PumpSwap.

Existing rows get the defaults (protection off, automatic tip, best venue), so no backfill.
Batch operations, as in 0001, so SQLite works too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_trade_settings"
down_revision: str | Sequence[str] | None = "0007_session_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("mevProtection", "jitoTipLamports", "tipPercentile", "forceJupiter")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "mevProtection", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("jitoTipLamports", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("tipPercentile", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("forceJupiter", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
