"""Every shape of "the database is unavailable" that PostgreSQL really produces is a
``TemporaryError``, and the bot's long-running services wait an outage out.

The outage is the one ``sniper-bot chaos database-loss`` injects: a private database locked with
``ALTER DATABASE ... ALLOW_CONNECTIONS false`` (SQLSTATE 55000 "is not currently accepting
connections") and its sessions ended by ``pg_terminate_backend`` (57P01). Also real: a refused
port, a role over its connection limit (53300). 57P03 (starting up / shutting down) needs a
server in that state, so it is the driver's own exception class. A 55000 that is a bug (an
undefined ``currval``) still fails fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from structlog.testing import capture_logs

from sniper_bot.app import App
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.config import load_settings
from sniper_bot.domain.entities import OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide, OrderStatus
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.storage import Database, Repositories
from sniper_bot.storage.errors import DatabaseUnavailable
from sniper_bot.storage.models import Base
from sniper_bot.storage.transient import is_transient
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue
from support.services import PG_HOST, PG_PORT, PG_USER, free_port, postgres_database

from .conftest import sealed

FAST = (0.02, 0.05)  # session retries: an outage outlasts them at once


def _states(exc: BaseException | None) -> list[str]:
    found: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(getattr(exc, "sqlstate", None), str):
            found.append(exc.sqlstate)  # type: ignore[attr-defined]
        exc = getattr(exc, "orig", None) or exc.__cause__
    return found


class Admin:
    """The operator's side of database-loss: a maintenance connection to ``postgres``."""

    def __init__(self, conn: asyncpg.Connection, name: str) -> None:
        self.conn, self.name = conn, name

    async def lock(self) -> None:
        await self.conn.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false')
        await self.terminate()

    async def terminate(self) -> None:
        await self.conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.name,
        )

    async def unlock(self) -> None:
        await self.conn.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true')


@pytest.fixture
async def pg() -> AsyncIterator[tuple[str, Admin]]:
    async with postgres_database("outage") as url:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await db.dispose()
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        admin = Admin(conn, url.rsplit("/", 1)[1])
        try:
            yield url, admin
        finally:
            await admin.unlock()
            await conn.close()


async def _select_1(db: Database) -> None:
    async with db.session() as session:
        await session.execute(text("SELECT 1"))


async def test_a_database_not_accepting_connections_is_temporary(pg: tuple[str, Admin]) -> None:
    url, admin = pg
    db = Database(url, retry_delays_s=FAST)
    try:
        await _select_1(db)
        await admin.lock()
        with pytest.raises(DatabaseUnavailable) as raised:
            await _select_1(db)
        assert "55000" in _states(raised.value), _states(raised.value)
        assert "not currently accepting connections" in str(raised.value)
        await admin.unlock()
        await _select_1(db)  # back: the same Database, no restart
    finally:
        await db.dispose()


async def test_a_session_terminated_by_the_administrator_is_temporary(
    pg: tuple[str, Admin],
) -> None:
    url, admin = pg
    db = Database(url, retry_delays_s=FAST)

    async def read_across_a_termination() -> None:
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
            await admin.terminate()  # 57P01 terminating connection due to administrator
            await asyncio.sleep(0.05)
            await session.execute(text("SELECT 1"))

    try:
        with pytest.raises(DatabaseUnavailable, match="dropped the connection"):
            await read_across_a_termination()
        await _select_1(db)  # the next session gets a fresh connection
    finally:
        await db.dispose()


async def test_a_refused_connection_is_temporary() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none"
    db = Database(url, retry_delays_s=FAST)
    try:
        with pytest.raises(DatabaseUnavailable, match="refused or dropped the connection 3 times"):
            await _select_1(db)
    finally:
        await db.dispose()


async def test_too_many_connections_is_temporary(pg: tuple[str, Admin]) -> None:
    url, admin = pg
    role = f"outage_{uuid.uuid4().hex[:10]}"
    await admin.conn.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    db = Database(url.replace(f"//{PG_USER}@", f"//{role}@"), retry_delays_s=FAST)
    try:
        with pytest.raises(DatabaseUnavailable) as raised:
            await _select_1(db)
        assert "53300" in _states(raised.value), _states(raised.value)
    finally:
        await db.dispose()
        await admin.conn.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.ObjectNotInPrerequisiteStateError(
            'database "x" is not currently accepting connections'
        ),
    ],
    ids=lambda e: f"{type(e).__name__}:{e.sqlstate}",
)
def test_the_drivers_unavailable_errors_are_transient(exc: Exception) -> None:
    assert is_transient(exc)
    assert is_transient(DBAPIError.instance("SELECT 1", {}, exc, Exception))


async def test_a_55000_that_is_a_bug_is_not_retried(pg: tuple[str, Admin]) -> None:
    url, _ = pg
    db = Database(url, retry_delays_s=FAST)
    try:
        async with db.session() as session:
            await session.execute(text("CREATE SEQUENCE IF NOT EXISTS s_outage"))
        with pytest.raises(DBAPIError) as raised:
            async with db.session() as session:
                await session.execute(text("SELECT currval('s_outage')"))
        assert not isinstance(raised.value, TemporaryError)
        assert _states(raised.value)[0] == "55000"
        assert not is_transient(raised.value)
    finally:
        await db.dispose()


# -- long-running services through the outage ----------------------------------------------------


async def _stale_pending_order(repos: Repositories) -> str:
    user = await repos.users.get_or_create(4242, "outage")
    wallet = await repos.wallets.create(user.id, "PkOutage", sealed(), "main")
    order, _ = await repos.orders.create(
        user_id=user.id, wallet_id=wallet.id, kind=OrderKind.MANUAL,
        token_mint="MintA111111111111111111111111111111111111", side=OrderSide.BUY,
        amount=1_000, slippage_bps=100, priority_fee=FeeLevel.LOW, idempotency_key="left",
    )  # fmt: skip
    return order.id


def _trading(repos: Repositories, http: aiohttp.ClientSession) -> TradingService:
    """The real claimer; the venue and RPC point nowhere (a stale PENDING order is cancelled
    without them: nothing was ever sent)."""
    metrics = Metrics()
    nowhere = f"http://127.0.0.1:{free_port()}"
    registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
    rpc = SolanaRpc(RpcPool([EndpointConfig(name="none", url=nowhere)], registry, metrics, http))
    executor = SwapExecutor(
        venue=JupiterVenue(JupiterClient(http, nowhere)), rpc=rpc, orders=repos.orders,
        trades=repos.trades, metrics=metrics, config=ExecutorConfig(worker_id="live", lease_s=5.0),
    )  # fmt: skip

    class NoSigners:
        async def signer(self, user_id: int, wallet_id: int | None = None) -> Any:
            raise AssertionError("a stale PENDING order needs no key")

    return TradingService(
        executor=executor, orders=repos.orders, signers=NoSigners(), metrics=metrics,
        max_priority_fee_lamports=1_000, max_pending_age_s=0.0,
    )  # fmt: skip


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _app(url: str, tmp_path: Path) -> App:
    settings = load_settings({"DATABASE_URL": url, "DATA_DIR": str(tmp_path)}, embedded=True)
    return App(settings)


async def test_the_recovery_claimer_under_app_supervision_waits_out_database_loss(
    pg: tuple[str, Admin], tmp_path: Path
) -> None:
    """database-loss while the claimer runs (as the app's ``recovery`` service): no
    ``service_failed``, and the order it is owed is finished once the database is back."""
    url, admin = pg
    app = _app(url, tmp_path)
    order_id = await _stale_pending_order(app.repos)
    async with aiohttp.ClientSession() as http:
        trading = _trading(app.repos, http)
        await admin.lock()  # before the claimer's first round: every round meets the outage

        async def recovery(stop: asyncio.Event) -> None:
            await trading.run_claimer(stop, interval_s=0.05)

        app.add_service("recovery", recovery)
        with capture_logs() as logs:
            runner = asyncio.create_task(app.run())
            try:
                await _eventually(
                    lambda: _true(any("retry" in e["event"] for e in logs)), "a retry in the outage"
                )
                await admin.terminate()  # re-terminated while held, as the scenario does
                await asyncio.sleep(0.2)
                assert not runner.done()
                assert app.failed == []
                await admin.unlock()
                await _eventually(lambda: _cancelled(app.repos, order_id), "the order finished")
            finally:
                app.stop_event.set()
                await runner
                await app.database.dispose()
    events = [e["event"] for e in logs]
    assert "service_failed" not in events, events
    assert app.failed == []


async def test_a_service_that_gives_up_in_an_outage_is_run_again(
    pg: tuple[str, Admin], tmp_path: Path
) -> None:
    """A service whose own retries run out raises ``TemporaryError``: the app runs it again
    after a backoff instead of stopping the bot; it finishes its work when the database is back."""
    url, admin = pg
    app = _app(url, tmp_path)
    app.database = Database(url, retry_delays_s=FAST)  # its session retries run out at once
    repos = Repositories.build(app.database)
    runs: list[str] = []
    purged: list[int] = []

    async def housekeeping(stop: asyncio.Event) -> None:  # no try/except: the app supervises
        runs.append("run")
        while not stop.is_set():
            purged.append(await repos.sessions.purge_expired(datetime.now(UTC)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)

    app.add_service("housekeeping", housekeeping)
    await admin.lock()
    with capture_logs() as logs:
        runner = asyncio.create_task(app.run())
        try:
            await _eventually(lambda: _true(len(runs) >= 2), "a second run")
            assert not runner.done()
            assert app.failed == []
            await admin.unlock()
            await _eventually(lambda: _true(bool(purged)), "work done after the outage")
        finally:
            app.stop_event.set()
            await runner
            await app.database.dispose()
    events = [e["event"] for e in logs]
    assert "service_retry" in events
    assert "service_failed" not in events, events


async def test_a_bug_in_a_service_still_stops_the_bot(tmp_path: Path) -> None:
    app = _app(f"sqlite+aiosqlite:///{tmp_path / 'bug.sqlite'}", tmp_path)

    async def broken(stop: asyncio.Event) -> None:
        raise ValueError("a bug, not an outage")

    app.add_service("broken", broken)
    with capture_logs() as logs:
        await asyncio.wait_for(app.run(), 10)
    assert app.failed == ["broken"]
    assert "service_failed" in [e["event"] for e in logs]
    assert "service_retry" not in [e["event"] for e in logs]


async def _true(value: bool) -> bool:
    return value


async def _cancelled(repos: Repositories, order_id: str) -> bool:
    order = await repos.orders.get_by_id(order_id)
    return order is not None and order.status is OrderStatus.CANCELLED
