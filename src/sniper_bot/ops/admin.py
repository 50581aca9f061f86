"""The admin side of the facade (``AdminOps``): /status and the maintenance flag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import metadata

from sniper_bot.cache.maintenance import MaintenanceFlag
from sniper_bot.control.facade import AdminStatusView
from sniper_bot.observability.health import HealthRegistry

__all__ = ["AdminService", "package_version"]


def package_version() -> str:
    try:
        return metadata.version("sniper-bot")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


class AdminService:
    def __init__(
        self,
        admin_ids: frozenset[int],
        health: HealthRegistry,
        maintenance_flag: MaintenanceFlag,
        *,
        breakers: Callable[[], dict[str, str]],
        queues: Callable[[], Awaitable[dict[str, int]]],
        version: str | None = None,
    ) -> None:
        self._admin_ids = admin_ids
        self._health = health
        self._flag = maintenance_flag
        self._breakers = breakers
        self._queues = queues
        self._version = version or package_version()

    def is_admin(self, telegram_id: int) -> bool:
        return telegram_id in self._admin_ids

    async def maintenance(self) -> bool:
        return await self._flag.is_on()

    async def set_maintenance(self, on: bool, *, by: int) -> AdminStatusView:
        await self._flag.set(on, by=by)
        return await self.status()

    async def status(self) -> AdminStatusView:
        report = await self._health.report()
        components = {
            name: c.status.value + (f": {c.detail}" if c.detail else "")
            for name, c in report.components.items()
        }
        try:
            queues = await self._queues()
        except Exception as exc:  # the database is away: say so instead of failing /status
            queues = {}
            components["queues"] = f"down: {type(exc).__name__}"
        flag = await self._flag.state()
        return AdminStatusView(
            status=report.status.value,
            components=components,
            breakers=self._breakers(),
            queues=queues,
            version=self._version,
            maintenance=flag.on,
            maintenance_shared=flag.shared,
        )
