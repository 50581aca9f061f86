"""Issue 10 item 2: PostgreSQL stops for ~6 s while quick buys are in flight, then starts again.

The real app (localnet, a private PostgreSQL cluster, Redis, the fake Telegram) and five users
pressing three buy buttons each. The cluster is stopped the moment the first swap is signed and
started 6 s later. Without a restart of the bot: every order ends final, every swap that landed
has its "Trade" row, and each order's result reaches its owner exactly once (the handler that
placed it, or the outbox when that handler gave up), never the generic error sentence for a
press that placed an order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from solders.pubkey import Pubkey

from e2e.harness import SOL, User, bot_under_test
from support.services import PostgresServer, postgres_server, redis_database

from .orders import (
    FINAL,
    TOLD_QUIET_S,
    all_marked_told,
    asyncpg_dsn,
    eventually,
    order_rows,
    tally,
)

USERS = 5
BUYS_PER_USER = 3
OUTAGE_S = 6.0
SETTLE_S = 150.0  # generous: only bounds a failing run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


@pytest.fixture
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


def _buy_labels(card: dict[str, Any]) -> list[str]:
    rows = (card.get("reply_markup") or {}).get("inline_keyboard", [])
    labels = [b["text"] for row in rows for b in row]
    return [t for t in labels if t.startswith("Buy ") and not t.startswith("Buy X")]


async def _first_signed(database_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    query = 'SELECT count(*) > 0 FROM "SniperOrder" WHERE signature IS NOT NULL'
    try:
        signed = False
        while not signed:
            await asyncio.sleep(0.02)  # a poll of the row, as an operator would watch it
            signed = bool(await conn.fetchval(query))
    finally:
        await conn.close()


async def test_a_6_s_postgres_outage_leaves_every_buy_final_recorded_and_told_once(
    tmp_path: Path, pg_server: PostgresServer
) -> None:
    database_url = await pg_server.create_database("sniper")
    async with (
        redis_database() as redis_url,
        bot_under_test(tmp_path, database_url=database_url, redis_url=redis_url) as bot,
    ):
        users = [bot.user() for _ in range(USERS)]
        wallets: list[Pubkey] = list(await asyncio.gather(*(u.funded(5 * SOL) for u in users)))
        token = bot.launch("honest", liquidity_sol=200)
        cards = await asyncio.gather(*(u.card(token.mint) for u in users))
        presses = 0

        async def press_all(user: User, card: dict[str, Any]) -> None:
            nonlocal presses
            for label in _buy_labels(card)[:BUYS_PER_USER]:
                await user.press_data(card["message_id"], user.button(card, label))
                presses += 1

        pressing = asyncio.gather(*(press_all(u, c) for u, c in zip(users, cards, strict=True)))
        await asyncio.wait_for(_first_signed(database_url), 60)
        await asyncio.to_thread(pg_server.stop, "fast")
        await asyncio.sleep(OUTAGE_S)
        await asyncio.to_thread(pg_server.start)
        await pressing

        async def all_final_and_told() -> bool:
            try:
                rows = await order_rows(database_url)
            except (OSError, asyncpg.PostgresError):
                return False
            if len(rows) == 0 or any(r["status"] not in FINAL for r in rows):
                return False
            counts = (await tally(database_url, bot.net, bot.txs, wallets)).messages
            return all(n >= 1 for n in counts.values()) and all_marked_told(rows)

        try:
            await eventually(
                all_final_and_told, "every order final, told and marked told", SETTLE_S
            )
            await asyncio.sleep(TOLD_QUIET_S)  # a second message would show by now
        finally:
            result = await tally(database_url, bot.net, bot.txs, wallets)
            print(result.line("pg outage 6 s") + f" | buttons pressed={presses}")

    assert result.non_final == 0, result.statuses
    assert result.swaps_on_chain == result.trade_rows == result.statuses["CONFIRMED"]
    assert all(n == 1 for n in result.messages.values()), result.messages
    # a press either placed an order (and got its result) or got the generic error, never both
    assert len(result.orders) + result.generic_errors <= presses
