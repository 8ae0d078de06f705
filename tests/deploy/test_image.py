"""Smoke test of the portal's image (deploy/Containerfile), run inside it with buildah.

`make image-test` (and .ci/run) builds the image and runs this file with NESK_IMAGE set; a plain
`pytest` skips it: an image built earlier may hold older code than the tree under test.
Commands run with `buildah run --isolation chroot` (podman run is refused here by rlimits),
as the image's own user, without a broker or a database server: what must work before either.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Iterator

import pytest

IMAGE = os.environ.get("NESK_IMAGE", "")
pytestmark = pytest.mark.image


def _buildah(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["buildah", *args], capture_output=True, text=True)


def _image_present() -> bool:
    return bool(IMAGE) and shutil.which("buildah") is not None and \
        _buildah("inspect", "--type", "image", IMAGE).returncode == 0


@pytest.fixture(scope="module")
def container() -> Iterator[str]:
    if not _image_present():
        pytest.skip("the image test runs under make image-test (NESK_IMAGE set, image just built)")
    made = _buildah("from", "--pull=never", IMAGE)
    assert made.returncode == 0, made.stderr
    name = made.stdout.strip()
    yield name
    _buildah("rm", name)


def run_in(container: str, script: str, **env: str) -> str:
    """Run a Python script in the image as its own user; its stdout, or the failure shown."""
    env_args = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    done = _buildah("run", "--isolation", "chroot", *env_args, container,
                    "--", "python", "-c", script)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def test_runs_as_a_non_root_user_without_compilers(container: str) -> None:
    found = json.loads(run_in(container, (
        "import json, os, shutil;"
        "print(json.dumps({'uid': os.getuid(), 'tools': [t for t in ('gcc', 'cc', 'make', 'pip')"
        " if shutil.which(t)]}))")))
    assert found["uid"] != 0
    assert found["tools"] == []


def test_every_process_module_imports(container: str) -> None:
    out = run_in(container, (
        "import importlib; from shared.migrate import SERVICE_MODULES\n"
        "for module in [*SERVICE_MODULES.values(), 'gateway.wsgi', 'web.wsgi']:\n"
        "    importlib.import_module(module)\n"
        "    print(module)"), VAR_DIR="/tmp/var")
    assert "services.readings.service" in out and "gateway.wsgi" in out and "web.wsgi" in out


def test_the_migrations_apply_to_sqlite(container: str) -> None:
    out = run_in(container, "from shared.migrate import main; main()", VAR_DIR="/tmp/var")
    for service in ("auth", "accounts", "readings", "payments", "documents", "requests"):
        assert f"{service}: migrated" in out


def test_the_gateway_answers_healthz(container: str) -> None:
    out = run_in(container, (
        "from gateway.wsgi import app\n"
        "answer = app.test_client().get('/healthz')\n"
        "print(answer.status_code, answer.get_json())"), VAR_DIR="/tmp/var")
    assert out.strip() == "200 {'status': 'ok'}"


def test_the_ocr_models_are_in_the_image(container: str) -> None:
    # The engine opens its ONNX sessions from the rapidocr wheel: nothing to download at run time.
    out = run_in(container, (
        "import numpy as np\n"
        "from services.readings.ocr.engine import RapidOcrEngine\n"
        "print(RapidOcrEngine().read(np.full((64, 256, 3), 255, np.uint8)))"))
    assert out.strip() == "[]"
