"""The Geyser listener against localnet's Yellowstone gRPC server (real grpc.aio both sides, real
pump.fun transactions): launches arrive with the x-token, pings are answered, a dropped stream
resumes from the last slot without losing or repeating a launch, a slow consumer told "lagged"
recovers, and with the WebSocket listener beside it each mint is emitted once (first seen wins)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair

from localnet.geyser.server import GeyserFaults
from localnet.node import Localnet
from localnet.pump.launchpad import PumpLaunchpad
from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.ws import SubscriptionManager
from sniper_bot.detection import LaunchDetector, PumpFunListener
from sniper_bot.detection.geyser import GeyserConfig, GeyserListener
from sniper_bot.detection.pumpfun import CreateSeen
from sniper_bot.domain.launch import LaunchEvent
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff

from .conftest import FAST_WS, until

SOL = 1_000_000_000
FAST = Backoff(base_s=0.01, factor=2.0, max_s=0.05, jitter=0.0)


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=71, slot_ms=20, geyser_ping_interval_s=0.05) as net:
        yield net


def _listener(net: Localnet, metrics: Metrics, **kwargs: Any) -> GeyserListener:
    assert net.urls is not None
    g = net.urls.geyser["geyser"]
    return GeyserListener(GeyserConfig(g["url"], g["x_token"], backoff=FAST), metrics,
                          rng=random.Random(1), **kwargs)  # fmt: skip


def _launch(net: Localnet, pad: PumpLaunchpad, n: int) -> str:
    creator = Keypair()
    net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    return str(pad.launch(creator, name=f"Coin {n}", symbol=f"C{n}").mint)


class Sink:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.events: list[LaunchEvent] = []
        self.delay_s = delay_s

    async def __call__(self, event: LaunchEvent) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.events.append(event)

    def mints(self) -> Counter[str]:
        return Counter(e.mint for e in self.events)


async def test_launches_arrive_with_the_token_and_pings_are_answered(net: Localnet) -> None:
    metrics = Metrics()
    creates: list[CreateSeen] = []
    listener = _listener(net, metrics, on_create=creates.append)
    sink = Sink()
    task = asyncio.create_task(listener.run(sink))
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        pad = PumpLaunchpad(net.cluster, seed=7)
        mint = _launch(net, pad, 1)
        await until(lambda: mint in sink.mints())
        [event] = sink.events
        assert (event.source, event.endpoint) == ("pumpfun", "geyser")
        assert [str(c.event.mint) for c in creates] == [mint]
        assert creates[0].event.virtual_sol_reserves is not None
        await until(lambda: (metrics.registry.get_sample_value(
            "geyser_updates_total", {"kind": "ping"}) or 0) >= 2)  # fmt: skip
        assert listener.reconnects == 0  # answered pings keep the stream; nothing dropped it
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_wrong_token_is_refused_and_retried(net: Localnet) -> None:
    assert net.urls is not None
    metrics = Metrics()
    listener = GeyserListener(
        GeyserConfig(net.urls.geyser["geyser"]["url"], "wrong-token", backoff=FAST), metrics
    )
    task = asyncio.create_task(listener.run(Sink()))
    try:
        await until(lambda: (metrics.registry.get_sample_value(
            "geyser_reconnects_total", {"reason": "unauthenticated"}) or 0) >= 2)  # fmt: skip
        assert not listener.connected.is_set()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_dropped_stream_resumes_from_the_last_slot(net: Localnet) -> None:
    metrics = Metrics()
    listener = _listener(net, metrics)
    listener.config = GeyserConfig(
        listener.config.endpoint, listener.config.x_token,
        backoff=Backoff(base_s=0.3, factor=1.0, max_s=0.3, jitter=0.0),
    )  # fmt: skip
    sink = Sink()
    task = asyncio.create_task(listener.run(sink))
    pad = PumpLaunchpad(net.cluster, seed=8)
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        first = _launch(net, pad, 1)
        await until(lambda: first in sink.mints())
        endpoint = net.geyser["geyser"]
        assert endpoint.drop_streams() == 1
        await until(lambda: not listener.connected.is_set())
        missed = _launch(net, pad, 2)  # lands while the listener waits out its backoff
        await until(lambda: listener.reconnects == 1 and listener.connected.is_set())
        await until(lambda: missed in sink.mints())
        third = _launch(net, pad, 3)
        await until(lambda: third in sink.mints())
        assert sink.mints() == Counter({first: 1, missed: 1, third: 1})
        [resumed] = [e for e in sink.events if e.mint == missed]
        assert listener.resumed_from is not None
        assert resumed.slot is not None
        assert listener.resumed_from <= resumed.slot  # the replay brought it, once
        assert metrics.registry.get_sample_value(
            "geyser_reconnects_total", {"reason": "unavailable"}) == 1  # fmt: skip
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_slow_consumer_is_told_and_recovers(net: Localnet) -> None:
    metrics = Metrics()
    listener = _listener(net, metrics)
    sink = Sink(delay_s=0.2)  # a consumer slower than the slots
    task = asyncio.create_task(listener.run(sink))
    pad = PumpLaunchpad(net.cluster, seed=9)
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        net.geyser["geyser"].set_faults(GeyserFaults(queue_limit=2))
        mints = [_launch(net, pad, n) for n in range(3)]
        await until(lambda: (metrics.registry.get_sample_value(
            "geyser_reconnects_total", {"reason": "internal"}) or 0) >= 1)  # fmt: skip
        net.geyser["geyser"].set_faults(GeyserFaults())
        sink.delay_s = 0.0
        await until(lambda: all(m in sink.mints() for m in mints), timeout_s=20)
        assert all(sink.mints()[m] == 1 for m in mints)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_with_the_websocket_listener_each_mint_is_emitted_once(net: Localnet) -> None:
    assert net.urls is not None
    metrics = Metrics()
    rpc = net.urls.rpc["helius"]
    async with aiohttp.ClientSession() as session:
        manager = SubscriptionManager(
            [EndpointConfig(name="helius", url=rpc["http"], ws_url=rpc["ws"])], metrics,
            session, redundancy=1, backoff=FAST_WS, rng=random.Random(2),
        )  # fmt: skip
        listener = _listener(net, metrics)
        detector = LaunchDetector(manager, [PumpFunListener()], metrics, feeds=[listener])
        sink = Sink()
        task = asyncio.create_task(detector.run(sink))
        pad = PumpLaunchpad(net.cluster, seed=10)
        try:
            await asyncio.wait_for(listener.connected.wait(), 10)
            await until(lambda: len(net.cluster.hub) >= 1)
            mints = [_launch(net, pad, n) for n in range(3)]
            value = metrics.registry.get_sample_value
            # both feeds saw every mint: one won it, the other's copy was timed and dropped
            await until(lambda: sum(value("launch_first_seen_gap_seconds_count",
                                          {"source": s}) or 0
                                    for s in ("geyser", "websocket")) == 3)  # fmt: skip
            assert sink.mints() == Counter(dict.fromkeys(mints, 1))
            firsts = sum(value("launch_first_seen_total", {"source": s}) or 0
                         for s in ("geyser", "websocket"))  # fmt: skip
            assert firsts == 3
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
