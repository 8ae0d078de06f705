"""Injected time. Rules take ``now`` from a Clock, never from ``datetime.now()``, so code
expiry, lockouts and (later) due dates and penalties are testable on any date."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from nameko.extensions import DependencyProvider


class Clock:
    """Wall-clock UTC time, shifted by ``offset`` (tests move it forward; production never)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.frozen: datetime | None = None  # tests of "within N seconds" rules stop time

    def now(self) -> datetime:
        return (self.frozen or datetime.now(timezone.utc)) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

    def freeze(self) -> None:
        self.frozen = datetime.now(timezone.utc)

    def unfreeze(self) -> None:
        self.frozen = None


# The process's clock: services, the gateway and token checks in one process share it, so a
# test that moves it moves all of them alike.
clock = Clock()


class ClockProvider(DependencyProvider):
    """Gives each worker the process's Clock."""

    def get_dependency(self, worker_ctx: Any) -> Clock:
        return clock
