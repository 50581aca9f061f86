"""The Chaos Drills of docs/RUNBOOK.md, run as written: every ``$ `` command of the section's
``console`` block, in order, in ``bash`` with an operator's environment, against a running
``sniper-bot run`` (its own PostgreSQL database, a private redis-server, localnet, the bot an
admin's with CHAOS_ENABLED=true) and ``urls.json`` as ``sniper-bot localnet --json`` writes it.

A command must exit 0; a drill that waits must print its ``recovered in`` line. The ``--keep``
memory drill waits for the runbook's Level 1 restart: when it asks, the bot is stopped (SIGTERM)
and started again, as systemd would, and the drill must see it recover (healthy, breakers
CLOSED, RSS back under the threshold). After the ``redis-cli ... DEL`` manual reset the bot must
recover too. An edit of the runbook that breaks a command fails here. Recovery times are printed
(``-s``); nothing asserts on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from docs.runbook import blocks, load, section_span
from docs.test_runbook import _operator_env, _wait_healthy
from localnet.testing import running_localnet
from sniper_bot.ops.chaos import recovered
from sniper_bot.storage.database import Database
from support.services import RedisServer, free_port, postgres_database

pytestmark = pytest.mark.timeout(600)

SNIPER_BOT = Path(sys.executable).parent / "sniper-bot"
ADMIN = 5150
COMMAND_TIMEOUT_S = 180.0
_RECOVERED = re.compile(r"recovered in (\d+(?:\.\d+)?) s")


def drill_commands(text: str) -> list[tuple[int, str]]:
    """(line, command) of every ``$ `` line in the Chaos Drills section's console blocks."""
    start, end = section_span(text, "Chaos Drills")
    out = []
    for block in blocks(text):
        if block.lang == "console" and start < block.start_line < end:
            for offset, line in enumerate(block.lines):
                if line.startswith("$ "):
                    out.append((block.start_line + offset, line[2:].strip()))
    return out


def test_the_drills_block_lists_every_scenario() -> None:
    commands = [c for _, c in drill_commands(load())]
    from sniper_bot.ops.chaos import SCENARIOS

    for scenario in SCENARIOS:
        assert any(f"sniper-bot chaos {scenario}" in c for c in commands), scenario
    assert any("--keep" in c for c in commands)


class _Bot:
    """``sniper-bot run`` as a service manager runs it: started, stopped with SIGTERM, restarted."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path, port: int) -> None:
        self.env, self.cwd, self.log, self.port = env, cwd, log, port
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        sink = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            str(SNIPER_BOT), "run", env=self.env, cwd=self.cwd, stdout=sink, stderr=sink,
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        sink.close()
        self.starts += 1
        await _wait_healthy(self.proc, self.port, self.log)

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def drill_bot(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[_Bot, dict[str, str], Path]]:
    tmp = tmp_path_factory.mktemp("drills")
    work = tmp / "work"
    work.mkdir()
    redis = RedisServer(free_port())
    redis.start()
    try:
        async with postgres_database() as pg_url, running_localnet(slot_ms=400) as net:
            db = Database(pg_url)
            await db.connect(attempts=3)
            await db.upgrade()
            await db.dispose()
            assert net.urls is not None
            (work / "urls.json").write_text(json.dumps(net.urls.to_json()))
            port = free_port()
            env = _operator_env(
                net, pg_url=pg_url, redis_url=redis.url, metrics_port=port, data_dir=tmp
            )
            env.update({
                "ADMIN_TELEGRAM_IDS": str(ADMIN), "CHAOS_ENABLED": "true",
                "CIRCUIT_BREAKER_TIMEOUT": "1000", "CIRCUIT_BREAKER_MONITORING_PERIOD": "10000",
            })  # fmt: skip
            env.pop("LOCALNET_CONTROL_URL", None)  # the block's `export` sets it
            bot = _Bot(env, work, tmp / "bot.log", port)
            await bot.start()
            try:
                yield bot, env, work
            finally:
                await bot.stop()
    finally:
        redis.kill()


async def _run(
    command: str, exports: list[str], env: dict[str, str], cwd: Path, bot: _Bot
) -> tuple[int, str]:
    """One command in bash after the block's earlier ``export`` lines; a ``--keep`` drill gets
    its restart when it asks for it."""
    script = "\n".join([*exports, command])
    proc = await asyncio.create_subprocess_exec(
        "bash", "-o", "pipefail", "-c", script, env=env, cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{command!r} still running after {COMMAND_TIMEOUT_S:g} s")
            raw = await asyncio.wait_for(proc.stdout.readline(), left)
            if not raw:
                break
            line = raw.decode(errors="replace")
            lines.append(line)
            if "restart it now" in line:  # the runbook's Level 1, as the operator does it
                await bot.restart()
        await proc.wait()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    return proc.returncode or 0, "".join(lines)


@pytest.mark.asyncio(loop_scope="module")
async def test_every_chaos_drill_of_the_runbook_runs_as_written_and_the_bot_recovers(
    drill_bot: tuple[_Bot, dict[str, str], Path],
) -> None:
    bot, env, work = drill_bot
    commands = drill_commands(load())
    assert len(commands) >= 8, commands
    exports: list[str] = []
    times: dict[str, float] = {}
    outputs: list[tuple[int, str, str]] = []
    for line, command in commands:
        code, out = await _run(command, exports, env, work, bot)
        outputs.append((line, command, out))
        assert code == 0, f"line {line}: {command!r} exited {code}:\n{out[-3000:]}"
        if command.startswith("export "):
            exports.append(command)
            continue
        if command.startswith("redis-cli") and " DEL " in command:  # the manual reset
            ok, seconds, state = await recovered(f"http://127.0.0.1:{bot.port}", 45)
            assert ok, f"line {line}: not recovered after the manual reset: {state}"
            times["breaker-stuck-open (manual reset)"] = seconds
            continue
        if command.startswith("sniper-bot chaos") and "--wait 0" not in command:
            found = _RECOVERED.search(out)
            assert found, f"line {line}: {command!r} printed no recovery:\n{out[-3000:]}"
            name = command.split()[2] + (" --keep (restart)" if "--keep" in command else "")
            times[name] = float(found.group(1))

    memory = [out for _, c, out in outputs if "memory-pressure" in c]
    assert len(memory) == 2
    for out in memory:
        flat = " ".join(out.split())
        assert "HighMemoryUsage's expression is true" in flat, flat
        # the runbook's diagnosis names the allocation site that grew
        assert re.search(r"grew most: sniper_bot/ops/chaos\.py:\d+ \+\d", flat), flat
    assert "clear: /memory hog off" in " ".join(memory[0].split())
    assert "restart it now" in memory[1]
    assert bot.starts == 2  # the --keep drill's restart, and only that one
    print("\nrunbook drills: recovery times (s after the clear):", times)
