"""deploy/compose.yaml against the Procfile: the container stack runs every process `make run`
runs, with the same command and settings, on its own database. Compose itself cannot run here
(no image registry), so the file is read as compose reads it (YAML with merge keys)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from shared.migrate import SERVICE_MODULES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
INIT_SCRIPT = (ROOT / "deploy" / "compose" / "postgres-init.sh").read_text(encoding="utf-8")


def procfile() -> dict[str, tuple[dict[str, str], list[str]]]:
    """Each process of the Procfile: its `env` settings and its command without the venv path."""
    processes = {}
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        words = shlex.split(command)
        env: dict[str, str] = {}
        if words[0] == "env":
            words.pop(0)
            while "=" in words[0]:
                key, value = words.pop(0).split("=", 1)
                env[key] = value
        words[0] = words[0].removeprefix(".venv/bin/")
        processes[name.strip()] = (env, words)
    return processes


PROCESSES = procfile()


def test_the_procfile_has_every_process() -> None:
    assert set(SERVICE_MODULES) | {"gateway", "web"} <= set(PROCESSES)


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_every_process_runs_with_its_procfile_command_and_settings(name: str) -> None:
    env, command = PROCESSES[name]
    assert name in SERVICES, f"{name} of the Procfile is not in deploy/compose.yaml"
    service = SERVICES[name]
    assert service["command"] == command
    assert set(env) <= set(service["environment"]), "a setting of the Procfile is missing"
    assert service["image"] == SERVICES["migrate"]["image"]  # the one image of the portal
    assert service["build"]["dockerfile"] == "deploy/Containerfile"
    assert (ROOT / "deploy" / service["build"]["context"] / "deploy/Containerfile").is_file()


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_every_service_has_its_own_database_made_by_the_init_script(service: str) -> None:
    url = urlsplit(SERVICES[service]["environment"][f"{service.upper()}_DATABASE_URL"])
    assert url.scheme == "postgresql+psycopg2"
    assert (url.hostname, url.username, url.path) == ("postgres", service, f"/{service}")
    assert service in re.search(r"for service in ([\w ]+);", INIT_SCRIPT).group(1).split()
    assert SERVICES[service]["environment"]["AMQP_URI"].startswith("amqp://")
    assert urlsplit(SERVICES[service]["environment"]["AMQP_URI"]).hostname == "rabbitmq"
    assert SERVICES[service]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"}


def test_the_infrastructure_is_there_and_wired() -> None:
    assert "management" in SERVICES["rabbitmq"]["image"]
    init = SERVICES["postgres"]["volumes"][0].split(":")
    assert init[1].startswith("/docker-entrypoint-initdb.d/")
    assert (ROOT / "deploy" / init[0]).resolve() == ROOT / "deploy/compose/postgres-init.sh"
    environment = SERVICES["auth"]["environment"]
    assert (environment["EMAIL_BACKEND"], environment["SMTP_HOST"]) == ("smtp", "mailpit")
    gateway = urlsplit(SERVICES["web"]["environment"]["GATEWAY_URL"])
    assert gateway.hostname == "gateway"
    assert SERVICES["gateway"]["environment"]["GATEWAY_BIND"].endswith(f":{gateway.port}")
    assert SERVICES["migrate"]["command"] == ["python", "-m", "shared.migrate"]


def test_every_dependency_and_image_is_named() -> None:
    for name, service in SERVICES.items():
        assert set(service.get("depends_on", {})) <= set(SERVICES), name
        image = service["image"]
        # Pinned: a version tag (not latest), or the portal's own image.
        assert "build" in service or re.search(r":v?\d+\.\d+", image), (name, image)
