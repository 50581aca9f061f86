"""/broadcast through the fake Telegram Bot API against the whole app on localnet.

An admin's text goes to every user once, paced by the bot's own pacer; users who blocked the bot
(403) are skipped and counted; the admin gets a summary. Progress lives in the database: a
runner stopped half-way (a restart) and a fresh one resume after the last claimed user, and two
runners at once (two replicas) still send each user the message exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from e2e.harness import BotUnderTest, User, bot_under_test, plain
from sniper_bot.storage.repositories.broadcasts import BroadcastRepository
from sniper_bot.telegram.broadcast import BroadcastRunner

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADMIN = 910_001


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    data_dir = tmp_path_factory.mktemp("broadcast")
    async with bot_under_test(data_dir, env={"ADMIN_TELEGRAM_IDS": str(ADMIN)}) as b:
        yield b


def _got(bot: BotUnderTest, text: str) -> Counter[int]:
    """How many times each chat received a message with exactly ``text``."""
    return Counter(
        s["chat"]["id"]
        for s in bot.net.telegram.sent
        if s["method"] == "sendMessage" and plain(s.get("text", "")) == text
    )


async def _users(bot: BotUnderTest, first: int, count: int) -> list[int]:
    """``count`` users known to the bot (rows in "User") whose chats are open on the fake."""
    ids = list(range(first, first + count))
    for tid in ids:
        await bot.app.repos.users.get_or_create(tid, f"user{tid}")
        bot.net.telegram.add_user(tid)
    return ids


async def test_admin_broadcast_reaches_every_user_once_and_counts_the_blocked(
    bot: BotUnderTest,
) -> None:
    admin = User(bot.net, ADMIN)
    await admin.start()
    users = await _users(bot, 911_001, 6)
    bot.net.telegram.user_blocks(users[2])
    gone = 911_100  # in the database, but Telegram has no chat with them: refused (400)
    await bot.app.repos.users.get_or_create(gone, "gone")

    reply = await admin.says("/broadcast Hello & <welcome>", until=lambda t: "📣" in t)
    assert "started to 8 users" in plain(reply["text"])
    summary = await admin.wait_for(
        lambda m: "done" in m.get("text", ""), after=reply["message_id"], what="summary"
    )

    text = "Hello & <welcome>"  # the admin's text, escaped as HTML and shown as typed
    got = _got(bot, text)
    assert got == Counter({tid: 1 for tid in [ADMIN, *users] if tid != users[2]})
    assert plain(summary["text"]) == (
        "📣 Broadcast #1 done: 6 sent, 1 blocked the bot, 1 failed (of 8 users)."
    )
    status = await admin.says("/broadcast", until=lambda t: "Usage" in t)
    assert "Last: #1 DONE: 6 sent, 1 blocked, 1 failed of 8" in plain(status["text"])


async def test_a_non_admin_cannot_broadcast(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.start()
    after = user.last_id()
    await user.type("/broadcast spam")  # as an unknown command: the /help after it is answered
    await user.says("/help", until=lambda t: "How to use" in t, what="help")
    assert _got(bot, "spam") == Counter()
    assert [m for m in user.inbox() if m["message_id"] > after and "📣" in m["text"]] == []


async def test_a_stopped_broadcast_resumes_without_sending_anyone_twice(bot: BotUnderTest) -> None:
    assert bot.app.telegram is not None
    await _users(bot, 912_001, 12)
    store = BroadcastRepository(bot.app.database)
    record = await store.create("resume me", by=ADMIN)
    tg_bot = bot.app.telegram.bot

    first = BroadcastRunner(tg_bot, store)
    stop = asyncio.Event()
    await first.start("ignored", by=ADMIN)  # queue a second one too: it must survive the stop
    run = asyncio.create_task(first.run(stop))
    first._queue.put_nowait(record.id)  # one more queued behind it
    while sum(_got(bot, "ignored").values()) < 3:
        assert not run.done()
        await asyncio.sleep(0.005)
    stop.set()  # "restart" half-way through the first queued broadcast
    await run
    sent_before = sum(_got(bot, "ignored").values())
    total = (await store.get(record.id + 1)).total  # type: ignore[union-attr]
    assert 0 < sent_before < total, "the stop came half-way"

    # the restarted process: two runners at once (two replicas), both resume from the database
    stop2 = asyncio.Event()
    runners = [BroadcastRunner(tg_bot, store), BroadcastRunner(tg_bot, store)]
    tasks = [asyncio.create_task(r.run(stop2)) for r in runners]
    deadline = asyncio.get_running_loop().time() + 30
    while await store.running():
        assert asyncio.get_running_loop().time() < deadline, "the broadcasts were not resumed"
        await asyncio.sleep(0.02)
    stop2.set()
    await asyncio.gather(*tasks)

    for text, broadcast_id in (("ignored", record.id + 1), ("resume me", record.id)):
        got = _got(bot, text)
        done = await store.get(broadcast_id)
        assert done is not None
        assert done.status == "DONE"
        assert set(got.values()) == {1}, got  # nobody twice
        assert done.sent == len(got) == done.total - done.blocked - done.failed


async def test_a_text_over_telegrams_limit_is_refused_with_its_length(bot: BotUnderTest) -> None:
    admin = User(bot.net, ADMIN)
    reply = await admin.says("/broadcast " + "x" * 4097, until=lambda t: "characters" in t)
    assert plain(reply["text"]) == "The text is 4097 characters; a message holds at most 4096."
    assert _got(bot, "x" * 4097) == Counter()
