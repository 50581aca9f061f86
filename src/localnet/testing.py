"""Start a localnet in-process for tests: free ports, manual slots, fault-free endpoints by default.

    async with running_localnet() as net:
        url = net.urls.rpc["helius"]["http"]
        net.cluster.advance_slots(32)          # finalize what landed so far

Overrides are `LocalnetConfig` fields (`seed=`, `slot_ms=`, `sigverify=`, `endpoints=`,
`scenario=`, `default_scenario=True` to play the endless default mix, `max_transactions=`...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from localnet.faults import FaultProfile
from localnet.node import EndpointConfig, Localnet, LocalnetConfig

TEST_ENDPOINTS = (
    EndpointConfig("helius", FaultProfile()),
    EndpointConfig("quicknode", FaultProfile()),
    EndpointConfig("public", FaultProfile()),
)


@asynccontextmanager
async def running_localnet(**overrides: Any) -> AsyncIterator[Localnet]:
    """A started `Localnet`; `slot_ms=None` (step slots yourself) and no scenario unless
    overridden."""
    values: dict[str, Any] = {
        "slot_ms": None,
        "endpoints": TEST_ENDPOINTS,
        "default_scenario": False,
    }
    values.update(overrides)
    net = Localnet(LocalnetConfig(**values))
    await net.start()
    try:
        yield net
    finally:
        await net.stop()
