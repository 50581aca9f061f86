"""Configuration: defaults are the runbook's, bad values stop start-up with one line each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sniper_bot.config import DEMO_MASTER_SECRET, all_variables, defaults, load_settings
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "3f9c1e0b7a5d4c2e8f6a9b1c0d2e4f6a8b0c2d4e6f8a0b1c"


def test_defaults_are_the_runbook_contract() -> None:
    s = load_settings({}, embedded=True)
    assert s.breaker.failure_threshold == 5
    assert s.breaker.success_threshold == 2
    assert s.breaker.timeout_ms == 30_000
    assert s.breaker.monitoring_period_ms == 60_000
    assert s.cache.max_items == 10_000
    assert s.trading.transaction_timeout_ms == 30_000
    assert s.trading.default_slippage_bps == 100
    assert s.safety.block_threshold == 70
    assert s.observability.metrics_port == 3000
    assert s.redis_url is None
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.database_url.endswith("data/sniper-bot.sqlite")


def test_postgres_urls_are_normalised_to_asyncpg() -> None:
    env = {
        "DATABASE_URL": "postgresql://u:p@db:5432/sniper_bot",
        "SESSION_MASTER_SECRET": GOOD_SECRET,
    }
    assert load_settings(env).database_url == "postgresql+asyncpg://u:p@db:5432/sniper_bot"
    env["DATABASE_URL"] = "postgres://u@db/x"
    assert load_settings(env).database_url == "postgresql+asyncpg://u@db/x"


def test_every_problem_is_one_line_naming_variable_and_form() -> None:
    env = {
        "DATABASE_CONNECTION_LIMIT": "abc",
        "METRICS_PORT": "99999",
        "REDIS_URL": "http://not-redis",
        "CIRCUIT_BREAKER_TIMEOUT": "-1",
        "DEFAULT_PRIORITY_FEE": "FAST",
        "LOG_LEVEL": "loud",
    }
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    lines = info.value.message.splitlines()
    assert len(lines) == 7  # the six fields, and the missing secret in the same report
    assert any(x.startswith("SESSION_MASTER_SECRET: is not set") for x in lines)
    for var in env:
        (line,) = [x for x in lines if x.startswith(f"{var}:")]
        assert "expected" in line
    assert "'abc'" in next(x for x in lines if x.startswith("DATABASE_CONNECTION_LIMIT"))


def test_secret_values_are_never_echoed_in_errors() -> None:
    leaked = "postgresql-but-wrong://user:hunter2hunter2@host/db"
    with pytest.raises(ConfigError) as info:
        load_settings({"DATABASE_URL": leaked, "BOT_TOKEN": "12:short-token-hunter2"})
    assert "hunter2" not in info.value.message
    assert "DATABASE_URL" in info.value.message
    assert "BOT_TOKEN" in info.value.message


@pytest.mark.parametrize(
    "secret",
    [
        "change-me",
        "change-me-change-me-change-me-change-me-00",
        "your-session-master-secret-here-please",
        "a" * 40,
    ],
)
def test_placeholder_or_weak_master_secret_is_refused(secret: str) -> None:
    with pytest.raises(ConfigError, match="SESSION_MASTER_SECRET"):
        load_settings({"SESSION_MASTER_SECRET": secret})


def test_missing_master_secret_is_allowed_only_in_the_embedded_default() -> None:
    with pytest.raises(ConfigError, match="SESSION_MASTER_SECRET: is not set"):
        load_settings({})
    assert load_settings({}, embedded=True).master_secrets() == [DEMO_MASTER_SECRET]


def test_run_requires_a_bot_token() -> None:
    with pytest.raises(ConfigError, match="BOT_TOKEN: is not set"):
        load_settings({"SESSION_MASTER_SECRET": GOOD_SECRET}, require_bot=True)


def test_rpc_endpoints_in_priority_order() -> None:
    env = {
        "SESSION_MASTER_SECRET": GOOD_SECRET,
        "HELIUS_RPC_URL": "https://mainnet.helius-rpc.com/?api-key=k",
        "QUICKNODE_RPC_URL": "https://x.solana-mainnet.quiknode.pro/t/",
        "BACKUP_RPC_URL": "https://api.mainnet-beta.solana.com",
        "RPC_URLS": "http://127.0.0.1:1, http://127.0.0.1:2",
    }
    assert list(load_settings(env).rpc.urls()) == [
        "helius",
        "quicknode",
        "solana",
        "backup",
        "rpc1",
        "rpc2",
    ]


def test_fee_level_is_case_insensitive() -> None:
    env = {"SESSION_MASTER_SECRET": GOOD_SECRET, "DEFAULT_PRIORITY_FEE": "turbo"}
    assert load_settings(env).trading.default_priority_fee is FeeLevel.TURBO


def test_env_example_lists_every_variable_with_its_default() -> None:
    text = (ROOT / ".env.example").read_text()
    found = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", text, flags=re.M))
    assert set(found) == set(all_variables())
    assert found == defaults()
    for var in found:  # each has a comment line right above it
        assert re.search(rf"^# .+\n{var}=", text, flags=re.M), var


def test_configuration_doc_has_every_variable() -> None:
    text = (ROOT / "docs" / "CONFIGURATION.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, flags=re.M))
    assert documented == set(all_variables())
