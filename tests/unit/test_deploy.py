"""The Kubernetes manifests run what `make run` runs, and ops can trust what they say: every
process of the Procfile has a Deployment with the same command; a service process is probed
on its own health port; the gateway's readiness is its own; no Secret value is committed;
the migrations run once per release; the registry import is not part of an apply."""
from __future__ import annotations

import pytest
import yaml

from tests.deploy.render import K8S, ROOT, kubectl, of_kind, render

pytestmark = pytest.mark.skipif(kubectl() is None, reason="kubectl renders the overlays")


def _procfile() -> dict[str, str]:
    return {name: command.split()[-1] for name, _, command in
            (line.partition(":") for line in (ROOT / "Procfile").read_text().splitlines())}


def test_every_process_of_the_procfile_is_deployed_with_its_command():
    deployments = of_kind(render("prod"), "Deployment")
    for name, target in _procfile().items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][-1] == target, name
        assert container["image"].startswith("registry.example.ru/nesk/nesk-portal:"), name


def test_a_service_is_probed_on_its_own_health_port_and_the_gateway_on_itself():
    deployments = of_kind(render("prod"), "Deployment")
    config = of_kind(render("prod"), "ConfigMap")["nesk-config"]["data"]
    for name in _procfile():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        probes = {kind: container[kind]["httpGet"]["path"]
                  for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
        assert all("exec" not in container[k] for k in probes), name  # no process per probe
        if name in ("gateway", "web"):
            assert probes["readinessProbe"] == "/healthz", name  # never one service's outage
            continue
        assert probes == {"startupProbe": "/livez", "livenessProbe": "/livez",
                          "readinessProbe": "/readyz"}, name
        assert container["ports"] == [{"name": "metrics", "containerPort":
                                       int(config["METRICS_PORT"])}], name
    ocr = deployments["ocr-worker"]["spec"]["template"]["spec"]["containers"][0]
    startup = ocr["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300  # the OCR models load


def test_no_secret_value_is_committed_and_urls_come_from_the_operators_secrets():
    for path in (K8S / "base").rglob("*.yaml"):
        kinds = {d["kind"] for d in yaml.safe_load_all(path.read_text()) if d and "kind" in d}
        assert "Secret" not in kinds, path
    secrets = set(of_kind(render("prod"), "Secret"))
    auth = of_kind(render("prod"), "Deployment")["auth"]["spec"]["template"]["spec"]
    env = {e["name"]: e for e in auth["containers"][0]["env"]}
    assert env["RABBITMQ_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == \
        "nesk-rabbitmq-default-user"  # made by the RabbitMQ Cluster Operator
    assert "$(RABBITMQ_PASSWORD)@nesk-rabbitmq" in env["AMQP_URI"]["value"]
    assert env["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "nesk-pg-auth"
    assert "nesk-pg-auth" in secrets  # the role's password CloudNativePG sets
    assert "$(DATABASE_PASSWORD)@nesk-pg-rw:5432/auth" in env["AUTH_DATABASE_URL"]["value"]


def test_the_migrations_job_is_named_after_the_release_and_the_import_is_not_applied():
    docs = render("prod")
    jobs = of_kind(docs, "Job")
    tag = of_kind(docs, "Deployment")["gateway"]["spec"]["template"]["spec"][
        "containers"][0]["image"].rsplit(":", 1)[1]
    assert list(jobs) == ["migrate-" + tag.replace(".", "-")]
    assert "registry-import" not in {d["metadata"]["name"] for d in docs}


def test_prod_has_three_brokers_three_databases_backups_s3_and_autoscaling():
    docs = render("prod")
    assert of_kind(docs, "RabbitmqCluster")["nesk-rabbitmq"]["spec"]["replicas"] == 3
    assert "default_queue_type = quorum" in of_kind(docs, "RabbitmqCluster")["nesk-rabbitmq"][
        "spec"]["rabbitmq"]["additionalConfig"]
    cluster = of_kind(docs, "Cluster")["nesk-pg"]["spec"]
    assert cluster["instances"] == 3 and cluster["backup"]["barmanObjectStore"]
    roles = {r["name"] for r in cluster["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"]["owner"] for d in of_kind(docs, "Database").values()}
    services = set(_procfile()) - {"gateway", "web", "ocr-worker"}  # OCR: readings' database
    assert roles == services and databases == {s: s for s in services}
    assert of_kind(docs, "ConfigMap")["nesk-config"]["data"]["FILE_STORAGE"] == "s3"
    assert set(of_kind(docs, "HorizontalPodAutoscaler")) == {"gateway", "web", "readings",
                                                                "ocr-worker"}
    assert set(of_kind(docs, "PodDisruptionBudget")) == set(of_kind(docs, "Deployment"))
    ingress = of_kind(docs, "Ingress")["nesk-portal"]
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    paths = {p["path"]: p["backend"]["service"]["name"]
             for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {"/": "web", "/api": "gateway"}
    assert set(of_kind(docs, "ServiceMonitor")) == {"nesk-services", "nesk-http"}


def test_the_dashboard_reads_only_metrics_the_code_exports():
    import json
    import re

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_(total|bucket)$", "", name)
            for e in exprs for name in re.findall(r"\bnesk_[a-z_]+", e)}
    exported = set(re.findall(r'"(nesk_[a-z_]+)"', (ROOT / "shared" / "metrics.py").read_text()))
    assert used and used <= exported, used - exported
    assert len({p["gridPos"]["y"] * 100 + p["gridPos"]["x"] for p in dashboard["panels"]}) == \
        len(dashboard["panels"])  # no panel hides another
