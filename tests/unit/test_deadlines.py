"""Deadlines (shared.deadlines, gateway.rpc): the arithmetic, a late request dropped before a
worker starts, a late commit refused, a service call that cannot wait for ever, and the
broker's errors answered 503."""
from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any
from unittest import mock

import eventlet
import pytest
from amqp.exceptions import ConnectionForced
from kombu.exceptions import OperationalError
from nameko import rpc as nameko_rpc
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from gateway import rpc as gateway_rpc
from gateway.rpc import RpcPool
from shared import deadlines
from shared.deadlines import DeadlineExceeded, DeadlineGuard, Rpc
from shared.errors import ServiceUnavailable

NOW = 1_750_000_000.0


def test_remaining_and_budget_arithmetic():
    data = {"deadline": deadlines.deadline_after(10, now=NOW)}
    assert data["deadline"] == NOW + 10
    assert deadlines.remaining(data, now=NOW + 4) == 6
    assert deadlines.remaining(data, now=NOW + 12) == -2
    assert not deadlines.expired(data, now=NOW + 9.9)
    assert deadlines.expired(data, now=NOW + 10)
    # a nested call inherits what is left; without a deadline it gets the default
    assert deadlines.call_budget(data, default=30, now=NOW + 7.5) == 2.5
    assert deadlines.call_budget({}, default=30, now=NOW) == 30
    # a header that is not a number is no deadline (never a crash)
    assert deadlines.remaining({"deadline": "soon"}) is None
    assert deadlines.remaining({"deadline": None}) is None
    assert not deadlines.expired({})


def test_deadline_exceeded_is_a_503_that_crosses_rpc():
    from nameko.exceptions import deserialize, serialize
    error = DeadlineExceeded("Сервис «accounts» временно недоступен", {"service": "accounts"})
    assert isinstance(error, ServiceUnavailable) and error.status == 503
    back = deserialize(serialize(error))
    assert type(back) is DeadlineExceeded and back.fields == {"service": "accounts"}


def _entrypoint() -> tuple[Rpc, mock.Mock]:
    entry = Rpc(expected_exceptions=(ServiceUnavailable,))
    entry.method_name = "submit"
    entry.container = SimpleNamespace(service_name="readings", spawn_worker=mock.Mock(),
                                      config={})
    handled = mock.Mock()
    entry.handle_result = handled  # type: ignore[method-assign]
    return entry, handled


def test_a_request_past_its_deadline_gets_no_worker():
    entry, handled = _entrypoint()
    message = SimpleNamespace(headers={"nameko.deadline": time.time() - 0.1,
                                       "nameko.request_id": "r1"})
    entry.handle_message({"args": [], "kwargs": {}}, message)
    entry.container.spawn_worker.assert_not_called()
    (msg, worker_ctx, result, exc_info), _ = handled.call_args
    assert msg is message and worker_ctx is None and result is None
    assert isinstance(exc_info[1], DeadlineExceeded)
    assert exc_info[1].fields == {"service": "readings"}


# Deadlines far ahead: parameters are made at collection, maybe minutes before the test runs.
IN_TIME = time.time() + 86400


@pytest.mark.parametrize("headers", [{"nameko.deadline": IN_TIME}, {}])
def test_a_request_in_time_or_without_deadline_runs(headers):
    entry, handled = _entrypoint()
    entry.check_signature = lambda args, kwargs: None  # type: ignore[method-assign]
    entry.handle_message({"args": [], "kwargs": {}}, SimpleNamespace(headers=headers))
    entry.container.spawn_worker.assert_called_once()
    handled.assert_not_called()


def _rpc_worker(deadline: float | None) -> Any:
    data = {} if deadline is None else {"deadline": deadline}
    return SimpleNamespace(entrypoint=Rpc(), data=data)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    with Session(engine) as s:
        yield s
    engine.dispose()


def _commit_refused(session: Session) -> None:
    session.execute(text("SELECT 1"))
    with pytest.raises(DeadlineExceeded):
        session.commit()


def test_a_commit_after_the_deadline_is_refused(session):
    guard = DeadlineGuard()
    worker = _rpc_worker(time.time() - 0.01)
    guard.worker_setup(worker)
    try:
        _commit_refused(session)
    finally:
        guard.worker_teardown(worker)
    session.rollback()
    session.commit()  # after teardown the worker's deadline no longer applies


@pytest.mark.parametrize("worker", [
    _rpc_worker(IN_TIME),                             # in time
    _rpc_worker(None),                                # an RPC without deadline
    SimpleNamespace(entrypoint=object(), data={"deadline": 1.0}),  # an event handler, a timer
])
def test_commits_in_time_or_outside_rpc_go_through(session, worker):
    guard = DeadlineGuard()
    guard.worker_setup(worker)
    try:
        session.execute(text("SELECT 1"))
        session.commit()
    finally:
        guard.worker_teardown(worker)


class _Listener:
    routing_key = "reply-key"

    def __init__(self) -> None:
        self._reply_events: dict[str, Any] = {}

    def get_reply_event(self, correlation_id: str) -> Any:
        event = eventlet.event.Event()
        self._reply_events[correlation_id] = event
        return event


def _method_proxy(data: dict[str, Any], default: float = 5) -> Any:
    worker_ctx = SimpleNamespace(container=SimpleNamespace(config={"AMQP_URI": "memory://"}),
                                 data=data, context_data={**data, "call_id_stack": ["x"]})
    proxy = deadlines._MethodProxy(worker_ctx, "accounts", "check_access", _Listener(), default)
    proxy.publisher.publish = mock.Mock()  # type: ignore[method-assign]
    return proxy


def test_a_nested_call_inherits_the_rest_of_the_deadline():
    deadline = time.time() + 4
    proxy = _method_proxy({"deadline": deadline, "request_id": "r1"}, default=30)
    reply = proxy.call_async(account_id=1)
    _, kwargs = proxy.publisher.publish.call_args
    assert 3.5 < reply.timeout <= 4
    assert abs(kwargs["extra_headers"]["nameko.deadline"] - deadline) < 0.1
    assert kwargs["extra_headers"]["nameko.request_id"] == "r1"
    assert proxy.publisher.expiration == reply.timeout  # the broker drops it then


def test_a_call_without_deadline_gets_the_default_timeout_and_one_for_its_callee():
    proxy = _method_proxy({}, default=7)
    reply = proxy.call_async()
    _, kwargs = proxy.publisher.publish.call_args
    assert reply.timeout == 7 and proxy.publisher.expiration == 7
    assert abs(kwargs["extra_headers"]["nameko.deadline"] - (time.time() + 7)) < 0.5


def test_a_call_past_the_deadline_is_not_sent():
    proxy = _method_proxy({"deadline": time.time() - 1})
    with pytest.raises(DeadlineExceeded):
        proxy.call_async()
    proxy.publisher.publish.assert_not_called()


def test_a_silent_callee_times_out_and_its_reply_slot_is_freed():
    proxy = _method_proxy({"deadline": time.time() + 0.3})
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as raised:
        proxy(account_id=1)
    assert time.monotonic() - started < 1
    assert raised.value.fields == {"service": "accounts"}
    assert proxy.reply_listener._reply_events == {}


def test_a_prompt_reply_is_returned():
    proxy = _method_proxy({}, default=5)
    reply = proxy.call_async()
    reply.reply_event.send({"result": {"ok": True}, "error": None})
    assert reply.result() == {"ok": True}


@pytest.mark.parametrize("error", [
    OperationalError("[Errno 111] Connection refused"),   # kombu, during a broker outage
    ConnectionForced("broker forced connection closure"),  # py-amqp
    ConnectionRefusedError(111, "refused"),
])
def test_broker_errors_become_503_not_500(monkeypatch, error):
    pool = RpcPool({"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}, size=1, timeout=1)

    def broken(timeout: float) -> Any:
        raise error

    monkeypatch.setattr(pool, "_open", broken)
    with pytest.raises(ServiceUnavailable) as raised:
        pool.call("readings", "ping", {})
    assert raised.value.fields == {"service": "readings"}
    # the slot came back: the pool is not exhausted by failures
    with pytest.raises(ServiceUnavailable):
        pool.call("readings", "ping", {})


def test_the_gateway_sends_a_deadline_and_an_expiration(monkeypatch):
    pool = RpcPool({"AMQP_URI": "memory://"}, size=1, timeout=3)
    standalone = SimpleNamespace(_worker_ctx=SimpleNamespace(data={}),
                                 _reply_listener=object(), stop=lambda: None)
    monkeypatch.setattr(pool, "_open", lambda timeout: (standalone, None))
    seen: dict[str, Any] = {}

    class Proxy:
        def __init__(self, worker_ctx: Any, service: str, listener: Any, **options: Any):
            seen.update(data=dict(worker_ctx.data), options=options, service=service)

        def __getattr__(self, name: str) -> Any:
            return lambda **kwargs: "pong"

    monkeypatch.setattr(gateway_rpc, "ServiceProxy", Proxy)
    assert pool.call("auth", "ping", {"request_id": "r9"}) == "pong"
    assert seen["options"] == {"expiration": 3} and seen["data"]["request_id"] == "r9"
    assert abs(seen["data"]["deadline"] - (time.time() + 3)) < 0.5
    pool.call("auth", "ping", {}, timeout=0.5)
    assert seen["options"] == {"expiration": 0.5}


def test_every_service_calls_its_neighbours_with_a_deadline():
    """A plain nameko RpcProxy has no timeout: one dead neighbour would block every worker."""
    import inspect

    from nameko.rpc import RpcProxy as PlainRpcProxy

    from services.accounts.service import AccountsService
    from services.auth.service import AuthService
    from services.documents.service import DocumentsService
    from services.payments.service import PaymentsService
    from services.readings.service import ReadingsService
    from services.requests.service import RequestsService
    for service in (AuthService, AccountsService, ReadingsService, PaymentsService,
                    DocumentsService, RequestsService):
        proxies = [value for _, value in inspect.getmembers(service)
                   if isinstance(value, PlainRpcProxy)]
        assert all(isinstance(p, deadlines.RpcProxy) for p in proxies), service.name
        assert isinstance(service.deadline, DeadlineGuard)
        assert all(isinstance(e, Rpc) for e in service.ping.nameko_entrypoints)


# --- a broker lost under a running request (found by the fault-injection suite) -----------

def _delivery(connected: bool) -> Any:
    return SimpleNamespace(headers={"nameko.deadline": IN_TIME},
                           channel=SimpleNamespace(connection=object() if connected else None))


def test_a_commit_after_the_request_connection_dropped_is_refused(session):
    """The broker stopped while the worker ran: the gateway answered 503 when its own
    connection went, so the work must not be committed behind it."""
    guard = DeadlineGuard()
    message = _delivery(connected=True)
    worker = SimpleNamespace(entrypoint=Rpc(), data=Rpc().unpack_message_headers(message))
    assert dict(worker.data) == {"deadline": IN_TIME}  # the message is not an item: never sent on
    guard.worker_setup(worker)
    try:
        session.execute(text("SELECT 1"))
        session.commit()  # connected: goes through
        message.channel.connection = None  # what py-amqp does to a channel of a lost connection
        _commit_refused(session)
    finally:
        guard.worker_teardown(worker)
        session.rollback()


@pytest.mark.parametrize("error", [OperationalError("[Errno 111] ECONNREFUSED"),
                                   ConnectionForced("shutdown"), ConnectionResetError()])
def test_an_answer_the_broker_cannot_take_does_not_kill_the_service(error):
    """nameko lets an error from sending the reply kill the container (the process exits)."""
    entry = Rpc()
    entry.method_name = "submit"
    entry.container = SimpleNamespace(service_name="readings")
    with mock.patch.object(nameko_rpc.Rpc, "handle_result", side_effect=error):
        assert entry.handle_result(_delivery(False), None, {"id": 1}, None) == ({"id": 1}, None)


def test_a_worker_whose_database_went_away_answers_503_not_500():
    """pg_terminate_backend under a request: the gateway gets ServiceUnavailable (503)."""
    from sqlalchemy.exc import OperationalError as DatabaseOperationalError

    entry = Rpc()
    entry.method_name = "submit"
    entry.container = SimpleNamespace(service_name="readings")
    lost = DatabaseOperationalError("SELECT 1", {}, Exception("terminating connection"))
    with mock.patch.object(nameko_rpc.Rpc, "handle_result",
                           side_effect=lambda message, ctx, result, exc_info: (result, exc_info)):
        _, exc_info = entry.handle_result(_delivery(True), None, None, (type(lost), lost, None))
        assert isinstance(exc_info[1], ServiceUnavailable) and exc_info[1].status == 503
        assert exc_info[1].fields == {"service": "readings"}
        bug = ValueError("a bug stays a 500")
        _, exc_info = entry.handle_result(_delivery(True), None, None, (type(bug), bug, None))
        assert exc_info[1] is bug
