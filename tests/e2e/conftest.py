"""E2E fixtures: one localnet + one app per test module and backend.

``bot`` runs every test of a module twice: on the embedded default (SQLite file, no Redis) and on
PostgreSQL + Redis. Tests in a module share the bot, so each talks as its own Telegram user
(``bot.user()``) and launches its own tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from .harness import BotUnderTest, bot_under_test
from .services import postgres_database, redis_database

BACKENDS = ("sqlite", "postgres+redis")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=BACKENDS)
async def bot(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotUnderTest]:
    data_dir = tmp_path_factory.mktemp("e2e")
    if request.param == "sqlite":
        async with bot_under_test(data_dir) as sqlite_bot:
            yield sqlite_bot
        return
    async with (
        postgres_database() as database_url,
        redis_database() as redis_url,
        bot_under_test(data_dir, database_url=database_url, redis_url=redis_url) as pg_bot,
    ):
        yield pg_bot


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sqlite_bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    """One bot on the embedded default, for tests that change the bot's surroundings."""
    async with bot_under_test(tmp_path_factory.mktemp("e2e-sqlite")) as only:
        yield only
