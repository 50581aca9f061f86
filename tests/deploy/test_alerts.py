"""The alert rules and the Alertmanager config, proven with the tools operators load them with.

``promtool check rules`` parses deploy/prometheus-alerts.yml; ``promtool test rules`` runs
deploy/prometheus/tests/alerts_test.yml, where every alert fires when it should and stays quiet when
it should not; ``amtool check-config`` parses deploy/alertmanager/alertmanager.yml and
``amtool config routes test`` proves where each priority goes (P1 pages, P2/P3 go to chat).
promtool/amtool come from Debian's ``prometheus`` / ``prometheus-alertmanager`` packages
(scripts/ensure-services.sh installs them under CI=true); without them these tests skip, or fail
under CI=true.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus-alerts.yml"
RULE_TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.yml"))
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def _tool(name: str, package: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        unavailable(name, FileNotFoundError(f"{name} not on PATH (Debian package {package})"))
        raise AssertionError("unreachable")  # pragma: no cover - unavailable() skips or fails
    return exe


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)


def _alerts() -> dict[str, dict[str, object]]:
    doc = yaml.safe_load(RULES.read_text())
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}


def test_promtool_checks_the_rules() -> None:
    out = _run(_tool("promtool", "prometheus"), "check", "rules", str(RULES))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in out.stdout


def test_promtool_unit_tests_pass() -> None:
    assert RULE_TESTS, "no rule unit tests in deploy/prometheus/tests"
    out = _run(_tool("promtool", "prometheus"), "test", "rules", *map(str, RULE_TESTS))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """The harness itself: a test expecting the wrong alert must make promtool exit non-zero."""
    (tmp_path / "rules.yml").write_text(RULES.read_text())
    (tmp_path / "wrong_test.yml").write_text(
        "rule_files: [rules.yml]\nevaluation_interval: 30s\ntests:\n"
        "  - interval: 30s\n    input_series:\n"
        "      - series: 'redis_up{job=\"sniper-bot\"}'\n        values: '1x20'\n"
        "    alert_rule_test:\n      - alertname: RedisDegraded\n        eval_time: 6m\n"
        "        exp_alerts:\n          - exp_labels: {job: sniper-bot}\n"
    )
    out = _run(_tool("promtool", "prometheus"), "test", "rules", str(tmp_path / "wrong_test.yml"))
    assert out.returncode != 0
    assert "FAILED" in out.stdout + out.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        doc = yaml.safe_load(path.read_text())
        for case in doc["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = set(_alerts())
    assert alerts - fired == set(), "alerts never shown firing"
    assert alerts - quiet == set(), "alerts never shown staying quiet"


def test_every_alert_has_a_priority_and_severity_the_routes_know() -> None:
    for name, rule in _alerts().items():
        labels = rule["labels"]
        assert isinstance(labels, dict)
        assert labels.get("priority") in {"P1", "P2", "P3"}, name
        assert labels.get("severity") in {"critical", "warning", "info"}, name


def test_amtool_checks_the_alertmanager_config() -> None:
    out = _run(_tool("amtool", "prometheus-alertmanager"), "check-config", str(ALERTMANAGER))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


@pytest.mark.parametrize(
    ("priority", "receivers"),
    [("P1", "pager,chat"), ("P2", "chat"), ("P3", "chat"), ("P4", "chat"), ("", "chat")],
)
def test_alertmanager_routes_by_priority(priority: str, receivers: str) -> None:
    labels = ["alertname=Anything", "job=sniper-bot"]
    labels += [f"priority={priority}"] if priority else []
    out = _run(
        _tool("amtool", "prometheus-alertmanager"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER}",
        *labels,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == receivers


def test_every_alert_of_the_rules_reaches_its_receiver() -> None:
    """Each real alert, with its own labels, routed: every P1 pages, no P2/P3 does."""
    amtool = _tool("amtool", "prometheus-alertmanager")
    for name, rule in _alerts().items():
        labels = rule["labels"]
        assert isinstance(labels, dict)
        argv = [f"alertname={name}", *(f"{k}={v}" for k, v in labels.items())]
        out = _run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *argv)
        assert out.returncode == 0, out.stdout + out.stderr
        got = set(out.stdout.strip().split(","))
        if labels["priority"] == "P1":
            assert got == {"pager", "chat"}, name
        else:
            assert got == {"chat"}, name


def test_alertmanager_secrets_come_from_files_not_the_config() -> None:
    text = ALERTMANAGER.read_text()
    assert "routing_key_file:" in text
    assert "api_url_file:" in text
    assert not re.search(r"hooks\.slack\.com|routing_key:\s|api_url:\s", text)
