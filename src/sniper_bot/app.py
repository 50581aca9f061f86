"""Composition root: Settings -> every object, and the supervised runtime.

Only this module (and ``cli``) builds objects. Long-running loops live in one
``asyncio.TaskGroup``; SIGTERM/SIGINT set the stop event; services get ``STOP_DEADLINE_S`` to return
with in-flight work persisted (orders are persisted before every send: a stop never loses a swap).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from sniper_bot.config import Settings, redact_dsn
from sniper_bot.errors import ConfigError
from sniper_bot.observability.health import ComponentHealth, HealthRegistry, Status
from sniper_bot.observability.logging import configure_logging
from sniper_bot.observability.metrics import Metrics
from sniper_bot.observability.server import OpsServer, create_ops_app

__all__ = ["STOP_DEADLINE_S", "App", "run_app"]

STOP_DEADLINE_S = 10.0
log = structlog.get_logger(__name__)

Service = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class App:
    """Everything the bot runs, built from settings. ``start`` does the I/O; ``run`` supervises."""

    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    auto_migrate: bool = False

    def __post_init__(self) -> None:
        from sniper_bot.cache.redis import RedisManager
        from sniper_bot.storage.database import Database

        s = self.settings
        self.health = HealthRegistry(self.metrics)
        self.database = Database(s.database_url, pool_size=s.database.connection_limit)
        self.redis = RedisManager(
            s.redis_url,
            max_connections=s.redis.max_connections,
            max_retries=s.redis.max_retries,
            metrics=self.metrics,
        )
        self.ops = OpsServer(
            create_ops_app(self.metrics, self.health, compress=s.cache.compression_enabled),
            s.observability.metrics_host,
            s.observability.metrics_port,
        )
        self._services: list[tuple[str, Service]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.stop_event = asyncio.Event()
        self.failed: list[str] = []
        self.health.register("database", self._database_health, required=True)
        self.health.register("redis", self._redis_health, required=False)

    # --- health checks -------------------------------------------------------------------------
    async def _database_health(self) -> ComponentHealth:
        latency = await self.database.ping()
        return ComponentHealth(Status.OK, "", {"latency_ms": round(latency * 1000, 2)})

    async def _redis_health(self) -> ComponentHealth:
        status = self.redis.status()
        detail = {
            "ok": "",
            "disabled": "REDIS_URL is empty: in-process fallback",
            "degraded": "Redis unreachable: in-process fallback, reconnecting",
        }.get(status, "")
        return ComponentHealth(Status(status), detail)

    # --- lifecycle -----------------------------------------------------------------------------
    def add_service(self, name: str, service: Service) -> None:
        """Register a long-running coroutine; it gets the stop event and must return when set."""
        self._services.append((name, service))

    def add_closer(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def start(self) -> None:
        """Connect, check the schema, start the ops server. Raises ConfigError on bad setups."""
        await self.database.connect(attempts=self.settings.database.connect_attempts)
        self.add_closer(self.database.dispose)
        if not await self.database.is_up_to_date():
            if self.auto_migrate:
                await self.database.upgrade()
            else:
                current, head = await self.database.migration_status()
                raise ConfigError(
                    f"DATABASE_URL: the database schema is at {current or 'nothing'}, this version "
                    f"needs {head}; run `sniper-bot migrate` (or `make migrate`) first"
                )
        await self.redis.start()
        self.add_closer(self.redis.close)
        await self.ops.start()
        self.add_closer(self.ops.stop)
        log.info(
            "app_started",
            metrics_url=f"{self.ops.url}/metrics",
            health_url=f"{self.ops.url}/health",
            database=redact_dsn(self.settings.database_url),
            redis=self.redis.status(),
        )

    async def run(self) -> None:
        """Run every service in one TaskGroup until the stop event is set or one of them fails.

        After the stop event, services get ``STOP_DEADLINE_S`` to return; stragglers are cancelled.
        """

        async def supervised(name: str, service: Service) -> None:
            try:
                await service(self.stop_event)
            except asyncio.CancelledError:
                log.warning("service_cancelled", service=name)
                raise
            except Exception:
                log.exception("service_failed", service=name)
                self.failed.append(name)
                self.stop_event.set()

        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(supervised(n, s), name=n) for n, s in self._services]
            await self.stop_event.wait()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=STOP_DEADLINE_S)
                for task in pending:
                    log.error("service_stop_deadline", service=task.get_name())
                    task.cancel()

    async def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer()
        self._closers.clear()


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def run_app(
    settings: Settings,
    *,
    auto_migrate: bool = False,
    on_started: Callable[[App], Awaitable[None]] | None = None,
    configure: Callable[[App], Any] | None = None,
) -> None:
    """Build, start, run until SIGTERM/SIGINT, stop. The whole process lifetime of `run`/`demo`."""
    configure_logging(
        level=settings.observability.log_level,
        fmt=settings.observability.log_format,
        secrets=settings.secret_values(),
    )
    app = App(settings, auto_migrate=auto_migrate)
    install_signal_handlers(app.stop_event)
    try:
        if configure is not None:
            configure(app)
        await app.start()
        if on_started is not None:
            await on_started(app)
        await app.run()
    finally:
        await app.close()
        log.info("app_stopped")
