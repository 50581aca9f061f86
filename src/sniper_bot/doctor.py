"""`sniper-bot doctor`: is this deployment able to run? One row per dependency, with the reason.

Required: a valid configuration, the database (reachable and migrated), at least one RPC endpoint,
Jupiter, and a working Telegram token. Optional: Redis (the bot runs without it), each single RPC
endpoint when another one answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiohttp
from rich.table import Table

from sniper_bot.config import Settings, load_settings, redact_dsn
from sniper_bot.errors import ConfigError, SniperBotError

__all__ = ["Check", "render_checks", "run_checks"]

TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    required: bool
    detail: str


async def _timed(fn: Callable[[], Awaitable[str]]) -> tuple[bool, str]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            detail = await fn()
    except TimeoutError:
        return False, f"no answer within {TIMEOUT_S:.0f} s"
    except SniperBotError as exc:
        return False, exc.message.splitlines()[0]
    except Exception as exc:  # doctor reports every failure as a row, never a traceback
        return False, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return True, f"{detail} ({(time.perf_counter() - started) * 1000:.0f} ms)"


async def run_checks(env: Mapping[str, str] | None = None) -> list[Check]:
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        return [Check("configuration", False, True, line) for line in exc.message.splitlines()]
    checks = [Check("configuration", True, True, "every variable valid")]
    # Import the heavy modules (Alembic, aiogram...) before any check's clock starts: an import
    # blocks the event loop and would make the concurrent checks time out on a busy machine.
    await asyncio.to_thread(_preload)
    async with aiohttp.ClientSession() as http:
        checks += await asyncio.gather(
            _database(settings),
            _redis(settings),
            _jupiter(settings, http),
            _telegram(settings),
        )
        checks += await _rpc(settings, http)
    return checks


def _preload() -> None:
    import importlib

    for module in (
        "sniper_bot.storage.database",
        "sniper_bot.storage.migrate",
        "alembic.runtime.migration",
        "alembic.script",
        "sniper_bot.cache.redis",
        "sniper_bot.trading.venues.jupiter.client",
        "sniper_bot.telegram.bot",
        "sniper_bot.chain.latency",
    ):
        importlib.import_module(module)


async def _database(settings: Settings) -> Check:
    from sniper_bot.storage.database import Database

    async def probe() -> str:
        db = Database(settings.database_url, pool_size=1)
        try:
            await db.connect(attempts=1)
            latency = await db.ping()
            current, head = await db.migration_status()
            if current != head:
                raise ConfigError(
                    f"schema at {current or 'nothing'}, needs {head}: run `sniper-bot migrate`"
                )
            return f"{redact_dsn(settings.database_url)} at {head}, ping {latency * 1000:.1f} ms"
        finally:
            await db.dispose()

    ok, detail = await _timed(probe)
    return Check("database", ok, True, detail)


async def _redis(settings: Settings) -> Check:
    if settings.redis_url is None:
        return Check("redis", True, False, "disabled (REDIS_URL empty): in-process fallback")
    from sniper_bot.cache.redis import RedisManager
    from sniper_bot.observability.metrics import Metrics

    manager = RedisManager(settings.redis_url, metrics=Metrics(), max_retries=0)

    async def probe() -> str:
        try:
            await manager.start()
            if manager.client is None or not manager.available:
                raise ConfigError(f"{redact_dsn(settings.redis_url or '')} does not answer PING")
            started = time.perf_counter()
            await manager.client.ping()
            return f"{redact_dsn(settings.redis_url or '')}: PONG in " + (
                f"{(time.perf_counter() - started) * 1000:.1f} ms"
            )
        finally:
            await manager.close()

    ok, detail = await _timed(probe)
    if not ok:
        detail += " (optional: the bot falls back to memory)"
    return Check("redis", ok, False, detail)


async def _jupiter(settings: Settings, http: aiohttp.ClientSession) -> Check:
    from sniper_bot.trading.venues.jupiter.client import JupiterClient

    client = JupiterClient(
        http,
        settings.jupiter.api_url,
        api_key=settings.jupiter.api_key.get_secret_value() or None,
        timeout_s=TIMEOUT_S,
    )

    async def probe() -> str:
        labels = await client.program_id_to_label()
        return f"{client.base_url}: {len(labels)} venues"

    ok, detail = await _timed(probe)
    return Check("jupiter", ok, True, detail)


async def _telegram(settings: Settings) -> Check:
    token = settings.telegram.bot_token.get_secret_value()
    if not token:
        return Check("telegram", False, True, "BOT_TOKEN is not set (needed by `sniper-bot run`)")
    from sniper_bot.telegram.bot import check_token

    async def probe() -> str:
        return await check_token(token, settings.telegram.api_url, timeout_s=TIMEOUT_S)

    ok, detail = await _timed(probe)
    return Check("telegram", ok, True, detail)


async def _rpc(settings: Settings, http: aiohttp.ClientSession) -> list[Check]:
    from sniper_bot.chain.endpoints import endpoints_from_urls
    from sniper_bot.chain.latency import probe_endpoints

    rpc = settings.rpc
    endpoints = endpoints_from_urls(
        rpc.helius_url.get_secret_value(),
        rpc.quicknode_url.get_secret_value(),
        rpc.solana_url.get_secret_value(),
        rpc.backup_url.get_secret_value(),
        [u.strip() for u in rpc.extra_urls.get_secret_value().split(",") if u.strip()],
        ws_urls=rpc.ws_overrides(),
    )
    probes = await probe_endpoints(endpoints, 1, TIMEOUT_S, session=http)
    any_ok = any(p.latencies_ms for p in probes)
    out = []
    for p in probes:
        if p.latencies_ms:
            detail = f"{p.url}: slot {p.slot} ({p.latencies_ms[0]:.0f} ms)"
        else:
            detail = f"{p.url}: {p.last_error}"
        # one endpoint down is fine while another answers; none answering is fatal
        out.append(Check(f"rpc:{p.name}", bool(p.latencies_ms), not any_ok, detail))
    return out


def render_checks(checks: list[Check]) -> Table:
    table = Table(title="sniper-bot doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for c in checks:
        if c.ok:
            status = "[green]ok[/]"
        elif c.required:
            status = "[red]FAILED[/]"
        else:
            status = "[yellow]degraded[/]"
        table.add_row(c.name, status, c.detail)
    return table
