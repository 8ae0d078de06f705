"""The Kubernetes overlays as an ops engineer applies them: rendered by `kubectl kustomize`,
valid against the Kubernetes schemas (kubernetes-validate, strict: an unknown field fails)
and the operators' CRD schemas vendored in deploy/crds (unknown fields fail there too), and
clean under the checkov policy scan but for the exceptions listed with a reason in
deploy/k8s/checkov-exceptions.yaml."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.render import CRDS, K8S, OVERLAYS, ROOT, kubectl, render

pytestmark = pytest.mark.skipif(kubectl() is None, reason="kubectl renders the overlays")

KUBERNETES = "1.31.0"  # the oldest Kubernetes the manifests are written for (README)


def _closed(schema: Any) -> Any:
    """The schema with unknown fields refused wherever it lists the fields (the API server
    would drop them silently: a typo would go unnoticed)."""
    if isinstance(schema, dict):
        schema = {k: _closed(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_closed(v) for v in schema]
    return schema


def _crd_schemas() -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd:
                continue
            for version in crd["spec"]["versions"]:
                schema = _closed(version["schema"]["openAPIV3Schema"])
                schema["properties"]["metadata"] = {"type": "object"}
                found[(f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])] = schema
    return found


CRD_SCHEMAS = _crd_schemas()


def validation_errors(doc: dict) -> list[str]:
    """Why the object would be refused (empty when it is valid)."""
    key = (doc["apiVersion"], doc["kind"])
    if key in CRD_SCHEMAS:
        validator = jsonschema.Draft7Validator(CRD_SCHEMAS[key])
        return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(doc)]
    try:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path))}: {exc.message}"]
    return []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_of_the_overlay_is_valid(overlay: str) -> None:
    docs = render(overlay)
    assert docs
    errors = {f"{d['kind']}/{d['metadata']['name']}": validation_errors(d) for d in docs}
    assert {name: e for name, e in errors.items() if e} == {}


def test_the_operators_resources_are_checked_against_their_own_schemas() -> None:
    docs = render("prod")
    kinds = {(d["apiVersion"], d["kind"]) for d in docs}
    assert {("rabbitmq.com/v1beta1", "RabbitmqCluster"), ("postgresql.cnpg.io/v1", "Cluster"),
            ("postgresql.cnpg.io/v1", "Database"), ("postgresql.cnpg.io/v1", "ScheduledBackup"),
            ("monitoring.coreos.com/v1", "ServiceMonitor")} <= kinds & set(CRD_SCHEMAS)
    # A typo in an operator's resource is caught, as a misplaced field in a built-in one.
    cluster = copy.deepcopy(next(d for d in docs if d["kind"] == "Cluster"))
    cluster["spec"]["instanes"] = cluster["spec"].pop("instances")
    assert any("instanes" in e for e in validation_errors(cluster))
    rabbit = copy.deepcopy(next(d for d in docs if d["kind"] == "RabbitmqCluster"))
    rabbit["spec"]["replicas"] = "three"
    assert validation_errors(rabbit)
    deployment = copy.deepcopy(next(d for d in docs if d["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    assert validation_errors(deployment)


def _checkov() -> str | None:
    return (os.environ.get("CHECKOV") or shutil.which("checkov")
            or next((str(p) for p in [ROOT / ".venv-checkov" / "bin" / "checkov"] if p.exists()),
                    None))


@pytest.mark.skipif(_checkov() is None, reason="checkov (make deploy-tools) scans the manifests")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_policy_scan_fails_nothing_but_the_listed_exceptions(overlay: str,
                                                                  tmp_path: Path) -> None:
    listed = yaml.safe_load((K8S / "checkov-exceptions.yaml").read_text())
    (tmp_path / f"{overlay}.yaml").write_text(yaml.safe_dump_all(render(overlay)))
    run = subprocess.run([_checkov() or "checkov", "-d", str(tmp_path), "--framework",
                          "kubernetes", "--quiet", "--compact", "-o", "json"],
                         capture_output=True, text=True, timeout=600)
    report = json.loads(run.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100  # it did scan the objects
    unlisted = sorted({f"{f['check_id']} {f['check_name']}: {f['resource']}"
                       for f in report["results"]["failed_checks"]
                       if f["check_id"] not in listed})
    assert unlisted == []


def _containers(docs: tuple[dict, ...]) -> Iterator[tuple[str, dict, dict]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            pod = doc["spec"]["template"]["spec"]
            for container in pod.get("initContainers", []) + pod["containers"]:
                yield doc["metadata"]["name"], pod, container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_meets_the_restricted_level_and_has_resources(overlay: str) -> None:
    docs = render(overlay)
    namespace = next(d for d in docs if d["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {
        "nesk-portal"}
    for name, pod, container in _containers(docs):
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"]["drop"] == ["ALL"], name
        assert context["seccompProfile"]["type"] == "RuntimeDefault", name
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], name
        assert container["resources"]["requests"]["cpu"], name
        assert container["resources"]["limits"]["memory"], name
