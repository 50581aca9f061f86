"""Session: a version per row, so conversation state never goes back in time.

Revision ID: 0007_session_version
Revises: 0006_order_notified
Create Date: 2026-12-03

Every write of a ``"Session"`` row sets ``version`` to a hybrid timestamp (microseconds, and
always above the previous version); the Redis copy of a conversation carries the same number, and
a copy whose version is lower is never trusted (see ``sniper_bot.telegram.storage``). Existing
rows start at 0, below any version a write makes. Batch operations, as in 0001, so SQLite works.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_session_version"
down_revision: str | Sequence[str] | None = "0006_order_notified"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("Session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("Session", schema=None) as batch_op:
        batch_op.drop_column("version")
