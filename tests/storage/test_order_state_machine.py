"""Property test: the persisted order follows the domain state machine, whatever is attempted.

Each example replays a random list of (expected, target) attempts on a fresh order in a real
SQLite database next to a model of the state machine; both must agree on every outcome.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniper_bot.domain.orders import TRANSITIONS, InvalidTransition, OrderStatus
from sniper_bot.storage import Database, Repositories, StaleOrderState
from sniper_bot.storage.models import Base

from .conftest import ORDER_DEFAULTS, StepClock, sealed

statuses = st.sampled_from(list(OrderStatus))
attempts = st.lists(st.tuples(statuses, statuses), min_size=1, max_size=12)
Outcome = str


@dataclass
class Harness:
    loop: asyncio.AbstractEventLoop
    db: Database
    repos: Repositories
    user_id: int
    wallet_id: int
    keys: Iterator[int]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One event loop and one database for all examples (engine setup is the slow part)."""
    path: Path = tmp_path_factory.mktemp("sm") / "sm.sqlite"
    loop = asyncio.new_event_loop()
    db = Database(f"sqlite+aiosqlite:///{path}")

    async def setup() -> Harness:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        repos = Repositories.build(db, StepClock())
        user = await repos.users.get_or_create(1, "u")
        wallet = await repos.wallets.create(user.id, "Pk", sealed(), "main")
        return Harness(loop, db, repos, user.id, wallet.id, itertools.count())

    try:
        yield loop.run_until_complete(setup())
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()


async def attempt(h: Harness, order_id: str, expected: OrderStatus, target: OrderStatus) -> Outcome:
    try:
        moved = await h.repos.orders.transition(order_id, expected, target)
    except InvalidTransition:
        return "invalid"
    except StaleOrderState as exc:
        return f"stale:{exc.actual}"
    return f"moved:{moved.status}"


async def replay(h: Harness, steps: list[tuple[OrderStatus, OrderStatus]]) -> None:
    order, _ = await h.repos.orders.create(
        user_id=h.user_id,
        wallet_id=h.wallet_id,
        idempotency_key=f"sm-{next(h.keys)}",
        **ORDER_DEFAULTS,
    )
    model = OrderStatus.PENDING
    for expected, target in steps:
        if target not in TRANSITIONS[expected]:
            want = "invalid"
        elif expected != model:
            want = f"stale:{model}"
        else:
            want = f"moved:{target}"
            model = target
        assert await attempt(h, order.id, expected, target) == want
    stored = await h.repos.orders.get_by_id(order.id)
    assert stored is not None
    assert stored.status == model


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=attempts)
def test_persisted_order_agrees_with_the_state_machine(
    harness: Harness, steps: list[tuple[OrderStatus, OrderStatus]]
) -> None:
    harness.loop.run_until_complete(replay(harness, steps))
