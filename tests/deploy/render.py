"""The Kubernetes overlays as `kubectl kustomize` renders them, with the example secret files
(deploy/k8s/secrets.example) standing in for the operator's real ones."""
from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CRDS = ROOT / "deploy" / "crds"
OVERLAYS = ("dev", "prod")


def kubectl() -> str | None:
    return shutil.which("kubectl")


@functools.cache
def render(overlay: str) -> tuple[dict, ...]:
    """Every object the overlay makes, in order."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "k8s"
        shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets"))
        shutil.copytree(copy / "secrets.example", copy / "overlays" / overlay / "secrets")
        out = subprocess.run([kubectl() or "kubectl", "kustomize", str(copy / "overlays" / overlay)],
                             capture_output=True, text=True, timeout=120, check=True).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def of_kind(docs: tuple[dict, ...], *kinds: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in kinds}
