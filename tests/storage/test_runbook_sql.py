"""The runbook's SQL, as printed in RUNBOOK.md, against a migrated PostgreSQL database.

Placeholders the runbook leaves for the operator (``'user-id'``, ``'<token_mint_address>'``) are
filled with real values; everything else is verbatim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from sniper_bot.domain.orders import OrderError, OrderErrorType, OrderStatus
from sniper_bot.storage import Database, Repositories

from .conftest import ORDER_DEFAULTS, StepClock, clear_all_rows, make_user, make_wallet

FAILED_ORDERS = """
SELECT
  id,
  status,
  error->>'type' as error_type,
  error->>'message' as error_message,
  created_at
FROM "SniperOrder"
WHERE status = 'FAILED'
ORDER BY created_at DESC
LIMIT 10;
"""

HONEYPOT = """
SELECT token_mint, risk_score, is_honeypot, details
FROM "HoneypotCheck"
WHERE token_mint = '<token_mint_address>';
"""

EXPLAIN = """
EXPLAIN ANALYZE
SELECT * FROM "SniperOrder"
WHERE "userId" = 'user-id' AND status = 'PENDING'
ORDER BY "createdAt" DESC;
"""

CREATE_INDEX = """
CREATE INDEX IF NOT EXISTS idx_sniper_order_user_status_created
ON "SniperOrder" ("userId", status, "createdAt" DESC);
"""


@pytest.fixture
async def migrated_pg(migrated_pg_url: str) -> AsyncIterator[Database]:
    db = Database(migrated_pg_url)
    await db.connect(attempts=1)
    await clear_all_rows(db)
    try:
        yield db
    finally:
        await db.dispose()


async def test_failed_orders_query_lists_errors_newest_first(migrated_pg: Database) -> None:
    repos = Repositories.build(migrated_pg, StepClock())
    user = await make_user(repos)
    wallet = await make_wallet(repos, user)
    ids = []
    for i, kind in enumerate((OrderErrorType.SLIPPAGE_EXCEEDED, OrderErrorType.FEE_TOO_LOW)):
        order, _ = await repos.orders.create(
            user_id=user.id, wallet_id=wallet.id, idempotency_key=f"k{i}", **ORDER_DEFAULTS
        )
        await repos.orders.transition(
            order.id, OrderStatus.PENDING, OrderStatus.FAILED, error=OrderError(kind, f"m{i}")
        )
        ids.append(order.id)
    await repos.orders.create(
        user_id=user.id, wallet_id=wallet.id, idempotency_key="ok", **ORDER_DEFAULTS
    )
    async with migrated_pg.engine.connect() as conn:
        rows = (await conn.execute(text(FAILED_ORDERS))).all()
    assert [(r.id, r.status, r.error_type, r.error_message) for r in rows] == [
        (ids[1], "FAILED", "fee_too_low", "m1"),
        (ids[0], "FAILED", "slippage_exceeded", "m0"),
    ]
    assert rows[0].created_at > rows[1].created_at


async def test_honeypot_query_reads_the_stored_verdicts(migrated_pg: Database) -> None:
    repos = Repositories.build(migrated_pg, StepClock())
    mint = "HoneyMint1111111111111111111111111111111111"
    await repos.honeypot_checks.save(mint, 85, True, {"findings": ["freeze_authority"]})
    async with migrated_pg.engine.connect() as conn:
        rows = (await conn.execute(text(HONEYPOT.replace("<token_mint_address>", mint)))).all()
    assert [tuple(r) for r in rows] == [(mint, 85, True, {"findings": ["freeze_authority"]})]


async def test_index_statement_is_a_no_op_and_the_explain_query_uses_the_index(
    migrated_pg: Database,
) -> None:
    repos = Repositories.build(migrated_pg, StepClock())
    user = await make_user(repos)
    wallet = await make_wallet(repos, user)
    await repos.orders.create(
        user_id=user.id, wallet_id=wallet.id, idempotency_key="k", **ORDER_DEFAULTS
    )
    async with migrated_pg.engine.begin() as conn:
        await conn.execute(text(CREATE_INDEX))
        indexes = (
            await conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE tablename = 'SniperOrder' AND indexname LIKE 'idx_sniper%'"
                )
            )
        ).all()
        assert len(indexes) == 1
        assert '("userId", status, "createdAt" DESC)' in indexes[0].indexdef
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = (await conn.execute(text(EXPLAIN.replace("'user-id'", f"'{user.id}'")))).scalars()
        plan_text = "\n".join(plan)
    assert "idx_sniper_order_user_status_created" in plan_text
