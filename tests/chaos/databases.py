"""PostgreSQL databases of the chaos run (one per service, on the machine's server under
names of this run, dropped at the end) and the database fault: every backend connected to
them terminated, again and again."""
from __future__ import annotations

import os
import time
import uuid

import psycopg2

from tests.e2e.stack import SERVICES

# The server the test suite uses (tests/conftest.py reads the same variables; importing it
# here would monkey-patch this process with eventlet).
PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN",
                              "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL_BASE = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432")


class PrivateDatabases:
    def __init__(self) -> None:
        run = uuid.uuid4().hex[:8]
        self.names = {service: f"nesk_chaos_{run}_{service}" for service in SERVICES}
        self.admin = psycopg2.connect(PG_ADMIN_DSN)
        self.admin.autocommit = True

    def create(self) -> dict[str, str]:
        """``{"<SERVICE>_DATABASE_URL": url}`` for the stack's environment."""
        with self.admin.cursor() as cursor:
            for name in self.names.values():
                cursor.execute(f'CREATE DATABASE "{name}"')
        return {f"{service.upper()}_DATABASE_URL": f"{PG_URL_BASE}/{name}"
                for service, name in self.names.items()}

    def terminate_backends(self) -> int:
        """Terminate every connection to the run's databases; how many there were."""
        with self.admin.cursor() as cursor:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                           (list(self.names.values()),))
            return cursor.fetchone()[0]

    def terminate_for(self, seconds: float, every: float = 0.5) -> int:
        """The fault: :meth:`terminate_backends` every ``every`` seconds for ``seconds``;
        the number of connections terminated in all."""
        ended, killed = time.monotonic() + seconds, 0
        while time.monotonic() < ended:
            killed += self.terminate_backends()
            time.sleep(every)
        return killed

    def drop(self) -> None:
        with self.admin.cursor() as cursor:
            for name in self.names.values():
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()

