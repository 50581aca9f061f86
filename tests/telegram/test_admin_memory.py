"""/memory through the fake Telegram Bot API against the whole app (in this process) on localnet.

Admins get RSS and peak, gc counts and cache sizes; ``/memory trace on`` starts tracemalloc, and
then /memory lists the top allocation sites and what grew since the previous /memory, so a block
allocated here, in the test process, shows up with this file and line. Anyone else gets exactly
what an unknown command gets, and tracing stays off.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from e2e.harness import BotUnderTest, User, bot_under_test, plain

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADMIN = 900_101
HOARD_BLOCKS = 4_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    data_dir = tmp_path_factory.mktemp("admin-memory")
    try:
        async with bot_under_test(data_dir, env={"ADMIN_TELEGRAM_IDS": str(ADMIN)}) as b:
            yield b
    finally:
        tracemalloc.stop()  # never leave the rest of the suite traced


async def _only_reply_is_help(user: User, command: str) -> list[str]:
    after = user.last_id()
    await user.type(command)
    await user.says("/help", until=lambda t: "How to use" in t, what="help")
    return [plain(m["text"]) for m in user.inbox() if m["message_id"] > after]


def _hoard() -> list[bytearray]:
    return [bytearray(1_000) for _ in range(HOARD_BLOCKS)]  # HOARD LINE


def _hoard_line() -> str:
    with open(__file__, encoding="utf-8") as source:
        number = next(
            i for i, line in enumerate(source, 1) if line.rstrip().endswith("# HOARD LINE")
        )
    return f"test_admin_memory.py:{number}"


def _site_kib(text: str, where: str) -> list[tuple[float, int]]:
    """(KiB, blocks) of each line naming ``where`` (top and growth lists)."""
    pattern = re.escape(where) + r" \+?([\d.]+) KiB, \+?(\d+) blocks"
    return [(float(kib), int(n)) for kib, n in re.findall(pattern, text)]


async def test_memory_shows_rss_gc_and_caches_without_tracing(bot: BotUnderTest) -> None:
    admin = User(bot.net, ADMIN)
    reply = plain((await admin.says("/memory", until=lambda t: "Memory" in t))["text"])

    rss = re.search(r"Memory: RSS ([\d.]+) MiB, peak ([\d.]+) MiB", reply)
    assert rss is not None, reply
    assert 0 < float(rss[1]) <= float(rss[2])
    assert re.search(r"GC collections: \d+/\d+/\d+ \(pending \d+/\d+/\d+\)", reply), reply
    assert re.search(r"rpc reads: \d+ / \d+", reply), reply
    assert "Tracing off" in reply
    assert not tracemalloc.is_tracing()
    usage = await admin.says("/memory trace maybe", until=lambda t: "Usage" in t)
    assert "Usage: /memory, or /memory trace on|off" in plain(usage["text"])


async def test_tracing_shows_the_top_sites_and_their_growth(bot: BotUnderTest) -> None:
    admin = User(bot.net, ADMIN)
    on = plain((await admin.says("/memory trace on", until=lambda t: "Tracing on" in t))["text"])
    assert tracemalloc.is_tracing()
    assert "Growth: from the next /memory on" in on
    try:
        hoard = _hoard()
        where = _hoard_line()
        first = (await admin.says("/memory", until=lambda t: "Top" in t))["text"]
        shown = plain(first)
        assert len(first) <= 4096
        assert "Growth since the previous /memory" in shown
        top_and_growth = _site_kib(shown, where)
        assert len(top_and_growth) == 2, shown  # in the top 10 and in the growth
        for kib, blocks in top_and_growth:
            assert blocks >= HOARD_BLOCKS
            assert kib >= HOARD_BLOCKS * 1_000 / 1024
        assert str(Path(__file__).parent) not in shown  # file paths relative, no install path

        second = plain((await admin.says("/memory", until=lambda t: "Top" in t))["text"])
        growth = second.split("Growth since the previous /memory", 1)[1]
        assert where not in growth  # it grew before the previous look, not since
        assert where in second  # still held: still in the top
        del hoard

        off = await admin.says("/memory trace off", until=lambda t: "Tracing off" in t)
        assert where not in plain(off["text"])
        assert not tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


async def test_non_admins_get_what_an_unknown_command_gets(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.start()
    unknown = await _only_reply_is_help(user, "/nosuchcommand")
    memory = await _only_reply_is_help(user, "/memory")
    trace = await _only_reply_is_help(user, "/memory trace on")

    assert len(unknown) == 1
    assert "How to use" in unknown[0]
    assert memory == unknown
    assert trace == unknown
    assert not tracemalloc.is_tracing()  # the non-admin's "trace on" did nothing
