"""Three `sniper-bot run` replicas in webhook mode behind nginx, on one PostgreSQL and one Redis.

The fake Bot API pushes every update to nginx as Telegram does (up to 40 at once, one per chat,
retried until a 2xx). Any replica serves any user; an update is answered exactly once even when
the replica that had it is SIGKILLed; a conversation whose steps land on different replicas goes
on where it was. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import re
import time

import asyncpg
import pytest

from support.replicas import ReplicaSet

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADDRESS = re.compile(r"\b[1-9A-HJ-NP-Za-km-z]{32,44}\b")


async def _handled(rs: ReplicaSet) -> list[int]:
    return [await r.updates_handled() if r.alive else 0 for r in rs.replicas]


async def test_a_thousand_users_over_three_replicas_are_each_answered_exactly_once(
    replicas: ReplicaSet,
) -> None:
    rs = replicas
    users = list(range(1_000_001, 1_001_001))
    chats = set(users)
    before = await _handled(rs)

    # /help: the cheapest answer, so 1,000 fit this machine's budget (a first /start creates a
    # wallet and reads its balance: the kill test below uses it, bench/bench_load.py measures it)
    await rs.send_many({u: "/help" for u in users})
    replies = await rs.until_each_has(chats, 1, timeout_s=50)
    await rs.drained()
    await asyncio.sleep(0.5)  # a second answer to anyone would have arrived by now
    replies = await rs.sent_to(chats)

    assert {c: len(t) for c, t in replies.items() if len(t) != 1} == {}
    assert len({texts[0] for texts in replies.values()}) == 1  # the help text, for everyone
    after = await _handled(rs)
    per_replica = [a - b for a, b in zip(after, before, strict=True)]
    assert all(n > 0 for n in per_replica), per_replica  # nginx spread them
    assert sum(per_replica) == len(users), per_replica  # handled once in all, across replicas
    for replica in rs.replicas:  # each replica says who it is, in /health and /metrics
        assert (await replica.health())["instance"] == replica.instance
        assert f'bot_instance_info{{instance_id="{replica.instance}"}} 1.0' in (
            await replica.metrics()
        )


async def test_a_replica_killed_mid_traffic_loses_no_update_and_doubles_none(
    replicas: ReplicaSet,
) -> None:
    rs = replicas
    victim, gate = rs[1], rs.gates[1]
    users = list(range(2_000_001, 2_000_301))
    chats = set(users)
    failures_before = len((await rs.webhook())["failures"])

    await rs.send_many({u: "/start" for u in users})
    deadline = time.monotonic() + 30
    while sum(len(t) for t in (await rs.sent_to(chats)).values()) < 50:
        assert time.monotonic() < deadline, "no traffic"
        await asyncio.sleep(0.05)
    # the victim's Bot API calls stop getting out: the updates it holds now are provably not
    # answered when it dies (the gap between a send and its done mark is the one window left:
    # src/sniper_bot/telegram/dedup.py)
    gate.hold()
    deadline = time.monotonic() + 20
    while gate.held == 0:
        assert time.monotonic() < deadline, "the victim never got an update while held"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    await victim.kill()  # SIGKILL
    gate.release()  # nothing the dead process asked for is still waiting

    replies = await rs.until_each_has(chats, 1, timeout_s=50)
    # every update confirmed (a handler that never ended would hold its update: 503 for ever)
    await rs.drained()
    await asyncio.sleep(0.5)
    replies = await rs.sent_to(chats)
    assert {c: len(t) for c, t in replies.items() if len(t) != 1} == {}
    addresses = {ADDRESS.findall(texts[0])[0] for texts in replies.values()}
    assert len(addresses) == len(users)  # each user got their own home (own wallet)
    retried = (await rs.webhook())["failures"][failures_before:]
    assert any("502" in f["error"] or "503" in f["error"] for f in retried), retried[:5]

    await rs.start(1)  # restarted, it serves again
    again = [3_000_001 + i for i in range(30)]
    await rs.send_many({u: "/start" for u in again})
    await rs.until_each_has(set(again), 1)
    assert (await victim.health())["instance"] == victim.instance


async def test_a_conversation_goes_on_across_replicas(replicas: ReplicaSet) -> None:
    """/settings -> "fixed tip" (waits for an amount) on replica 0 alone; then only replicas 1
    and 2 run, and the amount typed next is understood there (the state is shared)."""
    rs = replicas
    users = list(range(4_000_001, 4_000_021))
    chats = set(users)
    await rs.send_many({u: "/start" for u in users})
    await rs.until_each_has(chats, 1)

    await asyncio.gather(rs.stop(1), rs.stop(2))
    first = await rs[0].updates_handled()
    await rs.send_many({u: "/settings" for u in users})
    await rs.until_each_has(chats, 2)
    for user in users:
        settings = (await rs.inbox(user))[-1]
        await rs.press(user, settings["message_id"], "st:tip:fixed")
    prompts = await rs.until_each_has(chats, 3)
    assert all("Send the Jito tip in SOL" in texts[2] for texts in prompts.values()), prompts
    assert await rs[0].updates_handled() - first == 2 * len(users)

    await asyncio.gather(rs.start(1), rs.start(2))
    await rs.kill(0)
    await rs.send_many({u: "0.0042" for u in users})
    done = await rs.until_each_has(chats, 4)
    assert all("fixed 0.0042" in texts[3] for texts in done.values()), done
    handled = [await rs[i].updates_handled() for i in (1, 2)]
    assert sum(handled) == len(users)
    dsn = rs[1].env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        tips = await conn.fetch(
            'SELECT s."jitoTipLamports" AS tip FROM "UserSettings" s JOIN "User" u '
            'ON u.id = s."userId" WHERE u."telegramId" = ANY($1::bigint[])',
            users,
        )
    finally:
        await conn.close()
    assert sorted(row["tip"] for row in tips) == [4_200_000] * len(users)
    await rs.start(0)


async def test_a_replica_too_slow_for_telegram_is_not_answered_twice(replicas: ReplicaSet) -> None:
    """Replica 1's answers are held past the fake Bot API's 10 s webhook timeout: Telegram gives
    up on those requests and delivers them again, through nginx, to the other replicas, which
    must not answer them too (503 while replica 1 holds their claims, 200 once it is done)."""
    rs = replicas
    gate = rs.gates[1]
    users = list(range(5_000_001, 5_000_061))
    chats = set(users)
    failures_before = len((await rs.webhook())["failures"])
    gate.hold()
    try:
        await rs.send_many({u: "/help" for u in users})
        deadline = time.monotonic() + 40
        while not any(  # Telegram timed a held request out...
            "TimeoutError" in f["error"] for f in (await rs.webhook())["failures"][failures_before:]
        ):
            assert time.monotonic() < deadline, "no webhook request timed out"
            await asyncio.sleep(0.2)
        await asyncio.sleep(3)  # ...and retries it (every second) on the other replicas
    finally:
        gate.release()
    await rs.until_each_has(chats, 1)
    await rs.drained()
    await asyncio.sleep(0.5)
    replies = await rs.sent_to(chats)
    assert {c: len(t) for c, t in replies.items() if len(t) != 1} == {}
    retried = (await rs.webhook())["failures"][failures_before:]
    assert any("503" in f["error"] for f in retried), retried[:5]  # refused while held elsewhere
