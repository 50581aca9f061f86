"""The Grafana dashboard (deploy/grafana/) asks only for what the bot exports; its queries parse.

Every panel query's metric names (PromQL parsed crudely but correctly: identifiers that are not
functions, aggregations, keywords, label names, strings, durations or Grafana variables) must be
sample names the bot's ``Metrics`` registry exposes: gauges as themselves, counters with ``_total``,
histograms as ``_bucket``/``_sum``/``_count``. ``promtool check rules`` parses every query (as a
recording rule) so a typo in PromQL fails here, not on an operator's screen.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sniper_bot.observability.metrics import Metrics
from support.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
_KEYWORDS |= {"and", "or", "unless", "offset", "inf", "nan", "start", "end"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w.:$])([A-Za-z_:][\w:]*)(?![\w:])")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (Grafana's $variables allowed)."""
    e = _STRING.sub('""', expr)
    e = re.sub(r"\{[^}]*\}", "{}", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "[]", e)  # range and subquery durations
    e = _GROUPING.sub(" ", e)  # label lists of by/without/on/ignoring/group_*
    e = re.sub(r"\$\{[^}]*\}|\$\w+", " ", e)  # Grafana variables
    names: set[str] = set()
    for m in _IDENT.finditer(e):
        name = m.group(1)
        if re.match(r"\s*\(", e[m.end() :]):
            continue  # a function call or an aggregation
        if name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def exported_samples() -> set[str]:
    names: set[str] = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_sum", "_count")}
        else:
            names.add(family.name)
    return names


def _panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in dash["panels"]:
        out.extend(p.get("panels", []) if p["type"] == "row" else [p])
    return out


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def _queries(dash: dict[str, Any]) -> list[tuple[str, str]]:
    out = [(p["title"], t["expr"]) for p in _panels(dash) for t in p["targets"]]
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            q = re.fullmatch(r"label_values\((.+),\s*\w+\)", var["query"]["query"])
            assert q, var["name"]
            out.append((f"${var['name']}", q.group(1)))
    return out


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('up{job="sniper-bot"} == 0', {"up"}),
        ('sum by (endpoint, le) (rate(a_bucket{x=~"y|z"}[$__rate_interval]))', {"a_bucket"}),
        ("sum(rate(a_total[5m])) by (reason) / ignoring(reason) group_left b", {"a_total", "b"}),
        ("histogram_quantile(0.95, sum(rate(h_bucket[5m] offset 1h)) without (pod))", {"h_bucket"}),
        ('x{name="rpc_pool", text="sum by (fake)"} > 1e3 and on (job) y_total', {"x", "y_total"}),
        ('scalar(max(s{job=~"$job"})) - s{instance=~"${instance}"}', {"s"}),
        ("process_open_fds / process_max_fds > bool 0.9", {"process_open_fds", "process_max_fds"}),
        ("max_over_time(m:recorded[1h:5m]) unless n", {"m:recorded", "n"}),
    ],
)
def test_metric_names_are_parsed_out_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_the_exported_names_carry_the_prometheus_suffixes() -> None:
    names = exported_samples()
    assert {"circuit_breaker_state", "swap_failures_total", "orders", "redis_up"} <= names
    assert {"rpc_request_duration_seconds_bucket", "rpc_request_duration_seconds_count"} <= names
    assert "process_resident_memory_bytes" in names
    assert "swap_failures" not in names  # a counter is only scraped with _total
    assert "rpc_request_duration_seconds" not in names  # a histogram only as its series


def test_there_is_a_dashboard() -> None:
    assert DASHBOARDS, "no dashboard JSON in deploy/grafana/dashboards"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_query_names_only_metrics_the_bot_exports(path: Path) -> None:
    dash = _load(path)
    exported = exported_samples()
    for title, expr in _queries(dash):
        used = metric_names(expr)
        assert used, f"{title}: no metric in {expr!r}"
        assert used <= exported, f"{title}: {sorted(used - exported)} not exported by the bot"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_dashboard_covers_what_operators_watch(path: Path) -> None:
    dash = _load(path)
    used = set().union(*(metric_names(e) for _, e in _queries(dash)))
    exprs = " ".join(e for _, e in _queries(dash))
    for needed in (
        "circuit_breaker_state",  # breakers
        "rpc_request_duration_seconds_bucket",  # RPC latency ...
        "swap_execution_duration_seconds_count",  # swaps by outcome
        "swap_failures_total",  # ... and reason
        "swap_execution_duration_seconds_bucket",  # snipe latency
        "orders",  # orders by state
        "component_up",  # database health
        "redis_up",  # Redis health
        "process_resident_memory_bytes",  # memory
    ):
        assert needed in used, needed
    assert "by (endpoint, le)" in exprs  # latency per endpoint
    for grouping in ("by (side, outcome)", "by (reason)", "by (state)"):
        assert grouping in exprs, grouping


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_dashboard_is_well_formed(path: Path) -> None:
    dash = _load(path)
    assert dash["uid"]
    assert dash["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in _panels(dash):
        g = p["gridPos"]
        assert g["x"] >= 0, p["title"]
        assert g["x"] + g["w"] <= 24, p["title"]
        assert p["targets"], p["title"]
        assert [t["refId"] for t in p["targets"]] == [chr(65 + i) for i in range(len(p["targets"]))]
        assert p["datasource"]["uid"] == "${datasource}", p["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_is_valid_promql(path: Path, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        unavailable("promtool", FileNotFoundError("not on PATH (Debian package prometheus)"))
        return
    concrete = {"$__rate_interval": "1m", "${instance}": ".*", "$instance": ".*", "$job": "x"}
    rules = []
    for i, (_, expr) in enumerate(_queries(_load(path))):
        for var, value in concrete.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    rules_file = tmp_path / "queries.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    out = subprocess.run(
        [promtool, "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(rules)} rules found" in out.stdout


def test_provisioning_points_at_the_dashboards_and_the_datasource() -> None:
    prov = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "sniper-bot.yml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/var/lib/grafana/dashboards")
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus"
    for path in DASHBOARDS:
        (var,) = [v for v in _load(path)["templating"]["list"] if v["type"] == "datasource"]
        assert var["query"] == source["type"]
        assert var["current"]["value"] == source["uid"]
