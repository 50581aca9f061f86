"""A whole localnet starts and stops cleanly: no warnings (aiohttp deprecations included)."""

from __future__ import annotations

import warnings

import aiohttp

from localnet.testing import running_localnet


async def test_a_localnet_starts_serves_and_stops_without_any_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "shutdown_timeout should be set on BaseRunner"
        async with running_localnet(seed=1) as net, aiohttp.ClientSession() as session:
            assert net.urls is not None
            for url in (
                net.urls.control + "/state",
                net.urls.jupiter + "/swap/v1/program-id-to-label",
            ):
                async with session.get(url) as resp:
                    assert resp.status == 200
            async with session.get(net.urls.telegram + "/bot1:x/getMe") as resp:
                assert (await resp.json())["ok"] is True
