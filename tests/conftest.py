"""Test set-up: eventlet first, a RabbitMQ vhost per run, databases made and dropped.

Integration tests run the real services (nameko ServiceRunner in this process) on a vhost
of their own, so neither another test run nor a `make run` on the same broker sees their
messages; each database backend (SQLite file, PostgreSQL database) is made for the test
module and dropped after it.
"""
import os

import shared  # noqa: F401  (quiets eventlet's banner)

# The browser tests (tests/e2e) run in a pytest process of their own, without eventlet:
# Playwright's driver hangs in a monkey-patched process, and they run every service as a
# subprocess anyway. `make test` runs the two suites one after the other.
E2E = os.environ.get("NESK_E2E") == "1"
if not E2E:
    import eventlet

    eventlet.monkey_patch()  # before anything imports sockets (plain pytest hangs otherwise)
    collect_ignore = ["e2e"]
else:
    collect_ignore = ["unit", "integration"]

import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Iterator  # noqa: E402
from urllib.parse import quote  # noqa: E402

import psycopg2  # noqa: E402
import pytest  # noqa: E402
import requests  # noqa: E402

from shared import settings  # noqa: E402

pytest_plugins = ["tests.fakes.fixtures"]

RUN_ID = uuid.uuid4().hex[:10]
MANAGEMENT = os.environ.get("RABBIT_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672/")
AMQP_BASE = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/").rsplit("/", 1)[0]
PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL_BASE = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432")
CAPTCHA = "TEST7"


@contextmanager
def private_vhost(vhost: str) -> Iterator[str]:
    """A vhost on the real broker (made through the management API), deleted at the end."""
    api = MANAGEMENT.rstrip("/") + "/api"
    session = requests.Session()
    response = session.put(f"{api}/vhosts/{quote(vhost, safe='')}", timeout=10)
    response.raise_for_status()
    session.put(f"{api}/permissions/{quote(vhost, safe='')}/guest",
                json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()
    try:
        yield f"{AMQP_BASE}/{quote(vhost, safe='')}"
    finally:
        session.delete(f"{api}/vhosts/{quote(vhost, safe='')}", timeout=10)


@pytest.fixture(scope="session")
def amqp_uri() -> Iterator[str]:
    """A vhost of this test run on the real broker, deleted at the end."""
    with private_vhost(f"nesk-test-{RUN_ID}") as uri:
        yield uri


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Callable[[str], str]]:
    """Makes a fresh database of the module's backend per service (each service owns its
    own, as in production); all are dropped after the module."""
    folder = tmp_path_factory.mktemp("db")
    made: list[str] = []

    def make(service: str) -> str:
        if request.param == "sqlite":
            return f"sqlite:///{folder / (service + '.db')}"
        name = f"nesk_test_{RUN_ID}_{service}_{uuid.uuid4().hex[:6]}"
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{PG_URL_BASE}/{name}"

    admin = psycopg2.connect(PG_ADMIN_DSN) if request.param == "postgresql" else None
    if admin is not None:
        admin.autocommit = True
    try:
        yield make
    finally:
        if admin is not None:
            with admin.cursor() as cursor:
                for name in made:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


@pytest.fixture(scope="module")
def database_url(new_database: Callable[[str], str]) -> str:
    """One fresh database (for tests of a single service or of the platform)."""
    return new_database("service")


def make_config(tmp: Path, amqp_uri: str, **overrides: Any) -> dict[str, Any]:
    """The settings a test system runs with: test mode, fast timers, known captcha."""
    env = {"NESK_ENV": "test", "VAR_DIR": str(tmp), "AMQP_URI": amqp_uri,
           "CAPTCHA_TEST_ANSWER": CAPTCHA, "RPC_TIMEOUT": "10", "READY_TIMEOUT": "1",
           "GATEWAY_THREADS": "8", "LOG_LEVEL": "WARNING",
           # The OCR model (seconds of CPU) loads at start only where a module reads photos.
           "OCR_PRELOAD": "false"}
    return settings.load(env, **overrides)
