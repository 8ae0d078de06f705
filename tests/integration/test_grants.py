"""Ownership decided without an RPC to accounts (shared/grants.py): readings, payments,
documents and requests keep the grants user↔account from accounts' events, so they serve a
linked customer while accounts is down, and an unlink or a trust taken back ends access as
soon as its event arrives."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from nameko.containers import ServiceContainer
from sqlalchemy import create_engine, text

from services.readings.service import ReadingsService
from tests.integration.helpers import PASSWORD, bearer, eventually, new_phone, register_by_phone
from tests.integration.test_accounts import link, post_account
from tests.integration.test_deadlines import accounts_down
from tests.integration.test_readings import customer_with_meter, in_window, submit  # noqa: F401

API = "/api/v1"
SERVICES = ("readings", "payments", "documents", "requests")


def _query(sys, service: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(sys.config[f"{service.upper()}_DATABASE_URL"])
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def grant(sys, service: str, user_id: str, account_id: int) -> tuple[Any, ...] | None:
    """(access, revoked, version) of the service's copy of the grant, or None."""
    rows = _query(sys, service, "SELECT access, revoked, version FROM account_grants "
                  "WHERE user_id = :u AND account_id = :a", u=user_id, a=account_id)
    return tuple(rows[0]) if rows else None


def wait_grants(sys, user_id: str, account_id: int, access: str | None) -> None:
    """Until every service's copy says ``access`` (None: revoked or gone)."""
    for service in SERVICES:
        def matches() -> bool:
            row = grant(sys, service, user_id, account_id)
            if access is None:
                return row is None or bool(row[1])
            return row is not None and not row[1] and row[0] == access
        eventually(matches, what=f"{service} learning that {user_id} has {access} access")


def order(sys, tokens, account_id: int):
    return sys.client.post(f"{API}/requests", headers=bearer(tokens), json={
        "work": "meter_replacement", "message": "Замените счётчик", "account_id": account_id,
        "contact_phone": "+79180000000"})


def test_a_linked_customer_is_served_while_accounts_is_down(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    stranger = register_by_phone(sys, new_phone())
    wait_grants(sys, tokens["user"]["id"], account_id, "full")
    with accounts_down(sys):
        meters = sys.client.get(f"{API}/accounts/{account_id}/meters", headers=bearer(tokens))
        assert meters.status_code == 200 and meters.json[0]["serial"] == "1000911502333"
        reading = submit(sys, tokens, account_id, [3007])
        assert reading.status_code == 201, reading.json
        debt = sys.client.get(f"{API}/accounts/{account_id}/debt", headers=bearer(tokens))
        assert debt.status_code == 200, debt.json
        documents = sys.client.get(f"{API}/accounts/{account_id}/documents",
                                   headers=bearer(tokens))
        assert documents.status_code == 200 and documents.json["items"] == []
        created = order(sys, tokens, account_id)
        assert created.status_code == 201, created.json
        # A stranger is still refused as before: the copy is complete, so not knowing the
        # grant (and accounts not answering) means there is none.
        refused = sys.client.get(f"{API}/accounts/{account_id}/meters", headers=bearer(stranger))
        assert refused.status_code == 404, refused.json
        assert refused.json["error"]["field_codes"] == {"account_id": "not linked to you"}


def test_a_trust_taken_back_or_an_unlink_ends_access_within_a_moment(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    helper = register_by_phone(sys, new_phone())
    sys.wait_contact(helper["user"]["id"])
    granted = sys.client.post(f"{API}/accounts/{account_id}/trusted", headers=bearer(tokens),
                              json={"phone": helper["user"]["phone"], "access": "read"})
    assert granted.status_code == 201, granted.json
    # at once, whether or not the event has arrived yet
    history = f"{API}/accounts/{account_id}/readings"
    assert sys.client.get(history, headers=bearer(helper)).status_code == 200
    assert submit(sys, helper, account_id, [3007]).status_code == 403
    assert order(sys, helper, account_id).status_code == 403

    # full access now: an access change, carried by its own event
    sys.client.post(f"{API}/accounts/{account_id}/trusted", headers=bearer(tokens),
                    json={"phone": helper["user"]["phone"], "access": "full"})
    wait_grants(sys, helper["user"]["id"], account_id, "full")
    assert submit(sys, helper, account_id, [3007]).status_code == 201

    revoked = sys.client.delete(f"{API}/accounts/{account_id}/trusted/{helper['user']['id']}",
                                headers=bearer(tokens))
    assert revoked.status_code == 204
    eventually(lambda: sys.client.get(history, headers=bearer(helper)).status_code == 404,
               what="the helper losing access")
    wait_grants(sys, helper["user"]["id"], account_id, None)

    assert sys.client.delete(f"{API}/accounts/{account_id}",
                             headers=bearer(tokens)).status_code == 204
    wait_grants(sys, tokens["user"]["id"], account_id, None)
    for path in ("meters", "debt", "documents", "bills"):
        response = sys.client.get(f"{API}/accounts/{account_id}/{path}", headers=bearer(tokens))
        assert response.status_code == 404, (path, response.json)


def test_a_grant_whose_event_has_not_arrived_is_asked_of_accounts_and_kept(sys):
    owner = register_by_phone(sys, new_phone())
    account_id = link(sys, owner, post_account(sys)).json["id"]
    wait_grants(sys, owner["user"]["id"], account_id, "full")
    # as if the event were still on its way (or the link older than the copy)
    for service in SERVICES:
        _query(sys, service, "DELETE FROM account_grants WHERE user_id = :u",
               u=owner["user"]["id"])
    assert sys.client.get(f"{API}/accounts/{account_id}/debt",
                          headers=bearer(owner)).status_code == 200
    assert grant(sys, "payments", owner["user"]["id"], account_id) == ("full", False, 1)
    # a stranger's refusal is not remembered
    stranger = register_by_phone(sys, new_phone())
    assert sys.client.get(f"{API}/accounts/{account_id}/debt",
                          headers=bearer(stranger)).status_code == 404
    assert grant(sys, "payments", stranger["user"]["id"], account_id) is None


def test_a_deleted_users_grants_go(sys):
    owner = register_by_phone(sys, new_phone())
    account_id = link(sys, owner, post_account(sys)).json["id"]
    wait_grants(sys, owner["user"]["id"], account_id, "full")
    with accounts_down(sys):  # auth's user_deleted alone, before accounts' account_unlinked
        deleted = sys.client.post(f"{API}/auth/me/delete", headers=bearer(owner),
                                  json={"password": PASSWORD})
        assert deleted.status_code in (200, 202, 204), deleted.json
        for service in SERVICES:
            eventually(lambda: grant(sys, service, owner["user"]["id"], account_id) is None,
                       what=f"{service} forgetting the deleted user's grant")
    # accounts' account_unlinked then may leave a tombstone, which grants nothing
    wait_grants(sys, owner["user"]["id"], account_id, None)


@contextmanager
def readings_restarted_empty(sys) -> Iterator[None]:
    """Readings as on the first start after this change: its copy of the grants empty."""
    sys.runner.service_map["readings"].stop()
    _query(sys, "readings", "DELETE FROM account_grants")
    _query(sys, "readings", "DELETE FROM account_grants_load")
    container = ServiceContainer(ReadingsService, sys.config)
    container.start()
    sys.runner.service_map["readings"] = container
    yield


def test_links_made_before_the_copy_are_loaded_from_accounts_at_start(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    with readings_restarted_empty(sys):
        eventually(lambda: _query(sys, "readings", "SELECT 1 FROM account_grants_load "
                                  "WHERE loaded_at IS NOT NULL"), what="the load finishing")
        assert grant(sys, "readings", tokens["user"]["id"], account_id)[:2] == ("full", False)
        with accounts_down(sys):
            assert sys.client.get(f"{API}/accounts/{account_id}/meters",
                                  headers=bearer(tokens)).status_code == 200
