"""`sniper-bot` command line: run | demo | migrate | doctor | localnet | rpc-latency | feeds | ...

Every command turns a ConfigError into one line per problem on stderr and exit code 2, and any
other expected error into one sentence and exit code 1: no tracebacks for operators.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from sniper_bot.config import Settings, load_settings
from sniper_bot.errors import ConfigError, SniperBotError

__all__ = ["app", "main"]

app = typer.Typer(
    name="sniper-bot",
    help="Solana token sniper bot run through Telegram.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

EXIT_CONFIG = 2


def _fail_config(exc: ConfigError) -> None:
    lines = exc.message.splitlines() or [exc.message]
    for line in lines:
        err_console.print(f"[bold red]config error[/] {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_CONFIG)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; translate our errors into exit codes without tracebacks."""
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        _fail_config(exc)
    except SniperBotError as exc:
        err_console.print(f"[bold red]error[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise AssertionError("unreachable")


def settings_or_exit(**kwargs: Any) -> Settings:
    try:
        return load_settings(**kwargs)
    except ConfigError as exc:
        _fail_config(exc)
    raise AssertionError("unreachable")


def command(fn: Callable[..., T]) -> Callable[..., T]:
    """Register a command whose body may raise ConfigError/SniperBotError."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        from sniper_bot.observability.logging import configure_logging

        # operator commands print tables; only warnings go to stderr (run/demo reconfigure)
        configure_logging(level="WARNING", fmt="console")
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            _fail_config(exc)
        except SniperBotError as exc:
            err_console.print(f"[bold red]error[/] {exc.message}", highlight=False)
            raise typer.Exit(1) from None
        raise AssertionError("unreachable")

    return wrapper


@app.command()
@command
def run() -> None:
    """Run the bot with the configuration from the environment."""
    from sniper_bot.app import run_app

    settings = settings_or_exit(require_bot=True)
    run_async(run_app(settings))


@app.command()
@command
def migrate() -> None:
    """Upgrade the database schema to this version (DATABASE_URL, or the SQLite default)."""
    from sniper_bot.storage.database import Database

    settings = settings_or_exit(embedded=True)

    async def _migrate() -> tuple[str | None, str]:
        db = Database(settings.database_url, pool_size=settings.database.connection_limit)
        try:
            await db.connect(attempts=settings.database.connect_attempts)
            before, head = await db.migration_status()
            await db.upgrade()
            return before, head
        finally:
            await db.dispose()

    before, head = run_async(_migrate())
    if before == head:
        console.print(f"database already at {head}")
    else:
        console.print(f"database upgraded: {before or 'empty'} -> {head}")


@app.command()
@command
def doctor() -> None:
    """Check configuration, database, Redis, RPC endpoints, Jupiter and the Telegram token."""
    from sniper_bot.doctor import render_checks, run_checks

    checks = run_async(run_checks())
    console.print(render_checks(checks))
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
@command
def demo(
    seed: Annotated[
        int, typer.Option(help="localnet seed: the same seed replays the same run")
    ] = 7,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="ops port for /metrics and /health (default: METRICS_PORT, else 3000)",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="where the demo keeps its SQLite file")] = Path(
        "data/demo"
    ),
    duration: Annotated[
        float, typer.Option(help="stop after this many seconds (0 = run until Ctrl-C)")
    ] = 0.0,
) -> None:
    """Run the bot offline on localnet: SQLite, no Redis, no Telegram token, no secrets."""
    from sniper_bot.demo import run_demo  # imports localnet lazily: the only place that may

    if metrics_port is None:
        # the demo sets every other variable itself; METRICS_PORT is read and checked as `run` would
        env = {k: os.environ[k] for k in ("METRICS_PORT",) if k in os.environ}
        metrics_port = settings_or_exit(env=env, embedded=True).observability.metrics_port
    run_async(
        run_demo(seed=seed, metrics_port=metrics_port, data_dir=data_dir, duration_s=duration)
    )


@app.command("localnet")
@command
def localnet_cmd(
    seed: Annotated[int, typer.Option(help="the same seed replays the same run")] = 0,
    scenario: Annotated[
        Path | None, typer.Option(help="scenario file (TOML); default plays a mixed scenario")
    ] = None,
    slot_ms: Annotated[
        int, typer.Option(help="slot time in ms; 0 = advance only when asked")
    ] = 400,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="write the endpoint URLs here once ready")
    ] = None,
    no_scenario: Annotated[
        bool, typer.Option("--no-scenario", help="no default launches: only when asked")
    ] = False,
) -> None:
    """Start the localnet proving ground (RPC endpoints, Jupiter, Telegram) until Ctrl-C."""
    from sniper_bot.demo import run_localnet

    run_async(
        run_localnet(
            seed=seed,
            scenario=scenario,
            slot_ms=slot_ms,
            json_file=json_file,
            play_default=not no_scenario,
        )
    )


async def _with_stack(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Run ``work(stack)`` with the chain/venue/risk stack of these settings (no database)."""
    from sniper_bot.cache.redis import RedisManager
    from sniper_bot.components import build_stack
    from sniper_bot.observability.metrics import Metrics

    metrics = Metrics()
    redis = RedisManager(None, metrics=metrics)
    stack = await build_stack(settings, metrics, redis, None)
    try:
        return await work(stack)
    finally:
        await stack.close()


@app.command("rpc-latency")
@command
def rpc_latency(
    n: Annotated[int, typer.Option("-n", help="probes per endpoint", min=1, max=1000)] = 10,
    timeout: Annotated[float, typer.Option(help="seconds per probe")] = 5.0,
) -> None:
    """Probe every configured RPC endpoint N times (getSlot): p50/p95/max, errors, slot."""
    from sniper_bot.chain.latency import probe_endpoints, render_latency_table
    from sniper_bot.components import endpoints

    settings = settings_or_exit(embedded=True)
    probes = run_async(probe_endpoints(endpoints(settings), n, timeout))
    console.print(render_latency_table(probes))
    if not any(p.latencies_ms for p in probes):
        raise typer.Exit(1)


@app.command("feeds")
@command
def feeds_cmd(
    seconds: Annotated[
        float, typer.Option("--seconds", "-s", help="how long to watch", min=0.5, max=3600)
    ] = 10.0,
) -> None:
    """Watch every launch feed (each RPC WebSocket's logs, the Geyser stream) for N seconds:
    launches seen, first-seen wins, time gap behind the first, slot lag."""
    from sniper_bot.components import endpoints
    from sniper_bot.observability.metrics import Metrics
    from sniper_bot.ops.feeds import probe_feeds, render_feeds_table

    settings = settings_or_exit(embedded=True)
    geyser: Any = None
    if settings.rpc.geyser_endpoint.get_secret_value():
        from sniper_bot.detection.geyser import GeyserConfig

        geyser = GeyserConfig(
            settings.rpc.geyser_endpoint.get_secret_value(),
            settings.rpc.geyser_x_token.get_secret_value(),
        )
    ws = [e for e in endpoints(settings) if e.ws_url]
    if not ws and geyser is None:
        err_console.print("[bold red]error[/] no launch feed configured (no RPC WebSocket URL, "
                          "no GEYSER_ENDPOINT)", highlight=False)  # fmt: skip
        raise typer.Exit(1)
    stats = run_async(probe_feeds(ws, geyser, seconds, Metrics()))
    console.print(render_feeds_table(stats, seconds))
    down = [s for s in stats if not s.reachable]
    for s in down:
        err_console.print(f"[bold red]error[/] feed {s.name}: {s.error}", highlight=False)
    if down:
        raise typer.Exit(1)


@app.command("wallet-balance")
@command
def wallet_balance_cmd(
    pubkey: Annotated[str, typer.Argument(help="wallet public key (base58)")],
) -> None:
    """SOL and every token holding (SPL Token and Token-2022) of a wallet."""
    from solders.pubkey import Pubkey

    from sniper_bot.trading.balance import render_balance_table, wallet_balance

    try:
        owner = Pubkey.from_string(pubkey.strip())
    except ValueError:
        err_console.print(f"[bold red]error[/] {pubkey[:60]!r} is not a base58 public key")
        raise typer.Exit(2) from None
    settings = settings_or_exit(embedded=True)

    async def _balance(stack: Any) -> str:
        return render_balance_table(await wallet_balance(stack.rpc, owner))

    console.print(run_async(_with_stack(settings, _balance)), highlight=False, markup=False)


@app.command("check-token")
@command
def check_token(
    mint: Annotated[str, typer.Argument(help="token mint address")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Score a token 0-100 with evidence. Exit code 0 below RISK_BLOCK_THRESHOLD, 3 at or above."""
    from solders.pubkey import Pubkey

    from sniper_bot.safety.render import run_check_token

    try:
        Pubkey.from_string(mint.strip())
    except ValueError:
        err_console.print(f"[bold red]error[/] {mint[:60]!r} is not a base58 mint address")
        raise typer.Exit(2) from None
    settings = settings_or_exit(embedded=True)

    async def _check(stack: Any) -> int:
        return await run_check_token(stack.risk, mint.strip(), as_json=as_json, console=console)

    raise typer.Exit(run_async(_with_stack(settings, _check)))


@app.command("rotate-secret")
@command
def rotate_secret(
    batch: Annotated[int, typer.Option(help="wallets read per query", min=1)] = 200,
) -> None:
    """Re-wrap every wallet under SESSION_MASTER_SECRET (previous one in ..._PREVIOUS).

    Row by row, each in its own transaction; resumable; safe while the bot trades.
    """
    from rich.progress import Progress

    from sniper_bot.components import build_keyring
    from sniper_bot.storage.database import Database
    from sniper_bot.storage.repositories import Repositories
    from sniper_bot.wallet.rotation import rotate

    settings = settings_or_exit()

    async def _rotate() -> Any:
        keyring = build_keyring(settings)
        db = Database(settings.database_url, pool_size=settings.database.connection_limit)
        try:
            await db.connect(attempts=settings.database.connect_attempts)
            repos = Repositories.build(db)
            with Progress(console=console) as bar:
                task = bar.add_task("re-wrapping wallets", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                return await rotate(repos.wallets, keyring, batch=batch, progress=progress)
        finally:
            await db.dispose()

    report = run_async(_rotate())
    console.print(report.summary())
    if not report.complete:
        raise typer.Exit(1)


@app.command("chaos")
@command
def chaos_cmd(
    scenario: Annotated[
        str,
        typer.Argument(
            help="rpc-failures | tx-failures | breaker-stuck-open | redis-failure | "
            "database-loss | memory-pressure"
        ),
    ],
    duration: Annotated[float, typer.Option(help="seconds to hold the fault")] = 5.0,
    localnet: Annotated[
        str | None,
        typer.Option(
            envvar="LOCALNET_CONTROL_URL",
            help="localnet's control API (the RPC scenarios); env LOCALNET_CONTROL_URL",
            show_default=False,
        ),
    ] = None,
    ops_url: Annotated[
        str | None,
        typer.Option(help="the bot's ops port (default http://METRICS_HOST:METRICS_PORT)"),
    ] = None,
    wait: Annotated[
        float, typer.Option(help="seconds to wait for the recovery after the clear (0: do not)")
    ] = 60.0,
    memory_limit: Annotated[
        int,
        typer.Option(
            help="memory-pressure: the bot's memory limit in MiB (its container's or MemoryMax=)"
        ),
    ] = 2048,
    admin: Annotated[
        int | None,
        typer.Option(
            help="memory-pressure: the admin who sends /memory hog (default: the lowest id of "
            "ADMIN_TELEGRAM_IDS)",
            show_default=False,
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="memory-pressure: leave the memory held; --wait then waits for your restart",
        ),
    ] = False,
) -> None:
    """Reproduce a runbook failure scenario against a running bot: inject, hold, clear, recover.

    Exit 0 once the bot recovered (/health ok, every breaker CLOSED), 1 if not within --wait.
    """
    from sniper_bot.ops.chaos import ChaosTarget, run_scenario

    settings = settings_or_exit(embedded=True)
    if ops_url is None:
        obs = settings.observability
        wildcard = obs.metrics_host in ("0.0.0.0", "::", "")  # noqa: S104 (a comparison)
        host = "127.0.0.1" if wildcard else obs.metrics_host
        ops_url = f"http://{host}:{obs.metrics_port}"
    target = ChaosTarget(
        ops_url=ops_url.rstrip("/"),
        localnet_url=localnet,
        redis_url=settings.redis_url,
        database_url=settings.database_url,
        admin_id=admin if admin is not None else min(settings.telegram.admin_id_set, default=None),
        memory_limit_mib=memory_limit,
        keep=keep,
    )

    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False, soft_wrap=True)

    result = run_async(
        run_scenario(scenario, target, duration_s=duration, recovery_timeout_s=wait, say=say)
    )
    if result.recovered is False:
        raise typer.Exit(1)


@app.command("backup")
@command
def backup_cmd(
    path: Annotated[Path, typer.Argument(help="file to write (PostgreSQL: pg_dump -F c format)")],
) -> None:
    """Back the database up: pg_dump for PostgreSQL, the online backup API for SQLite."""
    from sniper_bot.ops.backup import backup

    settings = settings_or_exit(embedded=True)
    report = run_async(backup(settings.database_url, path))
    console.print(report.summary("backed up"), highlight=False)


@app.command("restore")
@command
def restore_cmd(
    path: Annotated[Path, typer.Argument(help="a file from sniper-bot backup (or pg_dump -F c)")],
) -> None:
    """Replace the database's contents with a backup (stop the bot first; then migrate)."""
    from sniper_bot.ops.backup import restore

    settings = settings_or_exit(embedded=True)
    report = run_async(restore(settings.database_url, path))
    console.print(report.summary("restored"), highlight=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
