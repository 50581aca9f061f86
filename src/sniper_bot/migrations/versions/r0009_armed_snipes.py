"""SnipeTarget: targets by creator or launch filter, and each target's durable nonce account.

Revision ID: 0009_armed_snipes
Revises: 0008_trade_settings
Create Date: 2026-12-04

``tokenMint`` becomes nullable (a creator or filter target has no mint until it fires); new
``creator`` (the dev wallet), ``launchFilter`` (``LaunchFilter`` JSON, text), and the nonce
account with its armed nonce value and status. A CHECK keeps at least one selector per row; a
partial unique index lets one nonce account serve one ARMED target at a time. Batch operations,
as in 0001, so SQLite works.

Downgrade deletes the targets that have no mint (creator/filter targets that never fired): the
0008 schema cannot represent them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_armed_snipes"
down_revision: str | Sequence[str] | None = "0008_trade_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SELECTOR = '"tokenMint" IS NOT NULL OR creator IS NOT NULL OR "launchFilter" IS NOT NULL'


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("SnipeTarget", schema=None) as batch_op:
        batch_op.add_column(sa.Column("creator", sa.String(length=44), nullable=True))
        batch_op.add_column(sa.Column("launchFilter", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("nonceAccount", sa.String(length=44), nullable=True))
        batch_op.add_column(sa.Column("nonceValue", sa.String(length=44), nullable=True))
        batch_op.add_column(sa.Column("nonceStatus", sa.String(length=16), nullable=True))
        batch_op.alter_column("tokenMint", existing_type=sa.String(length=44), nullable=True)
        batch_op.create_check_constraint(op.f("ck_SnipeTarget_selector"), _SELECTOR)
        batch_op.create_index(
            "ix_SnipeTarget_nonceAccount_armed",
            ["nonceAccount"],
            unique=True,
            sqlite_where=sa.text("status = 'ARMED'"),
            postgresql_where=sa.text("status = 'ARMED'"),
        )


def downgrade() -> None:
    """Downgrade schema."""
    op.execute(sa.text('DELETE FROM "SnipeTarget" WHERE "tokenMint" IS NULL'))
    with op.batch_alter_table("SnipeTarget", schema=None) as batch_op:
        batch_op.drop_index("ix_SnipeTarget_nonceAccount_armed")
        batch_op.drop_constraint(op.f("ck_SnipeTarget_selector"), type_="check")
        batch_op.alter_column("tokenMint", existing_type=sa.String(length=44), nullable=False)
        batch_op.drop_column("nonceStatus")
        batch_op.drop_column("nonceValue")
        batch_op.drop_column("nonceAccount")
        batch_op.drop_column("launchFilter")
        batch_op.drop_column("creator")
