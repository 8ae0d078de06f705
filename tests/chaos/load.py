"""The bounded load: customers submitting readings and starting payments through the
gateway's HTTP API, each request with a value of its own, every answer recorded."""
from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests

from tests.e2e.stack import Stack


@dataclass
class Customer:
    token: str
    account_id: int
    meter_serial: str


@dataclass
class Answer:
    """One request and what came back: ``status`` None when no HTTP answer came at all (the
    connection dropped or nothing answered in time)."""
    kind: str        # "reading" or "payment"
    account_id: int
    value: str       # the reading's value, or the payment's idempotency key
    status: int | None
    body: Any
    at: float        # monotonic time the request was sent
    customer: Customer
    request: tuple[str, dict[str, Any]]  # path, JSON body

    @property
    def entity(self) -> Any:
        """The id of the reading or payment a 201 made."""
        return self.body.get("id") if self.status == 201 and isinstance(self.body, dict) else None


def make_customer(stack: Stack) -> Customer:
    """Registered by phone, with an account of their own (opened by billing's events) linked."""
    token = stack.register_phone()["access_token"]
    account_id = stack.link_account(token, stack.open_account())
    meters = stack.api("GET", f"/accounts/{account_id}/meters", token)
    assert meters.status_code == 200, meters.text
    return Customer(token, account_id, meters.json()[0]["serial"])


class Load:
    """One thread per customer, alternating a reading and a payment, ``pause`` seconds
    apart, until :meth:`stop` or ``budget`` requests in all."""

    def __init__(self, stack: Stack, customers: list[Customer], budget: int, pause: float,
                 timeout: float = 60) -> None:
        self.stack, self.customers = stack, customers
        self.budget, self.pause, self.timeout = budget, pause, timeout
        self.answers: list[Answer] = []
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._run_id = uuid.uuid4().hex[:8]
        self._threads = [threading.Thread(target=self._work, args=(c,), daemon=True)
                         for c in customers]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 10)

    def _next(self) -> int | None:
        with self._lock:
            number = next(self._numbers)
            return number if number <= self.budget else None

    def _work(self, customer: Customer) -> None:
        while not self._stop.is_set():
            number = self._next()
            if number is None:
                return
            if number % 2:
                self._reading(customer, number)
            else:
                self._payment(customer, number)
            self._stop.wait(self.pause)

    def _reading(self, customer: Customer, number: int) -> None:
        value = 1000 + number  # unique in the run: tells this request's reading apart
        self._send("reading", customer, str(value), f"/accounts/{customer.account_id}/readings",
                   {"meter_serial": customer.meter_serial, "values": [value], "confirm": True})

    def _payment(self, customer: Customer, number: int) -> None:
        key = f"chaos-{self._run_id}-{number}"
        self._send("payment", customer, key, "/payments", {
            "idempotency_key": key,
            "items": [{"account_id": customer.account_id, "kind": "electricity",
                       "amount": f"{number // 100 + 1}.{number % 100:02d}"}]})

    def repeat(self, answer: Answer) -> Answer:
        """The same request again (a client retrying with the same idempotency key)."""
        return self._send(answer.kind, answer.customer, answer.value, *answer.request,
                          record=False)

    def _send(self, kind: str, customer: Customer, value: str, path: str,
              payload: dict[str, Any], record: bool = True) -> Answer:
        at = time.monotonic()
        try:
            response = requests.post(
                f"{self.stack.gateway}/api/v1{path}", json=payload,
                headers={"Authorization": f"Bearer {customer.token}"}, timeout=self.timeout)
            status: int | None = response.status_code
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text[:500]
        except requests.RequestException as exc:
            status, body = None, repr(exc)
        answer = Answer(kind, customer.account_id, value, status, body, at, customer,
                        (path, payload))
        if record:
            with self._lock:
                self.answers.append(answer)
        return answer
