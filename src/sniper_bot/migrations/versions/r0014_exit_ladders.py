"""Exit ladders and "sell when the creator sells" (issue 18 item 3).

Revision ID: 0014_exit_ladders
Revises: 0013_broadcast
Create Date: 2026-12-04

- ``"UserSettings"."exitLadder"``: the user's default take-profit ladder, a JSON list of
  ``[gain_pct, sell_pct]`` steps (``[[100, 50], [300, 25]]``: sell 50 % of the position at 2x,
  25 % at 4x); NULL = no ladder (the old single ``takeProfitPct`` still sells 100 %).
- ``"UserSettings"."sellWithCreator"``: sell the whole position when the coin's creator sells
  on the pump.fun curve (any sell); NOT NULL, default false, so existing rows need no backfill.
- ``"Position"."exitPlan"``: this position's own exit plan (JSON: ladder, stop-loss, trailing,
  max hold, take-profit, creator flag, and the ``openedAt`` of the lifetime it was set for);
  NULL = the owner's defaults.
Which steps fired is not stored here: a step is done when its sell order (idempotency key
``exit:<position>:<openedAt>:tp<n>``) is in the order store, so a restart never repeats one.
Batch operations, as in 0001, so SQLite works too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_exit_ladders"
down_revision: str | Sequence[str] | None = "0013_broadcast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exitLadder", _JSON, nullable=True))
        batch_op.add_column(
            sa.Column(
                "sellWithCreator", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
    with op.batch_alter_table("Position", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exitPlan", _JSON, nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("Position", schema=None) as batch_op:
        batch_op.drop_column("exitPlan")
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        batch_op.drop_column("sellWithCreator")
        batch_op.drop_column("exitLadder")
