"""The ops server: /metrics at the exact path, /health with 503 only when down, taken port."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import aiohttp
import pytest

from sniper_bot.errors import ConfigError
from sniper_bot.observability.health import ComponentHealth, HealthRegistry, Status
from sniper_bot.observability.metrics import Metrics
from sniper_bot.observability.server import OpsServer, create_ops_app

ROOT = Path(__file__).resolve().parents[2]


def _state(status: Status) -> ComponentHealth:
    return ComponentHealth(status, f"is {status.value}")


async def _serve(health: HealthRegistry, metrics: Metrics) -> OpsServer:
    server = OpsServer(create_ops_app(metrics, health), "127.0.0.1", 0)
    await server.start()
    return server


async def test_metrics_route_is_exact_and_has_the_runbook_names() -> None:
    metrics = Metrics()
    metrics.set_breaker_state("rpc_pool", "OPEN")
    metrics.swap_failures.labels(reason="slippage_exceeded").inc()
    server = await _serve(HealthRegistry(metrics), metrics)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/metrics", allow_redirects=False) as r:
                assert r.status == 200
                text = await r.text()
            async with http.get(f"{server.url}/metrics/", allow_redirects=False) as r:
                assert r.status == 404
    finally:
        await server.stop()
    assert 'circuit_breaker_state{name="rpc_pool"} 1.0' in text
    assert 'swap_failures_total{reason="slippage_exceeded"} 1.0' in text
    for name in (
        "circuit_breaker_failures_total",
        "circuit_breaker_successes_total",
        "swap_execution_duration_seconds",
        "http_requests_total",
        "http_request_duration_seconds",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert "_created" not in text


async def test_health_is_503_only_when_a_required_component_is_down() -> None:
    metrics = Metrics()
    health = HealthRegistry(metrics)
    states = {"database": Status.OK, "redis": Status.OK}

    async def db() -> ComponentHealth:
        return _state(states["database"])

    async def redis() -> ComponentHealth:
        return _state(states["redis"])

    health.register("database", db, required=True)
    health.register("redis", redis, required=False)
    server = await _serve(health, metrics)
    try:
        async with aiohttp.ClientSession() as http:

            async def get() -> tuple[int, dict[str, object]]:
                async with http.get(f"{server.url}/health") as r:
                    return r.status, await r.json()

            assert (await get())[0] == 200
            states["redis"] = Status.DOWN  # optional: degraded, never down
            code, body = await get()
            assert (code, body["status"]) == (200, "degraded")
            assert body["components"]["redis"]["status"] == "degraded"  # type: ignore[index]
            states["database"] = Status.DOWN
            code, body = await get()
            assert (code, body["status"]) == (503, "down")
            async with http.get(f"{server.url}/metrics") as r:
                text = await r.text()
    finally:
        await server.stop()
    assert 'component_up{component="database"} 0.0' in text
    assert re.search(r'http_requests_total\{method="GET",path="/health",status="503"\} 1\.0', text)


async def test_a_check_that_raises_or_hangs_is_reported_not_crashed() -> None:
    health = HealthRegistry(timeout_s=0.05)

    async def broken() -> ComponentHealth:
        raise RuntimeError("boom")

    async def hangs() -> ComponentHealth:
        import asyncio

        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    health.register("broken", broken)
    health.register("hangs", hangs)
    report = await health.report()
    assert report.status is Status.DOWN
    assert report.components["broken"].detail == "RuntimeError: boom"
    assert "timed out" in report.components["hangs"].detail


async def test_taken_port_is_a_one_line_config_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = OpsServer(create_ops_app(Metrics(), HealthRegistry()), "127.0.0.1", port)
        with pytest.raises(ConfigError) as info:
            await server.start()
    assert f"port {port}" in info.value.message
    assert "METRICS_PORT" in info.value.message
    assert "\n" not in info.value.message


def test_alert_rules_only_use_metrics_we_export_or_standard_exporters() -> None:
    text = (ROOT / "deploy" / "prometheus-alerts.yml").read_text()
    exported = Metrics().registry
    names = {m.name for m in exported.collect()}
    ours = {
        "circuit_breaker_state",
        "http_requests",
        "http_request_duration_seconds",
        "swap_failures",
        "redis_up",
    }
    assert ours <= names
    external = {"up", "pg_up", "container_memory_usage_bytes", "container_spec_memory_limit_bytes"}
    used: set[str] = set()
    for expr in re.findall(r"expr: (.+)", text):
        expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)  # drop label matchers and ranges
        used |= set(re.findall(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()", expr))
    used -= external | {"by", "le"}
    assert used, "no metric found in the alert rules"
    for metric in used:
        assert re.sub(r"_(total|bucket)$", "", metric) in names, metric
