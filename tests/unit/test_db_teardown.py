"""A database error at a worker's end fails that worker only (shared/db.py)."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import OperationalError

from shared.db import Database, release_session


class DeadSession:
    """A session whose connection PostgreSQL terminated: close() fails in its rollback."""

    def __init__(self, invalidate_fails: bool = False) -> None:
        self.invalidated = False
        self.invalidate_fails = invalidate_fails

    def close(self) -> None:
        raise OperationalError("ROLLBACK", {}, Exception("terminating connection due to "
                                                         "administrator command"))

    def invalidate(self) -> None:
        if self.invalidate_fails:
            raise OperationalError("", {}, Exception("still dead"))
        self.invalidated = True


def test_a_failing_close_is_logged_and_the_connection_invalidated(caplog):
    session: Any = DeadSession()
    with caplog.at_level(logging.WARNING, logger="shared.db"):
        release_session(session, "accounts")
    assert session.invalidated
    assert "closing a database session failed" in caplog.text


def test_worker_teardown_never_raises():
    provider = Database("accounts")
    for session in (DeadSession(), DeadSession(invalidate_fails=True)):
        provider.sessions["worker"] = session
        provider.worker_teardown("worker")  # nameko kills the container if this raises
        assert "worker" not in provider.sessions


def test_stop_and_kill_never_raise():
    provider = Database("accounts")

    class Engine:
        def dispose(self) -> None:
            raise OperationalError("", {}, Exception("connection already closed"))

    provider.engine = Engine()  # type: ignore[assignment]
    provider.stop()
    provider.kill()
