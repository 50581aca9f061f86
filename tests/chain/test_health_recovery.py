"""Idle endpoints recover: the health probe walks an OPEN breaker through HALF_OPEN to CLOSED
with no user traffic, using the breaker's own steps (two replicas: test_pool_redis.py)."""

from __future__ import annotations

from sniper_bot.chain.pool import RpcPool
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerRegistry, BreakerState

from . import fake_rpc
from .conftest import ManualClock, PoolFactory, sample

Providers = dict[str, fake_rpc.FakeRpc]
UNAVAILABLE: fake_rpc.Fault = ("status", 503, {}, b"Service Unavailable")
TIMEOUT_S = 30.0  # BreakerConfig() default


async def open_primary_and_backup(pool: RpcPool, providers: Providers) -> None:
    """Both fail until their breakers open; "public" answers every call meanwhile."""
    providers["helius"].fault = UNAVAILABLE
    providers["quicknode"].fault = UNAVAILABLE
    for _ in range(5):
        assert await pool.request("getSlot") == 1000
    assert {s.name: s.breaker_state for s in pool.status()} == {
        "helius": "OPEN",
        "quicknode": "OPEN",
        "public": "CLOSED",
    }
    for fake in providers.values():
        fake.fault = None
        fake.seen.clear()


def _transitions(metrics: Metrics, name: str, old: str, new: str) -> float:
    return sample(
        metrics,
        "circuit_breaker_transitions_total",
        name=name,
        from_state=old,
        to_state=new,
    )


async def test_idle_open_endpoints_close_through_the_health_probe_once_their_timeout_elapsed(
    make_pool: PoolFactory, providers: Providers, metrics: Metrics, clock: ManualClock
) -> None:
    pool = make_pool()
    await open_primary_and_backup(pool, providers)

    await pool.check_health()  # before the timeout: nothing reaches a refused endpoint
    assert providers["quicknode"].count() == 0
    assert {s.name: s.breaker_state for s in pool.status()}["quicknode"] == "OPEN"

    clock.advance(TIMEOUT_S)
    statuses = await pool.check_health()  # no user traffic at all

    assert {s.name: s.breaker_state for s in statuses} == {
        "helius": "CLOSED",
        "quicknode": "CLOSED",
        "public": "CLOSED",
    }
    assert providers["quicknode"].count("getHealth") == 2  # success_threshold probes
    for name in ("rpc:helius", "rpc:quicknode"):
        assert _transitions(metrics, name, "OPEN", "HALF_OPEN") == 1
        assert _transitions(metrics, name, "HALF_OPEN", "CLOSED") == 1


async def test_a_failing_probe_reopens_the_breaker_and_the_next_waits_a_full_timeout(
    make_pool: PoolFactory,
    providers: Providers,
    registry: BreakerRegistry,
    metrics: Metrics,
    clock: ManualClock,
) -> None:
    pool = make_pool()
    await open_primary_and_backup(pool, providers)
    providers["quicknode"].fault = UNAVAILABLE  # still broken

    clock.advance(TIMEOUT_S)
    await pool.check_health()
    assert registry.get("rpc:quicknode").state() is BreakerState.OPEN
    assert _transitions(metrics, "rpc:quicknode", "HALF_OPEN", "OPEN") == 1
    assert providers["quicknode"].count("getHealth") == 1  # one probe, not a retry storm

    clock.advance(TIMEOUT_S / 2)
    await pool.check_health()
    assert providers["quicknode"].count("getHealth") == 1
    providers["quicknode"].fault = None
    clock.advance(TIMEOUT_S / 2)
    await pool.check_health()
    assert registry.get("rpc:quicknode").state() is BreakerState.CLOSED
