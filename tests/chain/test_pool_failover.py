"""Runbook "RPC Connection Failures", reproduced against scripted providers and survived."""

from __future__ import annotations

from typing import Any

import pytest

from sniper_bot.chain.errors import PreflightFailure, RpcTimeout, RpcUnavailableError
from sniper_bot.chain.pool import Read
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerRegistry, BreakerState

from . import fake_rpc
from .conftest import ManualClock, PoolFactory, sample

Providers = dict[str, fake_rpc.FakeRpc]


async def test_calls_go_to_the_highest_priority_endpoint(
    make_pool: PoolFactory, providers: Providers, metrics: Metrics
) -> None:
    pool = make_pool()
    assert await pool.request("getSlot") == 1000
    assert providers["helius"].count("getSlot") == 1
    assert providers["quicknode"].count() == 0
    assert (
        sample(metrics, "rpc_requests_total", endpoint="helius", method="getSlot", outcome="ok")
        == 1
    )


async def test_429_storm_on_primary_is_served_by_the_next_endpoint_and_retry_after_is_honoured(
    make_pool: PoolFactory, providers: Providers, metrics: Metrics, clock: ManualClock
) -> None:
    pool = make_pool()
    providers["helius"].fault = ("status", 429, {"Retry-After": "5"}, b"Too Many Requests")
    for _ in range(3):
        assert await pool.request("getSlot") == 1000
    # One 429, then helius is left alone for the Retry-After window.
    assert providers["helius"].count() == 1
    assert providers["quicknode"].count() == 3
    assert (
        sample(metrics, "rpc_failovers_total", from_endpoint="helius", reason="rate_limited") == 1
    )
    providers["helius"].fault = None
    clock.advance(4.0)
    await pool.request("getSlot")
    assert providers["helius"].count() == 1
    clock.advance(1.5)
    await pool.request("getSlot")
    assert providers["helius"].count() == 2


async def test_503_outage_opens_the_endpoint_breaker_and_it_recovers_through_half_open(
    make_pool: PoolFactory, providers: Providers, registry: BreakerRegistry, clock: ManualClock
) -> None:
    pool = make_pool()
    providers["helius"].fault = ("status", 503, {}, b"Service Unavailable")
    for _ in range(8):
        assert await pool.request("getSlot") == 1000
    breaker = registry.get("rpc:helius")
    assert breaker.state() is BreakerState.OPEN
    assert providers["helius"].count() == 5  # failure_threshold; then no call reaches it
    assert registry.get("rpc_pool").state() is BreakerState.CLOSED

    providers["helius"].fault = None
    clock.advance(30.0)
    await pool.request("getSlot")
    assert breaker.state() is BreakerState.HALF_OPEN
    await pool.request("getSlot")
    assert breaker.state() is BreakerState.CLOSED
    assert providers["helius"].count() == 7


async def test_timeout_on_primary_fails_over_within_the_deadline(
    make_pool: PoolFactory, providers: Providers, metrics: Metrics
) -> None:
    pool = make_pool(default_timeout_s=0.1)
    providers["helius"].fault = ("delay", 2.0)
    assert await pool.request("getSlot") == 1000
    assert providers["quicknode"].count() == 1
    assert sample(metrics, "rpc_failovers_total", from_endpoint="helius", reason="timeout") == 1


async def test_node_behind_fails_over_and_demotes_the_endpoint(
    make_pool: PoolFactory, providers: Providers
) -> None:
    pool = make_pool()
    providers["helius"].fault = ("rpc_error", -32005, "Node is behind by 120 slots", None)
    assert await pool.request("getSlot") == 1000
    providers["helius"].fault = None
    assert await pool.request("getSlot") == 1000
    assert providers["helius"].count() == 1  # demoted until the health probe clears it
    assert providers["quicknode"].count() == 2
    await pool.check_health()  # its batch carries one getSlot
    await pool.request("getSlot")
    assert providers["helius"].count("getSlot") == 3
    assert providers["quicknode"].count("getSlot") == 3


async def test_health_probe_marks_a_lagging_endpoint_behind(
    make_pool: PoolFactory, providers: Providers, metrics: Metrics
) -> None:
    pool = make_pool(max_slot_lag=50)
    providers["helius"].results["getSlot"] = 900
    providers["quicknode"].results["getSlot"] = 1000
    statuses = {s.name: s for s in await pool.check_health()}
    assert statuses["helius"].behind
    assert not statuses["quicknode"].behind
    assert sample(metrics, "rpc_endpoint_slot", endpoint="helius") == 900
    providers["helius"].seen.clear()
    await pool.request("getBalance", ["x"])
    assert providers["helius"].count() == 0


async def test_a_rejected_request_is_not_failed_over_and_does_not_hurt_the_breaker(
    make_pool: PoolFactory, providers: Providers, registry: BreakerRegistry
) -> None:
    pool = make_pool()
    providers["helius"].fault = (
        "rpc_error",
        -32002,
        "Transaction simulation failed: Blockhash not found",
        {"err": "BlockhashNotFound", "logs": [], "unitsConsumed": 0},
    )
    for _ in range(6):
        with pytest.raises(PreflightFailure) as info:
            await pool.send("sendTransaction", ["AAAA", {"encoding": "base64"}])
        assert info.value.err == "BlockhashNotFound"
    assert providers["quicknode"].count() == 0
    assert registry.get("rpc:helius").state() is BreakerState.CLOSED


async def test_a_non_idempotent_request_is_not_resent_after_an_ambiguous_timeout(
    make_pool: PoolFactory, providers: Providers
) -> None:
    pool = make_pool(default_timeout_s=0.1)
    providers["helius"].fault = ("delay", 2.0)
    with pytest.raises(RpcTimeout):
        await pool.request("requestAirdrop", ["x", 1], idempotent=False)
    assert providers["quicknode"].count() == 0


async def test_a_non_idempotent_request_is_resent_when_the_first_endpoint_refused_it(
    make_pool: PoolFactory, providers: Providers
) -> None:
    pool = make_pool()
    providers["helius"].fault = ("status", 429, {}, b"")
    await pool.request("requestAirdrop", ["x", 1], idempotent=False)
    assert providers["quicknode"].count("requestAirdrop") == 1


async def test_send_fans_out_the_same_transaction_to_several_endpoints(
    make_pool: PoolFactory, providers: Providers
) -> None:
    pool = make_pool()
    providers["helius"].fault = ("status", 503, {}, b"")
    signature: str = await pool.send("sendTransaction", ["AAAA", {"encoding": "base64"}], fanout=2)
    assert signature.startswith("5VER")
    await pool.close()  # waits for/cancels the copies still in flight
    assert providers["helius"].count("sendTransaction") == 1
    assert providers["quicknode"].count("sendTransaction") == 1


async def test_all_endpoints_down_opens_the_pool_then_reads_degrade_and_writes_fail_fast(
    make_pool: PoolFactory,
    providers: Providers,
    registry: BreakerRegistry,
    clock: ManualClock,
    metrics: Metrics,
) -> None:
    pool = make_pool()
    balance: Read[dict[str, Any]] = await pool.read(
        "getBalance", ["w1"], cache_key=("balance", "w1"), ttl_s=5
    )
    assert not balance.stale
    for fake in providers.values():
        fake.fault = ("status", 503, {}, b"Service Unavailable")
    for _ in range(5):
        with pytest.raises(RpcUnavailableError, match="RPC unavailable"):
            await pool.request("getSlot")
    assert registry.get("rpc_pool").state() is BreakerState.OPEN
    assert sample(metrics, "circuit_breaker_state", name="rpc_pool") == 1.0
    hits = sum(f.count() for f in providers.values())

    stale: Read[dict[str, Any]] = await pool.read(
        "getBalance", ["w1"], cache_key=("balance", "w1"), ttl_s=5
    )
    assert stale.stale
    assert stale.value == balance.value
    assert sample(metrics, "rpc_degraded_reads_total", method="getBalance") == 1
    with pytest.raises(RpcUnavailableError, match="rpc_pool is OPEN") as info:
        await pool.send("sendTransaction", ["AAAA"])
    assert info.value.retry_after == pytest.approx(30.0)
    with pytest.raises(RpcUnavailableError):
        await pool.read("getBalance", ["never-seen"], cache_key=("balance", "never-seen"))
    assert sum(f.count() for f in providers.values()) == hits  # nothing was attempted

    for fake in providers.values():
        fake.fault = None
    clock.advance(31.0)
    assert await pool.request("getSlot") == 1000  # HALF_OPEN probe, on every breaker
    assert registry.get("rpc_pool").state() is BreakerState.HALF_OPEN
    assert await pool.request("getSlot") == 1000
    assert registry.get("rpc_pool").state() is BreakerState.CLOSED
    fresh: Read[dict[str, Any]] = await pool.read("getBalance", ["w1"], cache_key=("balance", "w1"))
    assert not fresh.stale
