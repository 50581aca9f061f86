"""One replica's feed in its own process, for the failover tests (SIGKILL is the real crash).

    python tests/cluster/feed_child.py REDIS_URL NAME LEASE_MS PREFIX [own]

Its chain feed is a ticker shared by every replica through the wall clock (notification
``seq`` = milliseconds // 10, the same content, so the same event id, in every process), as two
replicas subscribed to the same RPC provider see the same notifications. Prints ``L <token>``
when it becomes leader, ``F`` when it stops being leader, ``Y <seq>`` for each notification
its detector would decode (``O <seq>`` for its own events). With ``own``, it also sees an event
per tick nobody else sees (key ``own``): only fencing keeps those out of the stream once it was
replaced, since no other leader publishes them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from sniper_bot.cache import RedisManager
from sniper_bot.chain.ws import Notification
from sniper_bot.cluster import ClusteredFeed, ClusterStore, Leadership
from sniper_bot.observability.metrics import Metrics

TICK_MS = 10


class Ticker:
    def __init__(self, name: str, own: bool = False) -> None:
        self.name = name
        self.own = own
        self._queue: asyncio.Queue[Notification] = asyncio.Queue()

    async def logs_subscribe(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def program_subscribe(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def run(self) -> None:
        seq = int(time.time() * 1000) // TICK_MS
        while True:
            due = (seq + 1) * TICK_MS / 1000
            await asyncio.sleep(max(0.0, due - time.time()))
            seq += 1
            value = {"seq": seq, "err": None, "logs": [], "signature": f"sig{seq}"}
            self._queue.put_nowait(Notification("tick", "logsNotification", self.name, seq, value))
            if self.own:
                mine = {**value, "by": self.name}
                self._queue.put_nowait(
                    Notification("own", "logsNotification", self.name, seq, mine)
                )

    async def notifications(self) -> AsyncIterator[Notification]:
        while True:
            yield await self._queue.get()


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, name: str, lease_ms: int, prefix: str, own: bool) -> None:
    manager = RedisManager(url, metrics=Metrics(), socket_timeout_s=0.5)
    await manager.start()
    store = ClusterStore(manager.client, prefix=prefix)
    lead = Leadership(store, "ws", name, lease_ms=lease_ms)
    feed = ClusteredFeed(Ticker(name, own), store, lead, replay_s=3 * lease_ms / 1000)
    inner = lead.on_change

    def changed(up: bool, token: int) -> None:
        if inner is not None:
            inner(up, token)
        say(f"L {token}" if up else "F")

    lead.on_change = changed
    runner = asyncio.create_task(feed.run())
    async for note in feed.notifications():
        say(f"{'O' if note.key == 'own' else 'Y'} {note.value['seq']}")
    await runner


if __name__ == "__main__":
    own = sys.argv[5:6] == ["own"]
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], own))
