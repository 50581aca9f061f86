"""A stop (SIGTERM) ends the bot even when its PostgreSQL no longer answers.

The server is frozen (SIGSTOP), not stopped: its connections stay open and nothing replies, like a
hung host or a network that drops packets. Saying goodbye to such a server waits forever.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from support.services import postgres_server

from .harness import bot_under_test
from .services import redis_database

pytestmark = pytest.mark.asyncio(loop_scope="module")

# A hang check, not a timing: the app gives services 10 s (STOP_DEADLINE_S), then closes.
STOP_BOUND_S = 30.0


async def test_the_app_stops_while_its_postgresql_does_not_answer(tmp_path: Path) -> None:
    with postgres_server() as pg:
        database_url = await pg.create_database("e2e_stop")
        async with redis_database() as redis_url:
            running = bot_under_test(tmp_path, database_url=database_url, redis_url=redis_url)
            bot = await running.__aenter__()
            try:
                await bot.user().start()  # the pool holds connections to the server now
            except BaseException:
                await running.__aexit__(None, None, None)
                raise
            with pg.paused(), capture_logs() as logs:
                await asyncio.wait_for(running.__aexit__(None, None, None), STOP_BOUND_S)

    # nothing starts new database work once the stop is asked for (a round already in flight
    # against the frozen server may be cancelled at the deadline)
    late = [e.get("service") for e in logs if e["event"] == "service_stop_deadline"]
    assert "housekeeping" not in late
    # the pool's goodbye got no answer and its connections were dropped instead
    assert "database_close_timed_out" in [e["event"] for e in logs]
