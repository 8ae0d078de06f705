"""Deadlines: every RPC call carries the moment its caller stops waiting for the answer.

The gateway puts ``deadline`` (epoch seconds) in nameko's context data: the moment it will
answer 503. From it follow four rules, so that a 503 means "this was not done":

- the request message expires with it (AMQP ``expiration``): RabbitMQ never delivers a
  request nobody waits for any more, even to a service that comes back later;
- :class:`Rpc` (the ``rpc`` entrypoint of every service) drops a request whose deadline
  passed before a worker is started for it, answering :class:`DeadlineExceeded`;
- :class:`RpcProxy` (service-to-service calls) gives each call what is left of the caller's
  deadline as its timeout and expiration, or ``SERVICE_CALL_TIMEOUT`` when the worker has no
  deadline (an event handler, a timer): no call waits for ever on a neighbour;
- a database commit after the deadline is refused (:func:`_refuse_late_commit`), so work
  that started in time but ran late is rolled back instead of done behind a 503; so is one
  whose request's broker connection dropped meanwhile (:func:`withdrawn`: the broker takes
  the message back, and the gateway, whose connection dropped too, has answered 503), and
  an answer that cannot be sent for a broker gone is logged, not fatal to the service.
  Left: a broker lost between a commit and its answer (milliseconds) gives a 503 for work
  that was done; an idempotency key makes the client's retry safe.

Deadlines are wall-clock time (``time.time()``), not the injected clock that tests move:
they must agree between the gateway and the services, which share a host clock (NTP).
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko import rpc as nameko_rpc
from nameko.exceptions import deserialize_to_instance
from nameko.extensions import DependencyProvider
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError
from sqlalchemy.exc import OperationalError as DatabaseOperationalError
from sqlalchemy.orm import Session

from shared.errors import ServiceUnavailable

log = logging.getLogger(__name__)

KEY = "deadline"  # in nameko context data (AMQP header ``nameko.deadline``)
DEFAULT_SERVICE_CALL_TIMEOUT = 10.0
DOWN = "Сервис «{service}» временно недоступен, попробуйте позже"


@deserialize_to_instance
class DeadlineExceeded(ServiceUnavailable):
    """The caller's deadline passed: the work was not done (HTTP 503, like any unavailable
    service, so a client needs to know one code only)."""


def deadline_after(seconds: float, now: float | None = None) -> float:
    """The deadline of a call that may take ``seconds`` from ``now`` (default: the wall clock)."""
    return (time.time() if now is None else now) + seconds


def remaining(data: Mapping[str, Any], now: float | None = None) -> float | None:
    """Seconds left before the deadline in context ``data`` (negative once passed), or None
    when the data carries no (valid) deadline."""
    try:
        deadline = float(data[KEY])
    except (KeyError, TypeError, ValueError):
        return None
    return deadline - (time.time() if now is None else now)


def call_budget(data: Mapping[str, Any], default: float, now: float | None = None) -> float:
    """How long a call made now on behalf of a worker with context ``data`` may take: what is
    left of its deadline (a nested call inherits it), else ``default``."""
    left = remaining(data, now)
    return default if left is None else left


def expired(data: Mapping[str, Any], now: float | None = None) -> bool:
    """True when ``data`` carries a deadline that has passed."""
    left = remaining(data, now)
    return left is not None and left <= 0


# --- the service side: drop late requests -------------------------------------------------

class _RequestData(dict):  # type: ignore[type-arg]
    """A request's context data that knows the message it came in. Nested calls copy the
    items only, so the message never travels on."""

    message: Any = None


def withdrawn(data: Mapping[str, Any]) -> bool:
    """True when the request in context ``data`` came on a broker connection that is gone:
    the broker has taken the message back (to deliver again, or lost with a stopped node)
    and the caller, whose connection went with it, has answered 503."""
    message = getattr(data, "message", None)
    return message is not None and not message.channel.connection


def database_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is the database going away (terminated, refused, locked), not a bug."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (DatabaseOperationalError, InterfaceError, DisconnectionError))


# A reply that cannot be sent: the broker is gone (refused, reset, or closed by it).
BROKER_LOST = (OSError, KombuOperationalError, AmqpConnectionError)


class Rpc(nameko_rpc.Rpc):
    """nameko's ``@rpc`` entrypoint that refuses a request whose deadline already passed.

    Checked when the message arrives, before a worker exists: no dependency is set up, no
    database session opened; the caller (if still listening) gets DeadlineExceeded.
    """

    def unpack_message_headers(self, message: Any) -> _RequestData:
        data = _RequestData(super().unpack_message_headers(message))
        data.message = message
        return data

    def handle_result(self, message: Any, worker_ctx: Any, result: Any,
                      exc_info: Any) -> tuple[Any, Any]:
        """Send the answer. If the broker is gone the answer is lost (the caller answered 503
        when its own connection went) and the request stays unacked, to be dropped as late
        when delivered again; nameko would let the error kill the whole service. A worker
        that lost its database connection answers 503, not a 500: its transaction died
        with the connection."""
        if exc_info is not None and database_lost(exc_info[1]):
            service = self.container.service_name
            error = ServiceUnavailable(DOWN.format(service=service), {"service": service})
            exc_info = (type(error), error, exc_info[2])
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_LOST as exc:
            log.warning("answer not sent: the broker is unreachable", extra={
                "rpc": f"{self.container.service_name}.{self.method_name}",
                "error": repr(exc)})
            return result, exc_info

    def handle_message(self, body: Any, message: Any) -> None:
        data = self.unpack_message_headers(message)
        if expired(data):
            service = self.container.service_name
            log.warning("request dropped: its deadline passed before it started", extra={
                "rpc": f"{service}.{self.method_name}", "late_s": round(-remaining(data), 3)})
            error = DeadlineExceeded(DOWN.format(service=service), {"service": service})
            self.handle_result(message, None, None, (type(error), error, None))
            return
        super().handle_message(body, message)


_worker = threading.local()  # greenlet-local once eventlet has monkey-patched threading


class DeadlineGuard(DependencyProvider):
    """Every service has one (ServiceBase): it remembers the RPC worker's deadline so that a
    commit after it is refused. Event handlers and timers have no deadline."""

    def worker_setup(self, worker_ctx: Any) -> None:
        is_rpc = isinstance(worker_ctx.entrypoint, nameko_rpc.Rpc)
        _worker.data = worker_ctx.data if is_rpc else None

    def worker_teardown(self, worker_ctx: Any) -> None:
        _worker.data = None

    def get_dependency(self, worker_ctx: Any) -> float | None:
        """What is left of this worker's deadline, seconds (None: no deadline)."""
        return remaining(worker_ctx.data)


@event.listens_for(Session, "before_commit")
def _refuse_late_commit(session: Session) -> None:
    """A worker that started in time but reaches its commit after the deadline rolls back:
    its caller has been told 503 (or is about to be), so the change must not happen. So does
    one whose request the broker took back (its connection dropped): its caller's went too."""
    data = getattr(_worker, "data", None)
    if data is not None and expired(data):
        log.warning("commit refused: the request's deadline passed",
                    extra={"late_s": round(-remaining(data), 3)})
        raise DeadlineExceeded("Запрос не выполнен: истекло время ожидания", {})
    if data is not None and withdrawn(data):
        log.warning("commit refused: the broker connection the request came on was lost")
        raise DeadlineExceeded("Запрос не выполнен: связь с брокером прервалась", {})


@contextmanager
def beyond_deadline() -> Iterator[None]:
    """Commits inside may end after the worker's deadline: only for bookkeeping of work that
    committed in time (an idempotent request's answer, freeing its key), never for new work."""
    data = getattr(_worker, "data", None)
    _worker.data = None
    try:
        yield
    finally:
        _worker.data = data


# --- the caller side: service-to-service calls with a timeout ------------------------------

class _Reply(nameko_rpc.RpcReply):
    """nameko's reply, awaited at most ``timeout`` seconds."""

    def __init__(self, reply_event: Any, timeout: float, proxy: "_MethodProxy") -> None:
        super().__init__(reply_event)
        self.timeout = timeout
        self.proxy = proxy

    def result(self) -> Any:
        if self.resp_body is None:
            timer = eventlet.Timeout(self.timeout)
            try:
                self.resp_body = self.reply_event.wait()
            except eventlet.Timeout as exc:
                if exc is not timer:
                    raise
                self._forget()
                service = self.proxy.service_name
                log.warning("service call timed out", extra={
                    "rpc": f"{service}.{self.proxy.method_name}", "timeout_s": self.timeout})
                raise DeadlineExceeded(DOWN.format(service=service), {"service": service})
            finally:
                timer.cancel()
        return super().result()

    def _forget(self) -> None:
        # The listener keeps a reply event per correlation id until the reply comes, which
        # it never may: drop ours (a late reply is then logged and ignored).
        events = self.proxy.reply_listener._reply_events
        for correlation_id, reply_event in list(events.items()):
            if reply_event is self.reply_event:
                events.pop(correlation_id, None)


class _MethodProxy(nameko_rpc.MethodProxy):
    def __init__(self, worker_ctx: Any, service_name: str, method_name: str,
                 reply_listener: Any, default_timeout: float, **options: Any) -> None:
        super().__init__(worker_ctx, service_name, method_name, reply_listener, **options)
        self.default_timeout = default_timeout
        self._deadline: float | None = None

    def get_message_headers(self, worker_ctx: Any) -> dict[str, Any]:
        headers = super().get_message_headers(worker_ctx)
        headers[self._get_header_name(KEY)] = self._deadline  # the callee's own nested calls
        return headers

    def _call(self, *args: Any, **kwargs: Any) -> _Reply:
        timeout = call_budget(self.worker_ctx.data, self.default_timeout)
        if timeout <= 0:
            raise DeadlineExceeded(DOWN.format(service=self.service_name),
                                   {"service": self.service_name})
        self._deadline = deadline_after(timeout)
        self.publisher.expiration = timeout  # seconds; kombu sends milliseconds
        reply = super()._call(*args, **kwargs)
        return _Reply(reply.reply_event, timeout, self)


class _ServiceProxy(nameko_rpc.ServiceProxy):
    def __init__(self, worker_ctx: Any, service_name: str, reply_listener: Any,
                 default_timeout: float, **options: Any) -> None:
        super().__init__(worker_ctx, service_name, reply_listener, **options)
        self.default_timeout = default_timeout

    def __getattr__(self, name: str) -> _MethodProxy:
        return _MethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener,
                            self.default_timeout, **self.options)


class RpcProxy(nameko_rpc.RpcProxy):
    """nameko's RpcProxy whose calls end: each waits at most what is left of the worker's
    deadline (else ``SERVICE_CALL_TIMEOUT``), its message expires then, and the callee
    inherits the deadline. A call that runs out raises :class:`DeadlineExceeded`."""

    def setup(self) -> None:
        self.default_timeout = float(self.container.config.get(
            "SERVICE_CALL_TIMEOUT", DEFAULT_SERVICE_CALL_TIMEOUT))

    def get_dependency(self, worker_ctx: Any) -> _ServiceProxy:
        return _ServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                             self.default_timeout, **self.options)
