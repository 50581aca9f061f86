"""A real Prometheus scrapes a running bot on localnet and evaluates the deployed alert rules.

While the endpoints answer, CircuitBreakerOpen is inactive (and ApplicationDown too: ``up`` is 1).
When every localnet RPC endpoint goes down, the bot's own background reads trip the ``rpc_pool``
breaker and Prometheus reports CircuitBreakerOpen pending (it fires after its ``for: 5m``, which the
promtool unit tests cover). The rules file is loaded as deployed except its group ``interval``
(30 s), shortened to 1 s so the test waits seconds, not minutes. The ``prometheus`` binary is
Debian's ``prometheus`` package (skipped without it, a failure under CI=true).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import yaml

from e2e.harness import bot_under_test
from localnet.node import Localnet
from support.services import free_port, unavailable

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus-alerts.yml"
ENDPOINTS = ("helius", "quicknode", "public")


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, within_s: float) -> None:
    """Poll until ``check`` holds; the deadline only bounds a failing test."""
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.25)


async def _set_faults(net: Localnet, profile: dict[str, Any]) -> None:
    assert net.urls is not None
    async with aiohttp.ClientSession() as http:
        for name in ENDPOINTS:
            url = f"{net.urls.control}/endpoints/{name}/faults"
            async with http.put(url, json=profile) as resp:
                assert resp.status == 200, await resp.text()


def _fast_rules(tmp_path: Path) -> Path:
    doc = yaml.safe_load(RULES.read_text())
    (group,) = doc["groups"]
    assert group["interval"] == "30s"
    group["interval"] = "1s"
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def _get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    assert body["status"] == "success", body
    return body["data"]


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_circuit_breaker_open_goes_pending_when_localnets_endpoints_fail(
    tmp_path: Path,
) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        unavailable("prometheus", FileNotFoundError("not on PATH (Debian package prometheus)"))
        return
    rules = _fast_rules(tmp_path)
    # a long breaker timeout: once OPEN, the pool breaker stays OPEN for the whole test
    async with bot_under_test(tmp_path / "bot", env={"CIRCUIT_BREAKER_TIMEOUT": "600000"}) as bot:
        target = urlsplit(bot.app.ops.url).netloc
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(rules)],
                    "scrape_configs": [
                        {"job_name": "sniper-bot", "static_configs": [{"targets": [target]}]}
                    ],
                }
            )
        )
        log = (tmp_path / "prometheus.log").open("w")
        proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, waited for below
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        api = f"http://127.0.0.1:{port}/api/v1"
        try:
            async with aiohttp.ClientSession() as http:

                async def alerts() -> dict[str, str]:
                    data = await _get(http, f"{api}/alerts")
                    return {a["labels"]["alertname"]: a["state"] for a in data["alerts"]}

                async def scraped_healthy() -> bool:
                    try:
                        data = await _get(http, f"{api}/query?query=up")
                    except aiohttp.ClientError:
                        return False  # Prometheus still starting
                    values = [r["value"][1] for r in data["result"]]
                    return values == ["1"]

                async def rules_loaded() -> bool:
                    data = await _get(http, f"{api}/rules")
                    names = {r["name"] for g in data["groups"] for r in g["rules"]}
                    return "CircuitBreakerOpen" in names

                await _eventually(scraped_healthy, "Prometheus scraped the bot (up == 1)", 60)
                await _eventually(rules_loaded, "Prometheus loaded the alert rules", 30)

                async def breaker_closed_seen() -> bool:
                    q = 'circuit_breaker_state{name="rpc_pool"}'
                    data = await _get(http, f"{api}/query?query={q}")
                    return [r["value"][1] for r in data["result"]] == ["0"]

                await _eventually(breaker_closed_seen, "the pool breaker scraped as CLOSED", 30)
                quiet = await alerts()
                assert "CircuitBreakerOpen" not in quiet, quiet
                assert "ApplicationDown" not in quiet, quiet

                await _set_faults(bot.net, {"down": True})

                async def pending() -> bool:
                    return (await alerts()).get("CircuitBreakerOpen") == "pending"

                await _eventually(pending, "CircuitBreakerOpen pending", 90)
                data = await _get(http, f"{api}/alerts")
                (alert,) = [
                    a for a in data["alerts"] if a["labels"]["alertname"] == "CircuitBreakerOpen"
                ]
                assert alert["labels"]["name"] == "rpc_pool"
                assert alert["labels"]["priority"] == "P2"
                assert alert["annotations"]["summary"] == "Circuit breaker is OPEN for rpc_pool"
                await _set_faults(bot.net, {})
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
