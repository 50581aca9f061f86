"""Notification preferences, confirm-before-buy off by default, paper snipes/limits/DCA
(issue 18 items 5 and 7).

Revision ID: 0015_notify_prefs
Revises: 0014_exit_ladders
Create Date: 2026-12-04

- ``"UserSettings"``: ``notifyFills`` (snipes that bought, limit orders, DCA parts),
  ``notifyExits`` (automatic exits), ``notifySnipeMisses`` (snipes that failed, or a coin a
  standing snipe skipped) and ``notifyCopies`` (copy trades); NOT NULL, default true, so every
  existing user keeps getting every message.
- ``"UserSettings"."confirmTrades"``: the default becomes false and existing rows are set to
  false. The column existed since 0001 with default true but nothing ever read it: every user
  has been buying at one tap, and now that a buy asks first when it is on, turning it on stays
  the user's choice in /settings instead of changing everyone's buttons at once.
- ``"SnipeTarget"``, ``"LimitOrder"``, ``"DcaPlan"``: ``paper`` (NOT NULL, default false): armed
  by a user trading on paper, filled in the paper book, never signed; fixed at arm time, so a
  later switch never turns a paper order into real money. ``paperOrderId``: the paper fill
  (``paper:<trade id>``) such a row made, which ``orderId``/``lastOrderId`` (a foreign key to
  ``"SniperOrder"``) cannot hold.
Batch operations, as in 0001, so SQLite works too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_notify_prefs"
down_revision: str | Sequence[str] | None = "0014_exit_ladders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY = ("notifyFills", "notifyExits", "notifySnipeMisses", "notifyCopies")
PAPER_TABLES = ("SnipeTarget", "LimitOrder", "DcaPlan")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        for name in NOTIFY:
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), server_default=sa.text("true"), nullable=False)
            )
        batch_op.alter_column(
            "confirmTrades",
            existing_type=sa.Boolean(),
            server_default=sa.text("false"),
            existing_nullable=False,
        )
    op.execute('UPDATE "UserSettings" SET "confirmTrades" = false')
    for table in PAPER_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("paper", sa.Boolean(), server_default=sa.text("false"), nullable=False)
            )
            batch_op.add_column(sa.Column("paperOrderId", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema. Paper rows become real-money rows if kept, so they are cancelled
    first (nothing of them was ever on chain)."""
    op.execute("UPDATE \"SnipeTarget\" SET status = 'CANCELLED' WHERE paper AND status = 'ARMED'")
    op.execute("UPDATE \"LimitOrder\" SET status = 'CANCELLED' WHERE paper AND status = 'OPEN'")
    op.execute(
        "UPDATE \"DcaPlan\" SET status = 'CANCELLED' WHERE paper AND status IN ('ACTIVE', 'PAUSED')"
    )
    for table in reversed(PAPER_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("paperOrderId")
            batch_op.drop_column("paper")
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        batch_op.alter_column(
            "confirmTrades",
            existing_type=sa.Boolean(),
            server_default=sa.text("true"),
            existing_nullable=False,
        )
        for name in reversed(NOTIFY):
            batch_op.drop_column(name)
