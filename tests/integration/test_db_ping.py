"""shared.db's PostgreSQL pool pings a connection at checkout only after it rested: a dead
rested one is replaced silently; a terminated busy one fails its first statement as a
disconnect (a 503 upstream) and the pool recycles it, so the next checkout works."""
from __future__ import annotations

from typing import Iterator

import psycopg2
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from shared.db import _ping_idle_connections
from shared.deadlines import database_lost
from tests.conftest import PG_ADMIN_DSN, PG_URL_BASE


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = create_engine(f"{PG_URL_BASE}/postgres", pool_size=1, max_overflow=0)
    _ping_idle_connections(engine, idle=request.param)
    yield engine
    engine.dispose()


def backend_of(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def terminate(pid: int) -> None:
    admin = psycopg2.connect(PG_ADMIN_DSN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    admin.close()


@pytest.mark.parametrize("engine", [0.0], indirect=True)
def test_a_rested_dead_connection_is_replaced_at_checkout(engine):
    dead = backend_of(engine)
    terminate(dead)
    assert backend_of(engine) != dead  # pinged, found dead, replaced: no error


@pytest.mark.parametrize("engine", [3600.0], indirect=True)
def test_a_busy_dead_connection_fails_once_as_a_disconnect(engine):
    dead = backend_of(engine)
    terminate(dead)
    with pytest.raises(DBAPIError) as lost:
        backend_of(engine)
    assert database_lost(lost.value)
    assert backend_of(engine) != dead
