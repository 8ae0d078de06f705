"""Token revocation reaches every service: logout, password change and deletion are refused
by accounts, readings and the rest at once (the ``auth.sessions_revoked`` broadcast), not
when the access token expires; a service started later loads what was revoked from auth."""
from __future__ import annotations

import time

from nameko.containers import ServiceContainer
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, text

from shared.context import RequestContext
from shared.errors import Unauthorized
from shared.tokens import verification_key, verify_access_token
from tests.integration.helpers import (PASSWORD, bearer, error, eventually, login, new_phone,
                                       register_by_phone)

API = "/api/v1"


def _principal(sys, tokens):
    return verify_access_token(tokens["access_token"], verification_key(sys.config),
                               sys.config["JWT_ISSUER"], sys.clock.now())


def _lists(sys):
    """Every container's revocation list, by service."""
    return {c.service_name: next(d for d in c.dependencies if isinstance(d, RequestContext))
            .revocations for c in sys.runner.containers}


def _refused_within(sys, request, seconds: float = 1.0) -> float:
    """Poll until ``request()`` answers 401 (bounded); the seconds it took."""
    started = time.monotonic()
    while True:
        response = request()
        if response.status_code == 401:
            assert error(response)["field_codes"]["authorization"] == "session ended"
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, (response.status_code, response.json)
        time.sleep(0.02)


def _rows(sys, query: str, **params) -> list:
    engine = create_engine(sys.config["ACCOUNTS_DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(text(query), params).all()
    engine.dispose()
    return rows


def test_after_logout_every_service_refuses_the_token_within_a_second(sys):
    tokens = register_by_phone(sys, new_phone())
    assert sys.client.get(f"{API}/profile", headers=bearer(tokens)).status_code == 200
    assert sys.client.get(f"{API}/accounts/1/meters", headers=bearer(tokens)).status_code != 401

    assert sys.client.post(f"{API}/auth/logout", headers=bearer(tokens)).status_code == 204
    _refused_within(sys, lambda: sys.client.get(f"{API}/profile", headers=bearer(tokens)))
    _refused_within(sys, lambda: sys.client.get(f"{API}/accounts/1/meters",
                                                headers=bearer(tokens)))
    principal = _principal(sys, tokens)
    lists = _lists(sys)
    assert set(lists) == {"auth", "accounts", "readings", "payments", "requests", "documents"}
    eventually(lambda: all(r.revoked(principal, sys.clock.now()) for r in lists.values()),
               timeout=1, what="every service's list to hold the session")


def test_after_deletion_nothing_of_the_user_is_written_and_earlier_writes_are_erased(sys):
    tokens = register_by_phone(sys, new_phone())
    user_id = tokens["user"]["id"]
    basic = {"last_name": "Петров", "first_name": "Иван", "gender": "male",
             "citizenship": "RU"}
    assert sys.client.put(f"{API}/profile/basic", headers=bearer(tokens),
                          json=basic).status_code == 200
    contract = {"branch": "krasnodar", "full_name": "Петров Иван", "address": "г. Краснодар"}
    assert sys.client.post(f"{API}/contract-requests", headers=bearer(tokens),
                           json=contract).status_code == 201

    deleted = sys.client.post(f"{API}/auth/me/delete", headers=bearer(tokens),
                              json={"password": PASSWORD})
    assert deleted.status_code == 200, deleted.json
    _refused_within(sys, lambda: sys.client.put(f"{API}/profile/basic", headers=bearer(tokens),
                                                json=basic))
    refused = sys.client.post(f"{API}/contract-requests", headers=bearer(tokens), json=contract)
    assert refused.status_code == 401

    # What was written before the deletion goes with the user_deleted event.
    eventually(lambda: not _rows(sys, "SELECT 1 FROM contract_requests WHERE user_id = :u",
                                 u=user_id) and
               not _rows(sys, "SELECT 1 FROM profiles WHERE user_id = :u", u=user_id),
               what="accounts to erase the profile and the contract requests")
    time.sleep(0.3)  # and nothing comes back
    assert _rows(sys, "SELECT 1 FROM contract_requests WHERE user_id = :u", u=user_id) == []
    assert _rows(sys, "SELECT 1 FROM profiles WHERE user_id = :u", u=user_id) == []


def test_a_password_change_refuses_the_other_sessions_but_not_the_current_one(sys):
    phone = new_phone()
    current = register_by_phone(sys, phone)
    other = login(sys, phone=phone).json
    changed = sys.client.post(f"{API}/auth/password/change", headers=bearer(current), json={
        "old_password": PASSWORD, "new_password": "Novyi-Parol-7",
        "new_password_confirmation": "Novyi-Parol-7"})
    assert changed.status_code == 200, changed.json
    _refused_within(sys, lambda: sys.client.get(f"{API}/profile", headers=bearer(other)))
    assert sys.client.get(f"{API}/profile", headers=bearer(current)).status_code == 200
    assert sys.client.get(f"{API}/auth/me", headers=bearer(current)).status_code == 200


class Probe:
    """A service that starts after the revocation: it knows only what auth tells it."""

    name = "revocation_probe"
    request = RequestContext()

    @rpc
    def who(self) -> str:
        return self.request.principal().user_id


def test_a_service_started_after_the_logout_refuses_the_token(sys):
    tokens = register_by_phone(sys, new_phone())
    assert sys.client.post(f"{API}/auth/logout", headers=bearer(tokens)).status_code == 204
    alive = register_by_phone(sys, new_phone())

    container = ServiceContainer(Probe, sys.config)
    container.start()
    try:
        provider = next(d for d in container.dependencies if isinstance(d, RequestContext))
        assert provider.caught_up.wait(timeout=10) >= 1
        with entrypoint_hook(container, "who", context_data={
                "authorization": tokens["access_token"]}) as who:
            try:
                who()
                raise AssertionError("a revoked token was accepted")
            except Unauthorized as exc:
                assert exc.fields == {"authorization": "session ended"}
        with entrypoint_hook(container, "who", context_data={
                "authorization": alive["access_token"]}) as who:
            assert who() == alive["user"]["id"]
    finally:
        container.stop()
