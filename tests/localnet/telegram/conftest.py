"""The fake Bot API served on a free port, its flood/expiry clock moved by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from localnet.telegram import FakeTelegram, create_telegram_app
from support.services import free_port

from .helpers import DATE, TOKEN, Api, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(clock: Clock) -> AsyncIterator[Api]:
    fake = FakeTelegram()
    fake.token, fake.monotonic, fake.clock = TOKEN, clock, lambda: float(DATE)
    runner = web.AppRunner(create_telegram_app(fake))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Api(fake, f"http://127.0.0.1:{port}", http, clock)
    finally:
        await runner.cleanup()
