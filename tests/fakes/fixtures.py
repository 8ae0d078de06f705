"""Pytest fixtures for the fakes: one server per test session, emptied before each test.

Use with ``pytest_plugins = ["tests.fakes.fixtures"]`` in the root conftest.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.stripe_server import FakeStripe
from tests.fakes.twilio_server import FakeTwilio
from tests.fakes.yookassa_server import FakeYooKassa


@pytest.fixture(scope="session")
def _fake_twilio_server() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture(scope="session")
def _fake_smtp_server() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


@pytest.fixture
def fake_twilio(_fake_twilio_server: FakeTwilio) -> FakeTwilio:
    _fake_twilio_server.clear()
    return _fake_twilio_server


@pytest.fixture
def fake_smtp(_fake_smtp_server: FakeSmtp) -> FakeSmtp:
    _fake_smtp_server.clear()
    return _fake_smtp_server


@pytest.fixture(scope="session")
def _fake_stripe_server() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


@pytest.fixture
def fake_stripe(_fake_stripe_server: FakeStripe) -> FakeStripe:
    _fake_stripe_server.clear()
    return _fake_stripe_server


@pytest.fixture(scope="session")
def _fake_yookassa_server() -> Iterator[FakeYooKassa]:
    with FakeYooKassa() as server:
        yield server


@pytest.fixture
def fake_yookassa(_fake_yookassa_server: FakeYooKassa) -> FakeYooKassa:
    _fake_yookassa_server.clear()
    return _fake_yookassa_server
