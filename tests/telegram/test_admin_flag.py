"""The maintenance flag /maintenance sets: shared by replicas through Redis, local without it."""

from __future__ import annotations

import redis.asyncio as aioredis

from sniper_bot.cache.maintenance import MAINTENANCE_KEY, MaintenanceFlag
from sniper_bot.cache.redis import RedisManager
from sniper_bot.observability.metrics import Metrics
from support.services import RedisServer, free_port


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _manager(url: str) -> RedisManager:
    manager = RedisManager(url, metrics=Metrics())
    await manager.start()
    return manager


async def test_one_replica_turns_it_on_and_the_other_sees_it_within_the_ttl(
    redis_url: str,
) -> None:
    a, b = await _manager(redis_url), await _manager(redis_url)
    clock = Clock()
    try:
        first, second = MaintenanceFlag(a, clock=clock), MaintenanceFlag(b, clock=clock)
        assert not await second.is_on()  # read (and cached) before the change

        state = await first.set(True, by=4242)
        assert state.on
        assert state.shared
        assert state.by == 4242
        assert not await second.is_on()  # still its cached read
        clock.now += 1.0
        seen = await second.state()
        assert seen.on
        assert seen.shared
        assert seen.by == 4242
        assert seen.since_ms is not None

        await second.set(False, by=1)
        clock.now += 1.0
        assert not await first.is_on()
        client = aioredis.Redis.from_url(redis_url)
        try:
            assert await client.get(MAINTENANCE_KEY) is None
            await client.set(MAINTENANCE_KEY, "1")  # an operator's redis-cli SET maintenance 1
        finally:
            await client.aclose()
        clock.now += 1.0
        assert await first.is_on()
    finally:
        await a.close()
        await b.close()


async def test_without_redis_the_flag_lives_in_the_process() -> None:
    flag = MaintenanceFlag(None)
    assert not await flag.is_on()
    state = await flag.set(True, by=7)
    assert state.on
    assert not state.shared
    assert await flag.is_on()
    await flag.set(False)
    assert not await flag.is_on()


async def test_a_redis_outage_keeps_the_last_value_and_falls_back_to_local() -> None:
    server = RedisServer(free_port())
    server.start()
    manager = await _manager(server.url)
    clock = Clock()
    try:
        flag = MaintenanceFlag(manager, clock=clock)
        assert (await flag.set(True, by=9)).shared
        server.kill()
        clock.now += 5.0
        assert await flag.is_on()  # the outage does not turn maintenance off
        await flag.set(False, by=9)  # while Redis is away: this process only
        assert not manager.available
        state = await flag.state()
        assert not state.on
        assert not state.shared
    finally:
        await manager.close()
        server.kill()
