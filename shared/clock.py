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

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class ClockProvider(DependencyProvider):
    """Gives each worker the container's Clock."""

    def setup(self) -> None:
        self.clock = Clock()

    def get_dependency(self, worker_ctx: Any) -> Clock:
        return self.clock
