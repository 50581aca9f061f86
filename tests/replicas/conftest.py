"""One replica set (localnet, nginx, three `sniper-bot run` in webhook mode) for the module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from support.replicas import ReplicaSet, replica_set
from support.services import postgres_database, redis_database


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def replicas(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReplicaSet]:
    async with postgres_database("sniper_replicas") as pg_url, redis_database() as redis_url:
        workdir = tmp_path_factory.mktemp("replicas")
        async with replica_set(workdir, pg_url, redis_url, replicas=3, gated=(1,)) as rs:
            yield rs
