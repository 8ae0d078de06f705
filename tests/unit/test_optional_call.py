"""optional_call: another service's answer the caller can do without never stalls it."""
from __future__ import annotations

import time

import eventlet
from nameko.exceptions import UnknownService

from shared.errors import NotFound
from shared.service import optional_call


class FakeMethod:
    """Stands for ``self.payments.estimate``: call_async(...).result()."""

    def __init__(self, answer=None, error=None, delay=0.0):
        self.answer, self.error, self.delay, self.kwargs = answer, error, delay, None

    def call_async(self, **kwargs):
        self.kwargs = kwargs
        return self

    def result(self):
        eventlet.sleep(self.delay)
        if self.error:
            raise self.error
        return self.answer


def test_the_answer_comes_back_with_the_arguments():
    method = FakeMethod(answer={"amount": "10.00"})
    assert optional_call(method, account_id=7) == {"amount": "10.00"}
    assert method.kwargs == {"account_id": 7}


def test_an_absent_or_failing_service_gives_none():
    assert optional_call(FakeMethod(error=UnknownService("payments"))) is None
    assert optional_call(FakeMethod(error=NotFound("no tariff"))) is None


def test_a_slow_service_gives_none_after_the_timeout():
    started = time.monotonic()
    assert optional_call(FakeMethod(answer=1, delay=5), timeout=0.2) is None
    assert time.monotonic() - started < 2
