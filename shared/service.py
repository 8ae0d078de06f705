"""What every nameko service has: a ping for readiness, the outbox relay, metrics.

A service class inherits :class:`ServiceBase` and declares its dependencies::

    class AuthService(ServiceBase):
        name = "auth"
        db = Database("auth", MIGRATIONS)
        outbox = OutboxProvider(Outbox)
        clock = ClockProvider()
        request = RequestContext()
        payments = RpcProxy("payments")   # shared.deadlines.RpcProxy: calls with a timeout

Every ``@rpc`` here is :class:`shared.deadlines.Rpc` (a request past its deadline is dropped)
and every service has a :class:`~shared.deadlines.DeadlineGuard` (no commit after it).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable, TypeVar

import eventlet
from nameko.events import BROADCAST, event_handler
from nameko.exceptions import RemoteError, UnknownService
from nameko.extensions import DependencyProvider
from sqlalchemy import text

from shared.clock import clock
from shared.consumers import handle_once
from shared.context import Request, RequestContext
from shared.deadlines import DeadlineGuard, Rpc
from shared.errors import DomainError
from shared.events import parse_envelope
from shared.metrics import ServiceMetrics
from shared.db import Database, release_session
from shared.outbox import Doorbell, OutboxRelay, on_commit, record_event
from shared.work import Work

# A DomainError is an answer, not a failure: nameko logs it as a warning, without traceback.
# Rpc drops a request whose deadline passed before it started (shared.deadlines).
rpc = Rpc.decorator(expected_exceptions=(DomainError,))
log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a service waits for another's answer that it can do without (an estimate, a
# balance in the header) before it answers without it.
OPTIONAL_CALL_TIMEOUT = float(os.environ.get("OPTIONAL_CALL_TIMEOUT", "3"))


def optional_call(method: Any, timeout: float = OPTIONAL_CALL_TIMEOUT,
                  refused: Callable[[DomainError], Any] | None = None, **kwargs: Any) -> Any:
    """Call another service's RPC ``method`` (``self.payments.estimate``) for something the
    caller can do without: None when that service is absent, fails or is slow (waiting at
    most ``timeout``, and never past the worker's deadline: see shared.deadlines).
    ``refused(error)``, if given, is the answer when the service refuses with a DomainError
    (its message may tell the customer why there is nothing)."""
    try:
        with eventlet.Timeout(timeout):
            return method.call_async(**kwargs).result()
    except DomainError as exc:
        return refused(exc) if refused is not None else None
    except (UnknownService, RemoteError, eventlet.Timeout):  # DeadlineExceeded too
        return None


class OutboxProvider(DependencyProvider):
    """The service's outbox model and its relay: a greenthread of the container that sends
    the committed events as soon as a commit rings it (shared.outbox.on_commit), and every
    ``OUTBOX_RELAY_INTERVAL`` seconds otherwise (rows left by a crash, another replica's rows
    on a busy lock, a broker that was down)."""

    BUSY_RETRY = 0.02  # seconds before trying again when another replica's relay is sending

    def __init__(self, model: type) -> None:
        self.model = model

    def setup(self) -> None:
        config = self.container.config
        self.relay = OutboxRelay(config["AMQP_URI"], self.container.service_name, config)
        self.interval = float(config.get("OUTBOX_RELAY_INTERVAL") or 5)
        self.bell = Doorbell()

    def start(self) -> None:
        self.database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self.stop_ringing = on_commit(self.model, self.bell.ring)
        self.thread = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self) -> None:
        self.stop_ringing()
        self.thread.kill()
        self.relay.publisher.close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> "OutboxProvider":
        return self

    def _run(self) -> None:
        while True:
            self.drain()
            self.bell.wait(self.interval)

    def drain(self) -> None:
        """Relay until nothing is left (or the broker fails); never raises: a failure is
        logged and the rows wait for the next ring or poll."""
        session = self.database.Session()
        try:
            while True:
                done = self.relay.relay_pass(session, self.model, clock.now())
                if done.busy:
                    eventlet.sleep(self.BUSY_RETRY)
                elif not done.full:
                    return
        except Exception:
            log.warning("outbox relay pass failed; the rows wait for the next one",
                        exc_info=True, extra={"service": self.container.service_name})
        finally:
            release_session(session, self.container.service_name)


class ServiceBase:
    name: str
    deadline = DeadlineGuard()  # seconds left of the caller's deadline; no commit after it
    metrics = ServiceMetrics()  # workers counted and timed; /metrics on METRICS_PORT
    config: Any
    db: Any
    outbox: Any
    clock: Any
    # Services declare it too; it holds the container's revocation list (shared.context).
    request: Request = RequestContext()

    processed_events: type  # the service's ProcessedEvent model (shared.consumers)

    def handle_event(self, body: dict[str, Any], apply: Callable[[dict[str, Any]], T]
                     ) -> T | None:
        """Apply an event once per id, in one transaction with its effects (committed)."""
        result = handle_once(self.db, self.processed_events, body, self.clock.now(), apply)
        self.db.commit()
        return result

    def work(self) -> Work:
        """This worker's unit of work for the domain code (events go to the outbox)."""
        now = self.clock.now()
        return Work(db=self.db, config=self.config, now=now,
                    record=lambda event_type, payload: record_event(
                        self.db, self.outbox.model, self.name, event_type, payload, now))

    @rpc
    def ping(self) -> dict[str, Any]:
        """Readiness: the service answers RPC and reaches its database."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "ok": True}

    # BROADCAST: every replica of every service has its own (auto-deleted) queue and hears
    # each revocation; one missed while a replica is down is loaded at its start instead.
    @event_handler("auth", "sessions_revoked", handler_type=BROADCAST, reliable_delivery=False)
    def on_sessions_revoked(self, body: dict[str, Any]) -> None:
        """Auth ended sessions (logout, password change or reset, deletion): refuse their
        access tokens here from now on."""
        self.request.revocations.add(parse_envelope(body)["payload"], clock.now())
