"""Deadlines on the real system: a request answered 503 is never carried out later (no ghost
write), and a dead neighbour makes a service answer 503 in time instead of wedging it."""
from __future__ import annotations

import itertools
import time
from contextlib import contextmanager
from typing import Any, Iterator

import eventlet
import pika
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, text

from gateway.app import create_app
from services.accounts.service import AccountsService
from shared.deadlines import DeadlineExceeded
from tests.integration.helpers import bearer, eventually, new_phone, register_by_phone

API = "/api/v1"
RPC_TIMEOUT = 1.5
_houses = itertools.count(1)


@contextmanager
def accounts_down(sys) -> Iterator[None]:
    """Stop the accounts container (its durable queue stays: requests pile up in it, as when
    the process died), then start a new one, as a supervisor would."""
    sys.runner.service_map["accounts"].stop()
    try:
        yield
    finally:
        container = ServiceContainer(AccountsService, sys.config)
        container.start()
        sys.runner.service_map["accounts"] = container


def _queued(sys, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(sys.amqp_uri))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def _contract_requests(sys, address: str) -> int:
    engine = create_engine(sys.config["ACCOUNTS_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM contract_requests WHERE address = :a"),
                {"a": address}).scalar_one()
    finally:
        engine.dispose()


def _contract(address: str) -> dict[str, Any]:
    return {"branch": "krasnodar", "full_name": "Сидорова Анна Петровна", "address": address,
            "phone": "8 918 000-00-01"}


def test_a_write_answered_503_is_never_carried_out(sys):
    customer = register_by_phone(sys, new_phone())
    impatient = create_app({**sys.config, "RPC_TIMEOUT": RPC_TIMEOUT}).test_client()
    address = f"г. Краснодар, ул. Призрачная, д. {next(_houses)}"
    tap = sys.tap("accounts")
    try:
        with accounts_down(sys):
            started = time.monotonic()
            response = impatient.post(f"{API}/contract-requests", headers=bearer(customer),
                                      json=_contract(address))
            assert response.status_code == 503, response.json
            assert time.monotonic() - started < RPC_TIMEOUT + 1.5
            # the broker itself drops the request once its deadline passed
            eventually(lambda: _queued(sys, "rpc-accounts") == 0, timeout=5,
                       what="the expired request leaving the queue")
        # accounts is back: it answers, and it never ran the request the customer was told failed
        eventually(lambda: sys.client.get(f"{API}/profile", headers=bearer(customer)
                                          ).status_code == 200, what="accounts answering")
        time.sleep(1)
        assert _contract_requests(sys, address) == 0
        assert not [e for e in tap.drain() if e["type"] == "contract_requested"
                    and e["payload"].get("address") == address]
        # the customer's retry is then the only request
        retry = sys.client.post(f"{API}/contract-requests", headers=bearer(customer),
                                json=_contract(address))
        assert retry.status_code == 201
        assert _contract_requests(sys, address) == 1
    finally:
        impatient.application.extensions["rpc"].close()
        tap.close()


def test_a_service_drops_a_request_that_arrives_after_its_deadline(sys):
    """Without the broker's expiration (a plain nameko client), the service still refuses."""
    customer = register_by_phone(sys, new_phone())
    address = f"г. Краснодар, ул. Запоздалая, д. {next(_houses)}"
    late = {"authorization": customer["access_token"], "deadline": time.time() - 0.5}
    with ClusterRpcProxy({"AMQP_URI": sys.amqp_uri}, context_data=late, timeout=5) as rpc:
        try:
            rpc.accounts.request_contract(**_contract(address))
        except DeadlineExceeded as error:
            assert error.fields == {"service": "accounts"}
        else:
            raise AssertionError("a request past its deadline was carried out")
    assert _contract_requests(sys, address) == 0


def test_a_dead_neighbour_answers_in_time_and_does_not_wedge_the_caller(sys):
    """readings asks accounts (check_access) for a grant its copy lacks (shared/grants.py).
    With accounts gone, more requests than readings has workers each answer within the
    deadline (404: the copy is complete, so a grant it lacks is none; 503: one that waited
    for a worker past its deadline is dropped), and readings still answers its own ping
    afterwards (its workers were not left waiting for ever)."""
    customer = register_by_phone(sys, new_phone())
    requests = int(sys.config.get("max_workers", 10)) + 2  # more than readings' workers
    app = create_app({**sys.config, "RPC_TIMEOUT": RPC_TIMEOUT, "GATEWAY_THREADS": requests})

    def history(_: int) -> tuple[int, float]:
        started = time.monotonic()
        response = app.test_client().get(f"{API}/accounts/1/readings",
                                         headers=bearer(customer))
        return response.status_code, time.monotonic() - started

    try:
        with accounts_down(sys):
            answers = list(eventlet.GreenPool(requests).imap(history, range(requests)))
            assert {status for status, _ in answers} <= {404, 503}
            assert max(seconds for _, seconds in answers) < RPC_TIMEOUT + 1.5
            pool = sys.client.application.extensions["rpc"]
            assert pool.call("readings", "ping", {}, timeout=1) == {"service": "readings",
                                                                    "ok": True}
    finally:
        app.extensions["rpc"].close()
