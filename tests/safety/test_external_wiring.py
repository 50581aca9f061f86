"""``EXTERNAL_RISK_APIS`` wires the two clients into the risk check; off by default."""

from __future__ import annotations

import pytest

from sniper_bot.cache.redis import RedisManager
from sniper_bot.components import build_stack
from sniper_bot.config import load_settings
from sniper_bot.errors import ConfigError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.safety.external import GoPlusClient, RugCheckClient

SECRET = "3f9c1e0b7a5d4c2e8f6a9b1c0d2e4f6a8b0c2d4e6f8a0b1c"


async def _external(env: dict[str, str]) -> tuple[object, ...]:
    settings = load_settings({"SESSION_MASTER_SECRET": SECRET, **env})
    metrics = Metrics()
    stack = await build_stack(settings, metrics, RedisManager(None, metrics=metrics), None)
    try:
        return stack.risk.fetcher.external
    finally:
        await stack.close()


async def test_off_by_default_no_client_is_built() -> None:
    assert await _external({}) == ()


async def test_on_builds_both_clients_with_configured_urls() -> None:
    rugcheck, goplus = await _external(
        {
            "EXTERNAL_RISK_APIS": "true",
            "RUGCHECK_API_URL": "http://127.0.0.1:9/rc/",
            "GOPLUS_API_URL": "http://127.0.0.1:9/gp",
        }
    )
    assert isinstance(rugcheck, RugCheckClient)
    assert isinstance(goplus, GoPlusClient)
    assert rugcheck.base_url == "http://127.0.0.1:9/rc"
    assert goplus.base_url == "http://127.0.0.1:9/gp"


def test_defaults_are_the_public_apis() -> None:
    safety = load_settings({"SESSION_MASTER_SECRET": SECRET}).safety
    assert (safety.rugcheck_url, safety.goplus_url) == (
        "https://api.rugcheck.xyz",
        "https://api.gopluslabs.io",
    )


def test_a_bad_url_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="RUGCHECK_API_URL"):
        load_settings({"SESSION_MASTER_SECRET": SECRET, "RUGCHECK_API_URL": "rugcheck.xyz"})
