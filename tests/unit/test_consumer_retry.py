"""The retry decision and back-off of @reliable_event_handler (shared/consumers.py)."""
from __future__ import annotations

import random

import kombu.exceptions
import pytest
from nameko.exceptions import RpcTimeout, UnknownService
from sqlalchemy.exc import (DBAPIError, DisconnectionError, IntegrityError, InterfaceError,
                            OperationalError, ProgrammingError)

from shared.consumers import is_transient, retry_decision, retry_delay
from shared.errors import ServiceUnavailable, ValidationFailed


def _db(cls: type, invalidated: bool = False) -> Exception:
    return cls("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
               connection_invalidated=invalidated)


@pytest.mark.parametrize("exc", [
    _db(OperationalError), _db(InterfaceError), DisconnectionError("gone"),
    kombu.exceptions.OperationalError("broker down"), ConnectionResetError(),
    TimeoutError("SQLite database busy"), RpcTimeout(3), UnknownService("accounts"),
    ServiceUnavailable("accounts down"), _db(ProgrammingError, invalidated=True),
], ids=lambda e: type(e).__name__)
def test_transient_failures_are_retried(exc):
    assert is_transient(exc)
    assert retry_decision(exc, retries_done=0, max_retries=5) == "retry"


@pytest.mark.parametrize("exc", [
    ValueError("bad payload"), KeyError("id"), _db(IntegrityError), _db(ProgrammingError),
    ValidationFailed("refused"),
], ids=lambda e: type(e).__name__)
def test_other_failures_go_straight_to_the_dead_letter_queue(exc):
    assert not is_transient(exc)
    assert retry_decision(exc, retries_done=0, max_retries=5) == "dead"


def test_retries_are_bounded():
    exc = _db(OperationalError)
    assert [retry_decision(exc, n, max_retries=3) for n in range(5)] == [
        "retry", "retry", "retry", "dead", "dead"]
    assert retry_decision(exc, 0, max_retries=0) == "dead"


def test_back_off_doubles_up_to_the_cap_with_jitter_below_it():
    rng = random.Random(7)
    for attempt, full in ((1, 1), (2, 2), (3, 4), (4, 8), (7, 60), (30, 60)):
        for _ in range(20):
            delay = retry_delay(attempt, base=1, cap=60, rng=rng)
            assert full / 2 <= delay <= full
    spread = {round(retry_delay(3, 1, 60, rng), 3) for _ in range(20)}
    assert len(spread) > 10  # one outage's messages do not all come back at once
