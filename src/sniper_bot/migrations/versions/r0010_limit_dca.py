"""LimitOrder and DcaPlan; UserSettings.paperTrading.

Revision ID: 0010_limit_dca
Revises: 0009_armed_snipes
Create Date: 2026-12-04

- ``"LimitOrder"``: a buy when the price falls to (or the market cap below) ``triggerValue``, or a
  sell of ``sellPct`` % when the price rises to it; OPEN -> FIRED | CANCELLED | EXPIRED | FAILED.
  Its one order is keyed ``limit:<id>``.
- ``"DcaPlan"``: ``totalAmount`` in ``parts`` orders every ``intervalSeconds``, paused outside
  ``bandMinPrice``..``bandMaxPrice``; ``partsDone`` advances after part k (key ``dca:<id>:<k>``)
  was submitted, so a restart resubmits the same key and never doubles a part.
- ``"UserSettings"."paperTrading"`` BOOLEAN NOT NULL DEFAULT false: the user's simulated
  executor switch; existing rows get false.

Prices are micro-lamports per whole token, market caps and amounts lamports (BIGINT), enums
VARCHAR. Batch operations, as in 0001, so SQLite works.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010_limit_dca"
down_revision: str | Sequence[str] | None = "0009_armed_snipes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LIMIT_AMOUNT = (
    '(side = \'BUY\' AND "amountLamports" > 0 AND "sellPct" IS NULL) OR '
    '(side = \'SELL\' AND "sellPct" BETWEEN 1 AND 100 AND "amountLamports" IS NULL)'
)
_DCA_PLAN = " AND ".join(
    ('"totalAmount" > 0', "parts >= 1", '"partsDone" BETWEEN 0 AND parts', '"intervalSeconds" > 0')
)


def _owner_columns(table: str) -> list[Any]:
    return [
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("userId", sa.BigInteger(), nullable=False),
        sa.Column("walletId", sa.BigInteger(), nullable=False),
        sa.Column("tokenMint", sa.String(length=44), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"], ["User.id"], name=op.f(f"fk_{table}_userId_User"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["walletId"],
            ["Wallet.id"],
            name=op.f(f"fk_{table}_walletId_Wallet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _stamps() -> list[Any]:
    return [
        sa.Column(
            "createdAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updatedAt", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "LimitOrder",
        *_owner_columns("LimitOrder"),
        sa.Column("triggerKind", sa.String(length=16), nullable=False),
        sa.Column("triggerValue", sa.BigInteger(), nullable=False),
        sa.Column("amountLamports", sa.BigInteger(), nullable=True),
        sa.Column("sellPct", sa.Integer(), nullable=True),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("slippageBps", sa.Integer(), nullable=False),
        sa.Column("priorityFee", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'OPEN'"), nullable=False),
        sa.Column("orderId", sa.String(length=36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *_stamps(),
        sa.Column("expiresAt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("firedAt", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["orderId"],
            ["SniperOrder.id"],
            name=op.f("fk_LimitOrder_orderId_SniperOrder"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(_LIMIT_AMOUNT, name=op.f("ck_LimitOrder_amount")),
    )
    with op.batch_alter_table("LimitOrder", schema=None) as batch_op:
        batch_op.create_index("ix_LimitOrder_status_tokenMint", ["status", "tokenMint"])
        batch_op.create_index("ix_LimitOrder_userId_status", ["userId", "status"])

    op.create_table(
        "DcaPlan",
        *_owner_columns("DcaPlan"),
        sa.Column("totalAmount", sa.BigInteger(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("partsDone", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("intervalSeconds", sa.Integer(), nullable=False),
        sa.Column("bandMinPrice", sa.BigInteger(), nullable=True),
        sa.Column("bandMaxPrice", sa.BigInteger(), nullable=True),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("slippageBps", sa.Integer(), nullable=False),
        sa.Column("priorityFee", sa.String(length=16), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'ACTIVE'"), nullable=False
        ),
        sa.Column("nextAt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lastOrderId", sa.String(length=36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["lastOrderId"],
            ["SniperOrder.id"],
            name=op.f("fk_DcaPlan_lastOrderId_SniperOrder"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(_DCA_PLAN, name=op.f("ck_DcaPlan_plan")),
    )
    with op.batch_alter_table("DcaPlan", schema=None) as batch_op:
        batch_op.create_index("ix_DcaPlan_status_nextAt", ["status", "nextAt"])
        batch_op.create_index("ix_DcaPlan_userId_status", ["userId", "status"])

    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paperTrading", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("UserSettings", schema=None) as batch_op:
        batch_op.drop_column("paperTrading")
    with op.batch_alter_table("DcaPlan", schema=None) as batch_op:
        batch_op.drop_index("ix_DcaPlan_userId_status")
        batch_op.drop_index("ix_DcaPlan_status_nextAt")
    op.drop_table("DcaPlan")
    with op.batch_alter_table("LimitOrder", schema=None) as batch_op:
        batch_op.drop_index("ix_LimitOrder_userId_status")
        batch_op.drop_index("ix_LimitOrder_status_tokenMint")
    op.drop_table("LimitOrder")
