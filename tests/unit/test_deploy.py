"""The Kubernetes manifests run what `make run` runs: every process of the Procfile has a
Deployment with the same command, probes, and a place in the kustomization."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


def _deployments() -> dict[str, dict]:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    found = {}
    for name in listed:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc and doc["kind"] == "Deployment":
                found[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]["containers"][0]
    return found


def test_every_service_of_the_procfile_is_deployed_with_probes():
    deployments = _deployments()
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name in ("gateway", "web"):  # gunicorn apps: the same command, HTTP probes
            assert deployments[name]["command"][-1] == command.split()[-1], name
            assert "readinessProbe" in deployments[name], name
            continue
        container = deployments[name]
        target = command.split()[-1]  # services.x.service:XService
        assert container["command"][-1] == target, name
        assert "readinessProbe" in container and "livenessProbe" in container, name
