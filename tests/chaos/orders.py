"""Counting what a chaos scenario did to orders: rows, swaps on chain, messages per order.

``tally`` reads the ``"SniperOrder"`` and ``"Trade"`` rows (asyncpg, straight from the database),
the chain (which transactions each user's wallet signed and how they ended) and the fake
Telegram (every bot message in its current, edited state). An order's result message is a bot
message in the owner's chat that shows this order (``Buy 0.1 SOL of``) in a final state; the
scenarios give every order of a user a distinct amount, so the heading names one order.

``generic_errors`` counts the generic error sentence (``GENERIC_ERROR``: an exception nobody
turned into a sentence). A press that placed an order must get that order's truth instead, so
orders plus generic errors never exceed the presses.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from solders.pubkey import Pubkey

from e2e.harness import TxRecorder, plain
from localnet.node import Localnet
from sniper_bot.app import OUTBOX_INTERVAL_S
from sniper_bot.domain.money import format_sol
from sniper_bot.telegram.middlewares import GENERIC_ERROR

FINAL = frozenset({"CONFIRMED", "FAILED", "EXPIRED", "CANCELLED"})
RESULT_MARKS = ("✅ Bought", "✅ Sold", "✅ Confirmed", "❌")
# Once every order is marked told ("notifiedAt"), nothing is owed: a second result message can only
# come from a send already claimed (milliseconds) or a later outbox round ignoring the marker. One
# round and a margin cover both; an order shown but left unmarked is pushed again by the outbox
# after its grace, and waiting for the marker waits for exactly that push.
TOLD_QUIET_S = OUTBOX_INTERVAL_S + 1.0


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def order_rows(database_url: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        rows = await conn.fetch(
            'SELECT o.id, o.status, o.amount, o.side, o.signature, o."notifiedAt", '
            "o.error->>'type' AS error_type, "
            'u."telegramId" AS telegram_id, t.id AS trade_id FROM "SniperOrder" o '
            'JOIN "User" u ON u.id = o."userId" LEFT JOIN "Trade" t ON t."orderId" = o.id '
            'ORDER BY o."createdAt"'
        )
        return [dict(r) for r in rows]
    finally:
        await conn.close()


def result_messages(net: Localnet, order: dict[str, Any]) -> list[str]:
    """The bot messages (current text) in the owner's chat that show this order's result."""
    head = f"Buy {format_sol(order['amount'])} of"
    found = []
    for message in net.telegram.inbox(order["telegram_id"]):
        text = plain(message.get("text", ""))
        if head in text and any(mark in text for mark in RESULT_MARKS):
            found.append(text)
    return found


@dataclass
class Tally:
    orders: list[dict[str, Any]]
    statuses: Counter[str]
    swaps_on_chain: int
    trade_rows: int
    messages: dict[str, int] = field(default_factory=dict)
    generic_errors: int = 0

    @property
    def non_final(self) -> int:
        return sum(1 for o in self.orders if o["status"] not in FINAL)

    def line(self, scenario: str) -> str:
        per_order = Counter(self.messages.values())
        reasons = Counter(
            f"{o['status']}:{o['error_type']}" for o in self.orders if o["error_type"]
        )
        return (
            f"[{scenario}] orders created={len(self.orders)} "
            f"confirmed={self.statuses.get('CONFIRMED', 0)} "
            f"failed={sum(self.statuses.get(s, 0) for s in ('FAILED', 'EXPIRED', 'CANCELLED'))} "
            f"non-final={self.non_final} | swaps on chain={self.swaps_on_chain} "
            f'"Trade" rows={self.trade_rows} | result messages per order '
            f"{dict(sorted(per_order.items()))} (count: orders) | "
            f"generic error replies={self.generic_errors} | failures {dict(reasons)}"
        )


async def tally(
    database_url: str, net: Localnet, txs: TxRecorder, wallets: Iterable[Pubkey]
) -> Tally:
    orders = await order_rows(database_url)
    history = net.cluster.history
    swaps = 0
    for wallet in wallets:
        for signature in txs.seen_from(wallet):
            outcome = history.get(signature)
            if outcome is not None and outcome.ok:
                swaps += 1
    generic = 0
    for chat in {o["telegram_id"] for o in orders}:
        generic += sum(GENERIC_ERROR in plain(m.get("text", "")) for m in net.telegram.inbox(chat))
    return Tally(
        orders=orders,
        statuses=Counter(o["status"] for o in orders),
        swaps_on_chain=swaps,
        trade_rows=sum(o["trade_id"] is not None for o in orders),
        messages={o["id"]: len(result_messages(net, o)) for o in orders},
        generic_errors=generic,
    )


def all_marked_told(orders: list[dict[str, Any]]) -> bool:
    """Every order carries the owner-told marker: the outbox owes nobody a message."""
    return all(o["notifiedAt"] is not None for o in orders)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within_s: float) -> None:
    """Poll until ``check`` holds; the deadline only bounds a failing test."""
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, f"never happened within {within_s:.0f} s: {what}"
        await asyncio.sleep(0.2)
