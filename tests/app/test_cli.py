"""The operator commands as an operator runs them: subprocesses against a localnet process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from solders.keypair import Keypair

from sniper_bot.config import load_settings
from sniper_bot.demo import demo_env
from support.services import free_port

BIN = Path(sys.executable).parent / "sniper-bot"
OLD_SECRET = "6a1d3f5b7c9e0a2c4e6f8a0b2d4c6e8f0a1b3c5d7e9f1a3b"
NEW_SECRET = "f0e1d2c3b4a5968778695a4b3c2d1e0ff1e2d3c4b5a69788"


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


@pytest.fixture(scope="module")
def localnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    out = tmp_path_factory.mktemp("localnet") / "urls.json"
    proc = subprocess.Popen(
        [str(BIN), "localnet", "--json", str(out), "--no-scenario", "--seed", "5"],
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


def _env(net: SimpleNamespace, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "DATABASE_"))}
    env.update(demo_env(net, data_dir=tmp_path, metrics_port=0))
    env["COLUMNS"] = "200"  # rich wraps tables to 80 columns when not on a terminal
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_rpc_latency_probes_every_endpoint(localnet: SimpleNamespace, tmp_path: Path) -> None:
    result = _run(["rpc-latency", "-n", "3"], _env(localnet, tmp_path))
    assert result.returncode == 0, result.stderr
    for name in ("helius", "quicknode", "solana"):
        assert name in result.stdout
    assert "Traceback" not in result.stderr


def test_wallet_balance_prints_sol(localnet: SimpleNamespace, tmp_path: Path) -> None:
    owner = Keypair().pubkey()
    _post(f"{localnet.control}/airdrop", {"pubkey": str(owner), "lamports": 1_234_500_000})
    result = _run(["wallet-balance", str(owner)], _env(localnet, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "1.2345" in result.stdout


def test_wallet_balance_rejects_a_typo_with_exit_2(
    localnet: SimpleNamespace, tmp_path: Path
) -> None:
    result = _run(["wallet-balance", "not-a-key"], _env(localnet, tmp_path))
    assert result.returncode == 2
    assert "not a base58 public key" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("kind", "code"), [("honest", 0), ("freeze_authority", 3)])
def test_check_token_exit_code_follows_the_threshold(
    localnet: SimpleNamespace, tmp_path: Path, kind: str, code: int
) -> None:
    token = _post(f"{localnet.control}/tokens", {"kind": kind, "liquidity_sol": 50})
    result = _run(["check-token", token["mint"], "--json"], _env(localnet, tmp_path))
    assert result.returncode == code, result.stderr
    report = json.loads(result.stdout)
    assert report["mint"] == token["mint"]
    assert report["blocked"] is (code == 3)


def test_rotate_secret_rewraps_every_wallet(localnet: SimpleNamespace, tmp_path: Path) -> None:
    from sniper_bot.components import build_signer_cache, build_wallets
    from sniper_bot.observability.metrics import Metrics
    from sniper_bot.storage.database import Database
    from sniper_bot.storage.repositories import Repositories

    old_env = _env(localnet, tmp_path, SESSION_MASTER_SECRET=OLD_SECRET)

    async def create_wallets(env: dict[str, str]) -> list[str]:
        settings = load_settings(env)
        db = Database(settings.database_url)
        await db.connect(attempts=1)
        await db.upgrade()
        repos = Repositories.build(db)
        wallets = build_wallets(settings, repos, Metrics(), build_signer_cache(settings))
        keys = [(await wallets.create_wallet(7000 + i)).public_key for i in range(3)]
        await db.dispose()
        return keys

    async def open_all(env: dict[str, str]) -> int:
        settings = load_settings(env)
        db = Database(settings.database_url)
        repos = Repositories.build(db)
        wallets = build_wallets(settings, repos, Metrics(), build_signer_cache(settings))
        opened = 0
        for i in range(3):
            user = await repos.users.get_by_telegram_id(7000 + i)
            assert user is not None
            await wallets.signer(user.id)
            opened += 1
        await db.dispose()
        return opened

    keys = asyncio.run(create_wallets(old_env))
    assert len(keys) == 3
    rotating = _env(
        localnet,
        tmp_path,
        SESSION_MASTER_SECRET=NEW_SECRET,
        SESSION_MASTER_SECRET_PREVIOUS=OLD_SECRET,
    )
    result = _run(["rotate-secret"], rotating)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "re-wrapped 3 wallet(s)" in result.stdout
    again = _run(["rotate-secret"], rotating)  # resumable: nothing left to do
    assert again.returncode == 0
    assert "re-wrapped 0 wallet(s)" in again.stdout
    new_only = _env(localnet, tmp_path, SESSION_MASTER_SECRET=NEW_SECRET)
    assert asyncio.run(open_all(new_only)) == 3


def _demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "DATABASE_"))}
    env.pop("METRICS_PORT", None)
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def test_demo_serves_its_ops_port_on_metrics_port(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "demo", "--data-dir", str(tmp_path / "demo")],
        env=_demo_env(tmp_path, METRICS_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    health: Any = None
    try:
        deadline = time.monotonic() + 90
        while health is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/health", timeout=5
                ) as response:
                    health = json.loads(response.read())
            except OSError:
                time.sleep(0.2)
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert health is not None, f"nothing answered on METRICS_PORT={port}:\n{output}"
    assert "status" in health
    assert f"http://127.0.0.1:{port}/metrics" in output
    # SIGTERM mid-script is the operator's stop, not a failure: the script stops at once (no
    # service_stop_deadline) and the demo exits 0
    assert "service_stop_deadline" not in output, output
    assert proc.returncode == 0, output


def test_demo_refuses_a_bad_metrics_port_naming_the_variable(tmp_path: Path) -> None:
    result = _run(
        ["demo", "--data-dir", str(tmp_path / "demo")], _demo_env(tmp_path, METRICS_PORT="70000")
    )
    assert result.returncode == 2
    assert "METRICS_PORT" in result.stderr
    assert "Traceback" not in result.stderr
