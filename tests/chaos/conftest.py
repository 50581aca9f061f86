"""Chaos fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.services import RedisServer


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A private redis-server (no persistence) the test may SIGSTOP, SIGCONT, kill and restart;
    killed afterwards (SIGKILL ends it even while it is stopped)."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.kill()
