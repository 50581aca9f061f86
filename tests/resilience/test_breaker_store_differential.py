"""The Lua script and the pure policy are one state machine: random sequences agree per step."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sniper_bot.cache.redis import RedisManager
from sniper_bot.cache.redis_breaker import RedisBreakerStore
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.breaker_policy import BreakerConfig, BreakerState
from sniper_bot.resilience.breaker_store import MemoryBreakerStore

CFG = BreakerConfig(
    failure_threshold=3,
    success_threshold=2,
    timeout_s=2.0,
    monitoring_period_s=4.0,
    half_open_max_calls=2,
)

calls = st.tuples(st.sampled_from(["acquire", "success", "failure", "release"]), st.booleans())
advance = st.tuples(st.just("advance"), st.integers(0, 3).map(lambda s: s * 1_000))
force = st.tuples(st.just("force"), st.sampled_from(list(BreakerState)))
# Whole seconds so window/timeout boundaries are hit exactly; operator forces are rare.
events = st.lists(
    st.one_of(calls, calls, calls, advance, advance, force),
    min_size=8,
    max_size=40,
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(evs=events)
@example(  # window and timeout boundaries, hit exactly
    evs=[
        ("failure", False),
        ("advance", 3_000),
        ("advance", 1_000),
        ("failure", False),
        ("failure", False),
        ("failure", False),
        ("advance", 1_000),
        ("acquire", False),
        ("advance", 1_000),
        ("acquire", False),
        ("acquire", False),
        ("acquire", False),
        ("success", True),
        ("failure", True),
        ("advance", 2_000),
        ("acquire", False),
        ("release", True),
        ("acquire", False),
        ("success", True),
        ("acquire", False),
        ("success", True),
    ]
)
async def test_redis_store_matches_memory_store(
    redis_url: str, evs: list[tuple[str, object]]
) -> None:
    manager = RedisManager(redis_url, metrics=Metrics())
    await manager.start()
    redis_store = RedisBreakerStore(manager)
    memory = MemoryBreakerStore()
    name = f"diff-{uuid.uuid4().hex[:8]}"
    now = 1_700_000_000_000
    try:
        for op, arg in evs:
            if op == "advance":
                assert isinstance(arg, int)
                now += arg
                continue
            if op == "acquire":
                assert await redis_store.acquire(name, CFG, now) == await memory.acquire(
                    name, CFG, now
                )
            elif op == "force":
                assert isinstance(arg, BreakerState)
                assert await redis_store.force(name, arg, now) == await memory.force(name, arg, now)
            else:
                probe = bool(arg)
                step = {"success": "success", "failure": "failure", "release": "release"}[op]
                r = await getattr(redis_store, step)(name, CFG, now, probe)
                m = await getattr(memory, step)(name, CFG, now, probe)
                assert r == m, (op, probe)
            assert await redis_store.load(name, CFG, now) == await memory.load(name, CFG, now)
    finally:
        await manager.close()
