"""`sniper-bot feeds` as an operator runs it: a subprocess against a `sniper-bot localnet` process
while pump.fun coins launch on it (its control API). Every feed (the three RPC WebSockets and
the Geyser stream) reports the launches it saw, the first-seen wins add up to the launches, a
feed that cannot be reached (closed port, wrong x-token) gets a one-line reason and exit 1, and
no secret is printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sniper_bot.demo import demo_env
from support.services import free_port

BIN = Path(sys.executable).parent / "sniper-bot"

ROW = re.compile(
    r"^\s*[│|]\s*(?P<feed>\w+)\s*[│|]\s*(?P<kind>websocket|geyser)\s*[│|](?P<rest>.*)$"
)


@pytest.fixture(scope="module")
def localnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    out = tmp_path_factory.mktemp("localnet") / "urls.json"
    proc = subprocess.Popen(
        [str(BIN), "localnet", "--json", str(out), "--no-scenario", "--seed", "16"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not out.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("sniper-bot localnet did not write its --json file")
            time.sleep(0.1)
        yield SimpleNamespace(**json.loads(out.read_text()))
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def _env(net: SimpleNamespace, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "DATABASE_"))}
    env.update(demo_env(net, data_dir=tmp_path, metrics_port=0))
    env["COLUMNS"] = "220"  # rich wraps tables to 80 columns when not on a terminal
    env.update(extra)
    return env


def _geyser_env(net: SimpleNamespace, tmp_path: Path, **extra: str) -> dict[str, str]:
    g = net.geyser["geyser"]
    values = {"GEYSER_ENDPOINT": g["url"], "GEYSER_X_TOKEN": g["x_token"]}
    values.update(extra)
    return _env(net, tmp_path, **values)


def _rows(stdout: str) -> dict[str, list[str]]:
    rows = {}
    for line in stdout.splitlines():
        match = ROW.match(line)
        if match:
            cells = [c.strip() for c in re.split(r"[│|]", match["rest"].rstrip(" │|"))]
            rows[match["feed"]] = [match["kind"], *cells]
    return rows


def test_each_feed_reports_the_scripted_launches(localnet: SimpleNamespace, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(BIN), "feeds", "--seconds", "4"], env=_geyser_env(localnet, tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    launched: list[str] = []

    def launch_while_running() -> None:
        n = 0
        while proc.poll() is None and n < 30:
            time.sleep(0.4)
            n += 1
            done = _post(f"{localnet.control}/pump/launch",
                         {"creator_index": n, "name": f"Feed {n}", "symbol": f"F{n}"})  # fmt: skip
            launched.append(done["mint"])

    scripter = threading.Thread(target=launch_while_running, daemon=True)
    scripter.start()
    stdout, stderr = proc.communicate(timeout=120)
    scripter.join(timeout=30)
    assert proc.returncode == 0, (stdout, stderr)
    assert "Traceback" not in stderr
    rows = _rows(stdout)
    assert set(rows) == {"helius", "quicknode", "solana", "geyser"}, stdout
    # columns: kind, launches, first seen, gap p50, gap max, last slot, slot lag, status
    launches = {feed: int(cells[1]) for feed, cells in rows.items()}
    firsts = {feed: int(cells[2]) for feed, cells in rows.items()}
    assert all(n >= 1 for n in launches.values()), stdout  # every feed saw the launches
    assert max(launches.values()) <= len(launched)
    # first seen wins: each launch counted once, by one feed (the most any feed saw)
    assert sum(firsts.values()) == max(launches.values()), stdout
    assert all(cells[-1] == "ok" for cells in rows.values()), stdout
    assert all(cells[5].isdigit() and cells[6].isdigit() for cells in rows.values()), stdout


def test_unreachable_feeds_are_named_with_a_reason_and_exit_1(
    localnet: SimpleNamespace, tmp_path: Path
) -> None:
    closed = free_port()
    env = _geyser_env(localnet, tmp_path, GEYSER_ENDPOINT=f"http://127.0.0.1:{free_port()}",
                      HELIUS_RPC_URL=f"http://127.0.0.1:{closed}/?api-key=sekrit-key")  # fmt: skip
    env["RPC_WS_URLS"] = env["RPC_WS_URLS"].replace(
        localnet.rpc["helius"]["ws"], f"ws://127.0.0.1:{closed}/?api-key=sekrit-key"
    )
    result = subprocess.run([str(BIN), "feeds", "--seconds", "2"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "feed helius: unreachable: cannot connect" in result.stderr
    assert "feed geyser: unreachable: no Geyser stream within 2 s" in result.stderr
    assert "feed quicknode" not in result.stderr  # the others were fine
    assert "sekrit-key" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_x_token_says_check_the_token_and_never_prints_it(
    localnet: SimpleNamespace, tmp_path: Path
) -> None:
    env = _geyser_env(localnet, tmp_path, GEYSER_X_TOKEN="wrong-token-value")
    result = subprocess.run([str(BIN), "feeds", "--seconds", "2"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "feed geyser: unreachable" in result.stderr
    assert "unauthenticated" in result.stderr
    assert "check GEYSER_X_TOKEN" in result.stderr
    assert "wrong-token-value" not in result.stdout + result.stderr
