"""deploy/k8s validated offline and held to the code and the runbook.

Every manifest is checked against the Kubernetes OpenAPI schemas (``kubernetes-validate``, strict:
an unknown field is an error) for the oldest and newest versions it ships; then the parts that the
schemas cannot know: the ConfigMap and Secret keys are exactly the bot's settings
(src/sniper_bot/config.py), the probes hit the ops server's real /health on METRICS_PORT, the grace
period outlasts preStop plus the bot's stop deadline, and every ``kubectl`` command of
docs/RUNBOOK.md names a deployment, namespace and label that the manifests define.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import aiohttp
import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from sniper_bot import config
from sniper_bot.app import STOP_DEADLINE_S
from sniper_bot.observability.health import ComponentHealth, HealthRegistry, Status
from sniper_bot.observability.metrics import Metrics
from sniper_bot.observability.server import OpsServer, create_ops_app

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
VERSIONS = ("1.32.0", "1.37.0")
NAMESPACE = "sniper-bot"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _all() -> list[dict[str, Any]]:
    return [d for p in MANIFESTS for d in _docs(p)]


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in _all() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _bot() -> dict[str, Any]:
    return _one("Deployment", "sniper-bot")


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def _secret_settings() -> set[str]:
    names: set[str] = set()
    for name in config.__all__:
        section = getattr(config, name)
        if isinstance(section, type) and hasattr(section, "model_fields"):
            for field in section.model_fields.values():
                if isinstance(field.validation_alias, str) and field.annotation is SecretStr:
                    names.add(field.validation_alias)
    return names


def test_there_are_manifests_for_every_kind_the_runbook_needs() -> None:
    kinds = {d["kind"] for d in _all()}
    assert {"Namespace", "ConfigMap", "Secret", "Deployment", "Service"} <= kinds
    assert {"PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Job"} <= kinds


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    docs = _docs(path)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize(
    "breakage",
    ["typo in a field", "probe port as a list", "missing selector"],
)
def test_the_validator_rejects_a_broken_deployment(breakage: str) -> None:
    doc = copy.deepcopy(_bot())
    if breakage == "typo in a field":
        doc["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 30
    elif breakage == "probe port as a list":
        _container(doc)["readinessProbe"]["httpGet"]["port"] = [3000]
    else:
        del doc["spec"]["selector"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)


def test_everything_lives_in_the_runbook_namespace() -> None:
    for doc in _all():
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]
    assert _one("Namespace", NAMESPACE)


def test_configmap_and_secret_hold_exactly_the_bots_settings() -> None:
    settings = set(config.all_variables())
    secret_names = _secret_settings()
    assert {"DATABASE_URL", "BOT_TOKEN", "SESSION_MASTER_SECRET", "HELIUS_RPC_URL"} <= secret_names
    cm = set(_one("ConfigMap", "sniper-bot-config")["data"])
    secret = set(_one("Secret", "sniper-bot-secrets")["stringData"])
    env = {e["name"] for e in _container(_bot()).get("env", [])}
    assert cm <= settings - secret_names, sorted(cm - (settings - secret_names))
    assert secret == secret_names
    assert not cm & env
    assert cm | secret | env == settings, sorted(settings - (cm | secret | env))


def test_the_secret_template_holds_no_real_secret() -> None:
    defaults = config.defaults()
    for doc in _docs(K8S / "secret.template.yaml"):
        assert doc["kind"] == "Secret"
        for key, value in doc["stringData"].items():
            harmless = value == "" or value == defaults.get(key)
            assert harmless or any(m in value.lower() for m in config.PLACEHOLDER_MARKERS), key
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert "secret.template.yaml" not in listed


def test_kustomization_lists_every_manifest_but_the_template() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS if p.name != "secret.template.yaml")


def test_probes_and_ports_match_metrics_port_and_the_ops_server() -> None:
    bot = _bot()
    container = _container(bot)
    port = int(_one("ConfigMap", "sniper-bot-config")["data"]["METRICS_PORT"])
    assert port == int(config.defaults()["METRICS_PORT"])
    (declared,) = [p for p in container["ports"] if p["name"] == "http-metrics"]
    assert declared["containerPort"] == port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/health", probe
        assert get["port"] in (port, declared["name"]), probe
    (svc_port,) = [p for p in _one("Service", "sniper-bot")["spec"]["ports"]
                   if p["name"] == "http-metrics"]  # fmt: skip
    assert svc_port["targetPort"] in (port, declared["name"])
    notes = bot["spec"]["template"]["metadata"]["annotations"]
    assert int(notes["prometheus.io/port"]) == port
    assert notes["prometheus.io/path"] == "/metrics"
    assert (
        _one("Service", "sniper-bot")["spec"]["selector"] == bot["spec"]["selector"]["matchLabels"]
    )


async def test_the_probe_and_scrape_paths_answer_on_the_real_ops_server() -> None:
    container = _container(_bot())
    metrics = Metrics()
    health = HealthRegistry(metrics)

    async def ok() -> ComponentHealth:
        return ComponentHealth(Status.OK, "fine")

    health.register("database", ok, required=True)
    server = OpsServer(create_ops_app(metrics, health), "127.0.0.1", 0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                path = container[probe]["httpGet"]["path"]
                async with http.get(f"{server.url}{path}", allow_redirects=False) as r:
                    assert r.status == 200, probe
            scrape = _bot()["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
            async with http.get(f"{server.url}{scrape}", allow_redirects=False) as r:
                assert r.status == 200
                assert "circuit_breaker_state" in await r.text()
    finally:
        await server.stop()


def test_graceful_stop_outlasts_prestop_and_the_stop_deadline() -> None:
    spec = _bot()["spec"]["template"]["spec"]
    container = _container(_bot())
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert spec["terminationGracePeriodSeconds"] > float(pre_stop[1]) + STOP_DEADLINE_S
    assert container["command"] == ["sniper-bot", "run"]


def test_resources_are_requested_and_memory_is_limited() -> None:
    for doc in _all():
        if doc["kind"] in ("Deployment", "Job"):
            for c in doc["spec"]["template"]["spec"]["containers"]:
                assert {"cpu", "memory"} <= set(c["resources"]["requests"]), c["name"]
                assert "memory" in c["resources"]["limits"], c["name"]


def test_every_pod_gets_its_own_worker_id() -> None:
    (worker,) = [e for e in _container(_bot())["env"] if e["name"] == "WORKER_ID"]
    assert worker["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_the_migration_job_runs_migrate_with_the_bots_configuration() -> None:
    job = _one("Job", "sniper-bot-migrate")
    container = _container(job)
    assert container["command"] == ["sniper-bot", "migrate"]
    assert container["envFrom"] == _container(_bot())["envFrom"]
    assert container["image"] == _container(_bot())["image"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")


def test_pdb_hpa_and_network_policy_target_the_bot() -> None:
    labels = _bot()["spec"]["template"]["metadata"]["labels"]
    assert _one("PodDisruptionBudget", "sniper-bot")["spec"]["selector"]["matchLabels"] == labels
    target = _one("HorizontalPodAutoscaler", "sniper-bot")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "sniper-bot")
    policy = _one("NetworkPolicy", "sniper-bot")["spec"]
    assert policy["podSelector"]["matchLabels"] == labels
    ingress = [p["port"] for rule in policy["ingress"] for p in rule["ports"]]
    assert ingress == [p["name"] for p in _container(_bot())["ports"]]
    egress_to = {
        (rule["to"][0]["podSelector"]["matchLabels"]["app"], rule["ports"][0]["port"])
        for rule in policy["egress"]
        if "to" in rule
    }
    assert egress_to == {("postgres", 5432), ("redis", 6379)}
    for app, port in egress_to:
        (declared,) = _container(_one("Deployment", app))["ports"]
        assert declared["containerPort"] == port


def test_every_kubectl_command_of_the_runbook_names_what_the_manifests_define() -> None:
    runbook = (ROOT / "docs" / "RUNBOOK.md").read_text()
    commands = re.findall(r"^\s*kubectl .+$", runbook, flags=re.MULTILINE)
    assert commands
    deployments = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]["template"]["metadata"][
            "labels"
        ]
        for d in _all()
        if d["kind"] == "Deployment"
    }
    namespaces = {ns for ns, _ in deployments}
    for command in commands:
        ns = re.search(r"-n (\S+)", command)
        assert ns, command
        assert ns.group(1) in namespaces, command
        for name in re.findall(r"deployment[/ ]([\w-]+)", command):
            assert (ns.group(1), name) in deployments, command
        for key, value in re.findall(r"-l (\w+)=([\w-]+)", command):
            assert any(labels.get(key) == value for labels in deployments.values()), command
        for var in re.findall(r"set env \S+ -n \S+ (\w+)=", command):
            assert var in config.all_variables(), command


def test_webhook_replicas_run_behind_the_ingress() -> None:
    """N replicas need webhook mode (two long pollers of one token both get updates): the
    ConfigMap sets the URL, the Ingress serves its path on the Service's webhook port, which is
    the container's TELEGRAM_WEBHOOK_PORT; every pod names itself (INSTANCE_ID)."""
    from urllib.parse import urlsplit

    bot, data = _bot(), _one("ConfigMap", "sniper-bot-config")["data"]
    assert bot["spec"]["replicas"] >= 2
    hpa = _one("HorizontalPodAutoscaler", "sniper-bot")["spec"]
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert bot["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    url = urlsplit(data["TELEGRAM_WEBHOOK_URL"])
    assert url.scheme == "https"
    (webhook,) = [p for p in _container(bot)["ports"] if p["name"] == "http-webhook"]
    assert webhook["containerPort"] == int(data["TELEGRAM_WEBHOOK_PORT"])
    (svc,) = [p for p in _one("Service", "sniper-bot")["spec"]["ports"]
              if p["name"] == "http-webhook"]  # fmt: skip
    assert svc["targetPort"] == "http-webhook"
    (rule,) = _one("Ingress", "sniper-bot")["spec"]["rules"]
    assert rule["host"] == url.hostname
    (path,) = rule["http"]["paths"]
    assert path["path"] == url.path
    assert path["backend"]["service"] == {"name": "sniper-bot", "port": {"name": "http-webhook"}}
    (instance,) = [e for e in _container(bot)["env"] if e["name"] == "INSTANCE_ID"]
    assert instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
