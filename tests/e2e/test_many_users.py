"""50 Telegram users at the same moment, through the fake Bot API to the whole app on localnet:
every update is answered exactly once (none lost, none twice), every user gets their own home
screen and positions, and the handling-time metric counts each update once. No timing is
asserted (bench/bench_load.py measures how fast)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter

import pytest

from .harness import ADDRESS_RE, REPLY_TIMEOUT_S, BotUnderTest, plain

pytestmark = pytest.mark.asyncio(loop_scope="module")

USERS = 50


def _replies(bot: BotUnderTest, chats: set[int]) -> dict[int, list[str]]:
    """The bot's new messages to each of ``chats``, in the order they were sent."""
    out: dict[int, list[str]] = {chat: [] for chat in chats}
    for call in bot.net.telegram.sent:
        chat = call.get("chat", {}).get("id")
        if call["method"] == "sendMessage" and chat in out:
            out[chat].append(plain(call.get("text", "")))
    return out


async def _until_each_has(bot: BotUnderTest, chats: set[int], count: int) -> dict[int, list[str]]:
    deadline = time.monotonic() + REPLY_TIMEOUT_S * 2
    while True:
        replies = _replies(bot, chats)
        short = [chat for chat, texts in replies.items() if len(texts) < count]
        if not short:
            return replies
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(short)} users have fewer than {count} replies: {short[:5]}")
        await asyncio.sleep(0.05)


def _metric(text: str, command: str) -> float:
    pattern = rf'^telegram_update_duration_seconds_count\{{command="{command}"\}} (\S+)$'
    found = re.search(pattern, text, flags=re.M)
    return float(found.group(1)) if found else 0.0


async def test_fifty_users_at_once_are_each_answered_exactly_once(bot: BotUnderTest) -> None:
    users = [bot.user() for _ in range(USERS)]
    chats = {u.user_id for u in users}
    _, before = await bot.ops("/metrics")

    for user in users:  # all at once: the bot takes them in one batch of updates
        user.send("/start")
    homes = await _until_each_has(bot, chats, 1)
    for user in users:
        user.send("/positions")
    replies = await _until_each_has(bot, chats, 2)
    await asyncio.sleep(1.0)  # an update handled twice would have sent its second reply by now

    replies = _replies(bot, chats)
    assert Counter(len(texts) for texts in replies.values()) == {2: USERS}
    wallets = set()
    for user in users:
        home, positions = replies[user.user_id]
        found = ADDRESS_RE.search(bot.net.telegram.inbox(user.user_id)[0]["text"])
        assert found is not None, home
        wallets.add(found.group(1))
        assert "Wallet:" in home
        assert "No open positions" in positions, positions
    assert len(wallets) == USERS  # each user got their own new wallet, nobody another's
    assert homes.keys() == chats
    assert bot.net.telegram.updates == []  # every update was confirmed to the Bot API
    rows = await _wallet_owners(bot)
    assert Counter(rows.values()) == {1: USERS}  # one wallet each, none created twice
    _, after = await bot.ops("/metrics")
    for command in ("start", "positions"):
        assert _metric(after, command) - _metric(before, command) == USERS


async def _wallet_owners(bot: BotUnderTest) -> dict[int, int]:
    from .harness import sql_rows

    rows = await sql_rows(
        bot.app,
        'SELECT u."telegramId" AS tg, count(w.id) AS n FROM "User" u '
        'JOIN "Wallet" w ON w."userId" = u.id WHERE u."telegramId" >= :low GROUP BY u."telegramId"',
        low=700_001,
    )
    return {int(r["tg"]): int(r["n"]) for r in rows}
