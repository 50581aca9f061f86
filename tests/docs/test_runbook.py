"""Every runnable command of docs/RUNBOOK.md works as written.

The environment is what an operator has: a migrated PostgreSQL database, a Redis database, a running
`sniper-bot run` (a subprocess, pointed at localnet's RPC endpoints, Jupiter API and fake Telegram
Bot API) and a shell holding the bot's environment. Placeholders (`<token_mint_address>`...) become
real values from localnet; `db-host`, `sniper_bot` and `localhost:3000` become this test's database
and ops port. Each command runs in `bash -o pipefail -c` and must exit as documented (0 unless
`# Expected exit: N`) with the documented output. Commands marked `# deployment:`,
`# interactive:` or `# internet:` are the only ones not run; the test proves every other one ran.

`sniper-bot` commands (each a ~2-10 s Python start-up on a busy box) run once per distinct command
line, two at a time, while the bot starts; the shell commands then run in document order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from solders.pubkey import Pubkey

from localnet.node import Localnet
from localnet.testing import running_localnet
from sniper_bot.config import all_variables
from sniper_bot.demo import demo_env
from sniper_bot.storage.database import Database

from .runbook import Command, load, normalised, parse_commands, section_span, substitute

pytestmark = pytest.mark.timeout(180)

BIN = Path(sys.executable).parent
SNIPER_BOT = BIN / "sniper-bot"
SECRET = "9d3f6b1a7c2e4f80b5a6c9d1e3f7a2b4c6d8e0f1a3b5c7d9e2f4a6b8c0d1e3f5"
BOT_TOKEN = "987654321:AAHrunbookTestTokenForLocalnetOnly01"
TELEGRAM_USER = 4242
COMMAND_TIMEOUT_S = 90.0
BOT_READY_TIMEOUT_S = 120.0
CLI_CONCURRENCY = 2


@dataclass(frozen=True, slots=True)
class Outcome:
    command: Command
    shell: str
    exit_code: int
    output: str
    seconds: float

    def problems(self) -> list[str]:
        out = []
        if self.exit_code != self.command.expected_exit:
            out.append(f"exit {self.exit_code}, documented {self.command.expected_exit}")
        for text in self.command.expected:
            if normalised(text) not in normalised(self.output):
                out.append(f"output lacks {text!r}")
        return out


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


async def _run_shell(command: str, *, env: dict[str, str], cwd: Path) -> tuple[int, str, float]:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-o",
        "pipefail",
        "-c",
        command,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        stdout, _ = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
    except TimeoutError:
        await _kill_group(proc)
        return -1, f"timed out after {COMMAND_TIMEOUT_S:.0f} s", time.perf_counter() - started
    except asyncio.CancelledError:  # the test failed elsewhere: leave no process behind
        await _kill_group(proc)
        raise
    return proc.returncode or 0, stdout.decode(errors="replace"), time.perf_counter() - started


def _operator_env(
    net: Localnet, *, pg_url: str, redis_url: str, metrics_port: int, data_dir: Path
) -> dict[str, str]:
    """The bot's environment, as /etc/sniper-bot/env would hold it, plus the shell's basics."""
    assert net.urls is not None
    ours = set(all_variables())
    env = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith("PG")}
    pg = urlsplit(pg_url)
    env.update(demo_env(net.urls, data_dir=data_dir, metrics_port=metrics_port))
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "DATABASE_URL": pg_url.replace("postgresql+asyncpg://", "postgresql://"),
            "REDIS_URL": redis_url,
            "SESSION_MASTER_SECRET": SECRET,
            "BOT_TOKEN": BOT_TOKEN,
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "PGHOST": pg.hostname or "127.0.0.1",
            "PGPORT": str(pg.port or 5432),
            "PGUSER": pg.username or "postgres",
            "PGDATABASE": pg.path.lstrip("/"),
        }
    )
    return env


def _site_values(pg_url: str, metrics_port: int) -> dict[str, str]:
    pg = urlsplit(pg_url)
    db = pg.path.lstrip("/")
    return {
        "localhost:3000": f"127.0.0.1:{metrics_port}",
        "-h db-host": f"-h {pg.hostname}",
        "-d sniper_bot": f"-d {db}",
        "datname = 'sniper_bot'": f"datname = '{db}'",
        "REINDEX DATABASE sniper_bot": f"REINDEX DATABASE {db}",
    }


@contextlib.asynccontextmanager
async def _bot(
    env: dict[str, str], log: Path, cwd: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`sniper-bot run` as systemd would start it (so `ps -C sniper-bot` finds it)."""
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            str(SNIPER_BOT), "run", env=env, cwd=cwd, stdout=sink, stderr=sink,
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 20)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _wait_healthy(proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
    deadline = time.monotonic() + BOT_READY_TIMEOUT_S
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                pytest.fail(f"sniper-bot run exited {proc.returncode}:\n{_tail(log)}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/health") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.25)
    pytest.fail(f"sniper-bot run not healthy in {BOT_READY_TIMEOUT_S:.0f} s:\n{_tail(log)}")


async def _bot_reply(net: Localnet, pattern: str, *, after: int) -> dict[str, Any]:
    """The first bot message (edits included) newer than ``after`` whose text matches."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for message in net.telegram.inbox(TELEGRAM_USER):
            if message["message_id"] > after and re.search(pattern, message.get("text", "")):
                return message
        await asyncio.sleep(0.1)
    texts = [m.get("text", "")[:200] for m in net.telegram.inbox(TELEGRAM_USER)]
    pytest.fail(f"the bot never answered {pattern!r}; inbox: {texts}")


def _last_message_id(net: Localnet) -> int:
    return max((m["message_id"] for m in net.telegram.inbox(TELEGRAM_USER)), default=0)


async def _say(net: Localnet, text: str, expect: str) -> dict[str, Any]:
    after = _last_message_id(net)
    net.telegram.user_sends(TELEGRAM_USER, text)
    return await _bot_reply(net, expect, after=after)


async def _press(net: Localnet, message: dict[str, Any], label: str, expect: str) -> None:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    button = next(b for row in rows for b in row if b["text"].startswith(label))
    net.telegram.user_presses(TELEGRAM_USER, message["message_id"], button["callback_data"])
    await _bot_reply(net, expect, after=message["message_id"] - 1)


async def _telegram_user_flow(
    net: Localnet, pg_url: str, *, honest_mint: str, honeypot_mint: str
) -> dict[str, str]:
    """What the runbook's queries look at: a user whose first buy FAILED for lack of SOL, a
    funded wallet, and a honeypot check stored in "HoneypotCheck"."""
    home = await _say(net, "/start", r"Wallet: <code>[1-9A-HJ-NP-Za-km-z]{32,44}</code>")
    wallet = re.findall(r"Wallet: <code>([1-9A-HJ-NP-Za-km-z]{32,44})</code>", home["text"])[0]
    card = await _say(net, honest_mint, r"Risk:")
    await _press(net, card, "Buy 0.1", r"❌")
    net.cluster.airdrop(Pubkey.from_string(wallet), 2_000_000_000)
    await _say(net, honeypot_mint, r"BLOCKED")
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        user_id = await conn.fetchval(
            'SELECT id FROM "User" WHERE "telegramId" = $1', TELEGRAM_USER
        )
        failed = await conn.fetchval(
            """SELECT error->>'type' FROM "SniperOrder" WHERE status = 'FAILED'"""
        )
    finally:
        await conn.close()
    assert user_id is not None
    assert failed == "insufficient_funds"
    return {"<wallet_public_key>": wallet, "<user_id>": str(user_id)}


async def _override_consumed(redis_url: str) -> bool:
    """The doc says `SET circuit_breaker:rpc_pool:state CLOSED` is applied and then deleted."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        for _ in range(100):
            if not await client.exists("circuit_breaker:rpc_pool:state"):
                return await client.hget("circuit_breaker:rpc_pool", "state") == b"CLOSED"
            await asyncio.sleep(0.1)
        return False
    finally:
        await client.aclose()


async def _breaker_metric(port: int, name: str, want: float) -> float | None:
    """Poll /metrics (up to 10 s) until ``circuit_breaker_state{name=...}`` is ``want``."""
    pattern = re.compile(rf'^circuit_breaker_state{{name="{re.escape(name)}"}} (\S+)$', re.M)
    value: float | None = None
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                found = pattern.search(await r.text())
            value = float(found.group(1)) if found else None
            if value == want:
                break
            await asyncio.sleep(0.1)
    return value


async def _trip_pool_breaker(redis_url: str, port: int) -> None:
    """An incident for the reset procedure to clear: the pool breaker OPEN in every process."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.set("circuit_breaker:rpc_pool:state", "OPEN")
    finally:
        await client.aclose()
    state = await _breaker_metric(port, "rpc_pool", 1.0)
    assert state == 1.0, f"the bot did not apply the OPEN override (state {state})"


def _report(outcomes: list[Outcome]) -> str:
    lines = []
    for o in outcomes:
        for problem in o.problems():
            tail = o.output.strip()[-1200:]
            lines.append(f"line {o.command.line}: {o.shell!r}\n  {problem}\n  output: {tail}")
    return "\n".join(lines)


async def test_every_runnable_runbook_command_works(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    t0 = time.perf_counter()
    commands = parse_commands(load())
    runnable = [c for c in commands if c.runnable]
    work = tmp_path / "work"
    work.mkdir()
    db = Database(pg_url)
    await db.connect(attempts=3)
    await db.upgrade()
    await db.dispose()

    async with running_localnet(slot_ms=400, default_scenario=False) as net:
        honest = net.factory.create("honest", liquidity_sol=100)
        trap = net.factory.create("freeze_authority", liquidity_sol=50)
        port = _free_port()
        env = _operator_env(
            net, pg_url=pg_url, redis_url=redis_url, metrics_port=port, data_dir=tmp_path
        )
        values = _site_values(pg_url, port) | {
            "<token_mint_address>": str(honest.mint),
            "<honeypot_mint_address>": str(trap.mint),
        }
        user_values: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        gate = asyncio.Semaphore(CLI_CONCURRENCY)
        cli_runs: dict[str, asyncio.Task[tuple[int, str, float]]] = {}
        cli_of_line: dict[int, asyncio.Task[tuple[int, str, float]]] = {}

        async def cli(shell_text: str, needs_user: bool) -> tuple[int, str, float]:
            text = shell_text
            if needs_user:
                text = substitute(text, await user_values)
            async with gate:
                return await _run_shell(text, env=env, cwd=work)

        def resolve(command: Command) -> str:
            return substitute(command.text, values)

        # sniper-bot commands: once per distinct line, started now, alongside the bot start-up
        for c in runnable:
            if c.text.startswith("sniper-bot"):
                shell_text = resolve(c)
                if shell_text not in cli_runs:
                    needs_user = bool(_PLACEHOLDERS_AFTER_START & c.placeholders)
                    cli_runs[shell_text] = asyncio.create_task(cli(shell_text, needs_user))
                cli_of_line[c.line] = cli_runs[shell_text]

        log = tmp_path / "bot.log"
        outcomes: list[Outcome] = []
        try:
            async with _bot(env, log, work) as bot:
                await _wait_healthy(bot, port, log)
                user = await _telegram_user_flow(
                    net, pg_url, honest_mint=str(honest.mint), honeypot_mint=str(trap.mint)
                )
                user_values.set_result(user)
                ready_s = time.perf_counter() - t0
                values |= user
                pg = urlsplit(pg_url)
                code, out, _ = await _run_shell(
                    f"pg_dump -U {pg.username} -h {pg.hostname} -d {pg.path.lstrip('/')} "
                    "-F c -f backup_latest.backup",
                    env=env,
                    cwd=work,
                )
                assert code == 0, out
                start, end = section_span(load(), "Manual Circuit Breaker Reset")
                reset = [c for c in runnable if start < c.line < end]
                for c in runnable:
                    if c is reset[0]:
                        await _trip_pool_breaker(redis_url, port)
                    shell_text = resolve(c)
                    assert not re.search(r"<[a-z_]+>", shell_text), f"unresolved: {shell_text}"
                    if c.text.startswith("sniper-bot"):
                        code, out, seconds = await cli_of_line[c.line]
                    else:
                        if _REWRITES_DATABASE.search(shell_text):  # alone: no reader mid-restore
                            await asyncio.gather(*cli_runs.values())
                        code, out, seconds = await _run_shell(shell_text, env=env, cwd=work)
                    outcomes.append(Outcome(c, shell_text, code, out, seconds))
                    if c is reset[-1]:
                        after_reset = await _breaker_metric(port, "rpc_pool", 0.0)
                override_applied = await _override_consumed(redis_url)
                assert bot.returncode is None, _tail(log)
        finally:
            for task in cli_runs.values():
                task.cancel()
            await asyncio.gather(*cli_runs.values(), return_exceptions=True)

    assert [o.command.line for o in outcomes] == [c.line for c in runnable]  # every one ran
    assert not _report(outcomes), "runbook commands that do not work:\n" + _report(outcomes)
    assert override_applied, "SET circuit_breaker:rpc_pool:state CLOSED was not applied"
    assert after_reset == 0.0, f"the manual reset left rpc_pool at {after_reset}"
    print(f"bot healthy + Telegram flow at {ready_s:.1f} s, total {time.perf_counter() - t0:.1f} s")
    slowest = sorted(outcomes, key=lambda o: -o.seconds)[:12]
    print("slowest:", [(o.command.line, o.shell[:40], round(o.seconds, 1)) for o in slowest])


_PLACEHOLDERS_AFTER_START = frozenset({"<wallet_public_key>", "<user_id>"})
_REWRITES_DATABASE = re.compile(r"\bpg_restore\b")
