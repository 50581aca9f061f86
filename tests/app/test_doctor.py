"""`sniper-bot doctor` against localnet: every dependency checked, with the reason when it fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localnet.faults import FaultProfile
from localnet.node import Localnet
from localnet.testing import running_localnet
from sniper_bot.config import load_settings
from sniper_bot.demo import demo_env
from sniper_bot.doctor import Check, run_checks
from sniper_bot.storage.database import Database

SECRET = "4c1f9a7e2b6d0c8e5a3f7b9d1e2c4a6f8b0d2e4c6a8f0b1d"


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(slot_ms=400) as started:
        yield started


async def _migrated_env(net: Localnet, tmp_path: Path) -> dict[str, str]:
    assert net.urls is not None
    env = demo_env(net.urls, data_dir=tmp_path, metrics_port=0)
    env["SESSION_MASTER_SECRET"] = SECRET
    settings = load_settings(env)
    db = Database(settings.database_url)
    await db.connect(attempts=1)
    await db.upgrade()
    await db.dispose()
    return env


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


async def test_doctor_passes_on_a_complete_setup(net: Localnet, tmp_path: Path) -> None:
    checks = _by_name(await run_checks(await _migrated_env(net, tmp_path)))
    assert all(c.ok for c in checks.values()), checks
    assert set(checks) >= {
        "configuration", "database", "redis", "jupiter", "telegram",
        "rpc:helius", "rpc:quicknode", "rpc:solana",
    }  # fmt: skip
    assert "@sniper_test_bot" in checks["telegram"].detail
    assert "disabled" in checks["redis"].detail
    assert not checks["redis"].required


async def test_one_endpoint_down_is_degraded_not_fatal(net: Localnet, tmp_path: Path) -> None:
    env = await _migrated_env(net, tmp_path)
    net.endpoints["helius"].set_profile(FaultProfile(down=True))
    checks = _by_name(await run_checks(env))
    assert not checks["rpc:helius"].ok
    assert not checks["rpc:helius"].required  # others answer
    assert checks["rpc:quicknode"].ok


async def test_unmigrated_database_and_bad_token_are_named(net: Localnet, tmp_path: Path) -> None:
    assert net.urls is not None
    env = demo_env(net.urls, data_dir=tmp_path, metrics_port=0)
    env["SESSION_MASTER_SECRET"] = SECRET
    env["BOT_TOKEN"] = "999:not-the-token-the-fake-expects-at-all"
    checks = _by_name(await run_checks(env))
    assert not checks["database"].ok
    assert "sniper-bot migrate" in checks["database"].detail
    assert checks["telegram"].required


async def test_invalid_configuration_is_one_row_per_problem() -> None:
    checks = await run_checks(
        {"METRICS_PORT": "x", "MAX_CACHE_ITEMS": "-3", "SESSION_MASTER_SECRET": SECRET}
    )
    assert [c.name for c in checks] == ["configuration", "configuration"]
    assert all(not c.ok and c.required for c in checks)
