"""A stop is not the endpoints' fault: calls cut short by closing our own session count nowhere."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from sniper_bot.chain.errors import RpcClientClosed
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerRegistry, BreakerState

from . import fake_rpc
from .conftest import PoolFactory, sample, until

Providers = dict[str, fake_rpc.FakeRpc]
NAMES = ("helius", "quicknode", "public")


def _failures(metrics: Metrics) -> dict[str, float]:
    names = [*(f"rpc:{n}" for n in NAMES), "rpc_pool"]
    counted = {n: sample(metrics, "circuit_breaker_failures_total", name=n) for n in names}
    return {n: v for n, v in counted.items() if v}


async def test_requests_in_flight_when_our_session_closes_count_against_no_breaker(
    make_pool: PoolFactory,
    providers: Providers,
    registry: BreakerRegistry,
    metrics: Metrics,
    session: aiohttp.ClientSession,
) -> None:
    pool = make_pool(default_timeout_s=5.0)
    providers["helius"].fault = ("delay", 3.0)  # every call is still on the wire at the stop
    calls = [asyncio.create_task(pool.request("getSlot")) for _ in range(6)]
    await until(lambda: providers["helius"].count("getSlot") == 6)

    await session.close()

    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, RpcClientClosed) for o in outcomes), outcomes
    assert _failures(metrics) == {}
    assert {b.name: b.state() for b in registry.all()} == {
        name: BreakerState.CLOSED for name in ("rpc_pool", *(f"rpc:{n}" for n in NAMES))
    }
    assert providers["quicknode"].count() == 0  # our stop is not a reason to fail over


async def test_a_call_after_the_pool_closed_is_refused_without_reaching_any_endpoint(
    make_pool: PoolFactory, providers: Providers, metrics: Metrics
) -> None:
    pool = make_pool()
    assert await pool.request("getSlot") == 1000
    await pool.close()

    with pytest.raises(RpcClientClosed):
        await pool.request("getSlot")
    assert sum(p.count() for p in providers.values()) == 1
    assert _failures(metrics) == {}
