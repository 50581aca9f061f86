"""CircuitBreaker behaviour, run against every BreakerStore (memory and real Redis)."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.breaker import (
    BreakerConfig,
    BreakerRegistry,
    BreakerState,
    CircuitOpenError,
)
from sniper_bot.resilience.breaker_store import BreakerStore

from .fakes import FakeClock

CFG = BreakerConfig(failure_threshold=3, success_threshold=2, timeout_s=30.0)


def sample(registry: CollectorRegistry, metric: str, **labels: str) -> float | None:
    return registry.get_sample_value(metric, labels)


@pytest.fixture
def registry(store: BreakerStore, metrics: Metrics, clock: FakeClock) -> BreakerRegistry:
    return BreakerRegistry(store, CFG, metrics, clock=clock)


async def trip(registry: BreakerRegistry, name: str = "rpc_pool") -> None:
    breaker = registry.get(name)
    for _ in range(CFG.failure_threshold):
        await breaker.acquire()
        await breaker.record_failure()
    assert breaker.state() is BreakerState.OPEN


async def test_new_breaker_is_closed_and_exported_as_zero(
    registry: BreakerRegistry, metrics: Metrics
) -> None:
    breaker = registry.get("rpc_pool")
    assert breaker.state() is BreakerState.CLOSED
    assert registry.get("rpc_pool") is breaker
    assert registry.all() == [breaker]
    assert sample(metrics.registry, "circuit_breaker_state", name="rpc_pool") == 0.0


async def test_threshold_failures_open_it_log_the_runbook_line_and_reject(
    registry: BreakerRegistry, metrics: Metrics, clock: FakeClock
) -> None:
    with capture_logs() as logs:
        await trip(registry)
    opened = [e for e in logs if e["event"] == "Circuit breaker is OPEN"]
    assert len(opened) == 1
    assert opened[0]["log_level"] == "warning"
    assert (opened[0]["name"], opened[0]["failures"]) == ("rpc_pool", 3)

    clock.advance(10)
    with pytest.raises(CircuitOpenError, match="Circuit breaker is OPEN: rpc_pool") as err:
        await registry.get("rpc_pool").acquire()
    assert err.value.retry_after == pytest.approx(20.0)
    assert err.value.name == "rpc_pool"

    m = metrics.registry
    assert sample(m, "circuit_breaker_state", name="rpc_pool") == 1.0
    assert sample(m, "circuit_breaker_failures_total", name="rpc_pool") == 3
    assert sample(m, "circuit_breaker_rejections_total", name="rpc_pool") == 1
    assert (
        sample(
            m,
            "circuit_breaker_transitions_total",
            name="rpc_pool",
            from_state="CLOSED",
            to_state="OPEN",
        )
        == 1
    )


async def test_after_timeout_one_probe_of_ten_runs_and_two_successes_close(
    registry: BreakerRegistry, metrics: Metrics, clock: FakeClock
) -> None:
    await trip(registry)
    breaker = registry.get("rpc_pool")
    clock.advance(30)
    assert breaker.allows_locally()
    results = await asyncio.gather(*(breaker.acquire() for _ in range(10)), return_exceptions=True)
    admitted = [r for r in results if r is None]
    assert len(admitted) == 1
    assert all(isinstance(r, CircuitOpenError) for r in results if r is not None)
    assert breaker.state() is BreakerState.HALF_OPEN
    assert sample(metrics.registry, "circuit_breaker_state", name="rpc_pool") == 0.5

    await breaker.record_success()
    assert breaker.state() is BreakerState.HALF_OPEN
    with capture_logs() as logs:
        async with breaker.guard():
            pass
    assert breaker.state() is BreakerState.CLOSED
    assert [e["event"] for e in logs] == ["Circuit breaker is CLOSED"]
    assert sample(metrics.registry, "circuit_breaker_state", name="rpc_pool") == 0.0
    assert sample(metrics.registry, "circuit_breaker_successes_total", name="rpc_pool") == 2


async def test_a_failing_probe_reopens_through_guard_and_the_error_propagates(
    registry: BreakerRegistry, clock: FakeClock
) -> None:
    await trip(registry)
    breaker = registry.get("rpc_pool")
    clock.advance(31)
    with pytest.raises(TimeoutError):
        async with breaker.guard():
            raise TimeoutError("provider timed out")
    assert breaker.state() is BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        await breaker.acquire()


async def test_release_frees_the_probe_slot_without_counting(
    registry: BreakerRegistry, clock: FakeClock
) -> None:
    await trip(registry)
    breaker = registry.get("rpc_pool")
    clock.advance(30)
    await breaker.acquire()
    with pytest.raises(CircuitOpenError):
        await breaker.acquire()
    await breaker.release()
    assert breaker.state() is BreakerState.HALF_OPEN
    assert breaker.snapshot.successes == 0
    await breaker.acquire()  # the slot is free again


async def test_cancelled_call_inside_guard_only_releases(
    registry: BreakerRegistry, clock: FakeClock
) -> None:
    await trip(registry)
    breaker = registry.get("rpc_pool")
    clock.advance(30)
    started = asyncio.Event()

    async def call() -> None:
        async with breaker.guard():
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(call())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state() is BreakerState.HALF_OPEN
    await breaker.acquire()  # the cancelled probe gave its slot back


async def test_reset_closes_and_clears_counters(
    registry: BreakerRegistry, metrics: Metrics
) -> None:
    await trip(registry)
    breaker = registry.get("rpc_pool")
    await breaker.reset()
    assert breaker.state() is BreakerState.CLOSED
    assert breaker.snapshot.failure_count == 0
    await breaker.acquire()
    assert sample(metrics.registry, "circuit_breaker_state", name="rpc_pool") == 0.0


async def test_breakers_are_independent_per_name(registry: BreakerRegistry) -> None:
    await trip(registry, "helius")
    await registry.get("quicknode").acquire()
    assert registry.get("quicknode").state() is BreakerState.CLOSED


async def test_failures_outside_the_monitoring_window_do_not_open(
    registry: BreakerRegistry, clock: FakeClock
) -> None:
    breaker = registry.get("rpc_pool")
    for _ in range(6):
        await breaker.record_failure()
        clock.advance(31)  # 60 s window: never 3 failures inside it
    assert breaker.state() is BreakerState.CLOSED


async def test_per_breaker_config_overrides_the_default(registry: BreakerRegistry) -> None:
    breaker = registry.get("jupiter", BreakerConfig(failure_threshold=1))
    await breaker.record_failure()
    assert breaker.state() is BreakerState.OPEN


async def test_after_the_registry_stops_failures_are_not_counted_and_probe_slots_are_freed(
    registry: BreakerRegistry, store: BreakerStore, metrics: Metrics, clock: FakeClock
) -> None:
    closed = registry.get("rpc:primary")
    await trip(registry, "rpc:backup")
    probing = registry.get("rpc:backup")
    clock.advance(30)
    await probing.acquire()  # the HALF_OPEN probe slot, held when the stop comes
    await closed.acquire()

    registry.stop()  # the process is stopping: calls now fail because of us
    for _ in range(CFG.failure_threshold):
        await closed.record_failure()
    await probing.record_failure()

    assert closed.state() is BreakerState.CLOSED
    assert (await store.load("rpc:primary", CFG, int(clock() * 1000))).failure_count == 0
    assert probing.state() is BreakerState.HALF_OPEN
    assert (await store.load("rpc:backup", CFG, int(clock() * 1000))).probes == 0
    assert sample(metrics.registry, "circuit_breaker_failures_total", name="rpc:primary") is None
    assert registry.get("rpc:later").stopped  # created after the stop: stopped as well
