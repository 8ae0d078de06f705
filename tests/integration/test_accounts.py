"""ДОБАВЛЕНИЕ ЛИЦЕВОГО СЧЕТА: billing posts the registry over the bus; a customer links an
account with number, branch and proof; family members and trusted persons; paperless bills;
and no user ever reaches another user's account."""
from __future__ import annotations

import itertools

import pytest

from tests.integration.helpers import bearer, error, new_phone, register_by_email, register_by_phone

API = "/api/v1"
_numbers = itertools.count(500000000)


def post_account(sys, number: str | None = None, branch: str = "mostovskoy",
                 serial: str = "1000911502333", **extra) -> str:
    """Billing opens an account with one meter; returns its number."""
    number = number or str(next(_numbers))
    sys.billing("account_upserted", {
        "number": number, "branch": branch, "holder_name": "Петров Иван Сергеевич",
        "address": "х. Садовый, ул. Ореховая д.№99Б лит. А корп. 8 кв.35",
        "contract_number": "Д-1", "contract_date": "2015-03-01", "gis_id": "90BB144120-11",
        "tariff_category": "urban", **extra})
    if serial:
        sys.billing("meter_installed", {
            "number": number, "branch": branch, "serial": serial, "zones": 1, "digits": 5,
            "installed_on": "2015-03-01", "verification_due": "2031-03-01"})
    return number


def link(sys, tokens, number, proof="2333", branch="mostovskoy", **extra):
    return sys.client.post(f"{API}/accounts", headers=bearer(tokens),
                           json={"number": number, "branch": branch, "proof": proof, **extra})


@pytest.fixture
def customer(sys):
    return register_by_phone(sys, new_phone())


def test_branches_for_the_selector(sys):
    response = sys.client.get(f"{API}/accounts/branches")
    assert response.status_code == 200
    mostovskoy = next(b for b in response.json["branches"] if b["code"] == "mostovskoy")
    assert (mostovskoy["name"], mostovskoy["city"]) == ("Мостэнергосбыт", "Мостовской")
    assert mostovskoy["phone"] == "5-90-25"  # the contacts printed on the bill
    assert response.json["supplier"]["name"] == "АО «НЭСК»"


def test_the_manuals_flow_from_empty_cabinet_to_a_linked_account(sys, customer):
    assert sys.client.get(f"{API}/accounts", headers=bearer(customer)).json == []
    number = post_account(sys)
    tap = sys.tap("accounts")
    response = link(sys, customer, number)
    assert response.status_code == 201, response.json
    account = response.json
    assert account["holder_name"] == "Петров Иван Сергеевич"
    assert account["branch_name"] == "Мостэнергосбыт"
    assert account["meters"][0]["serial"] == "1000911502333"
    assert account["role"] == "holder" and account["access"] == "full"
    listed = sys.client.get(f"{API}/accounts", headers=bearer(customer)).json
    assert [a["number"] for a in listed] == [number]
    event = tap.wait_for("account_linked", lambda p: p["user_id"] == customer["user"]["id"])
    assert event["payload"]["number"] == number and event["payload"]["branch"] == "mostovskoy"
    tap.close()


@pytest.mark.parametrize("body,status,field,reason", [
    ({"number": "12AB5", "branch": "mostovskoy", "proof": "2333"}, 422, "number", "5 to 20 digits"),
    ({"number": "123456789", "branch": "moscow", "proof": "2333"}, 422, "branch", "unknown branch"),
    ({"number": "123456789", "branch": "mostovskoy", "proof": "23"}, 422, "proof", "4 characters"),
    ({"number": "123456789", "branch": "mostovskoy"}, 400, "proof", None),
])
def test_malformed_requests_name_the_field(sys, customer, body, status, field, reason):
    response = sys.client.post(f"{API}/accounts", headers=bearer(customer), json=body)
    assert response.status_code == status
    assert field in error(response)["fields"]
    if reason:
        assert error(response)["field_codes"][field] == reason


def test_not_found_wrong_proof_already_linked(sys, customer):
    number = post_account(sys)
    missing = link(sys, customer, number, branch="anapa")
    assert missing.status_code == 404 and error(missing)["field_codes"] == {
        "number": "not found in this branch"}
    wrong = link(sys, customer, number, proof="9999")
    assert wrong.status_code == 422 and error(wrong)["field_codes"] == {"proof": "does not match"}
    assert link(sys, customer, number).status_code == 201
    again = link(sys, customer, number)
    assert again.status_code == 409 and error(again)["field_codes"] == {"number": "already linked"}


def test_guessing_is_rate_limited(sys, customer):
    number = post_account(sys)
    for _ in range(sys.config["LINK_ATTEMPTS_HOURLY"]):
        assert link(sys, customer, number, proof="0000").status_code == 422
    limited = link(sys, customer, number)  # even the right proof, for an hour
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    sys.clock.advance(hours=1, seconds=1)
    fresh = sys.client.post(f"{API}/auth/token/refresh",
                            json={"refresh_token": customer["refresh_token"]}).json
    assert link(sys, fresh, number).status_code == 201


def test_account_without_meter_is_proved_by_its_gis_id(sys, customer):
    number = post_account(sys, serial="", gis_id="90BB144120-77")
    assert link(sys, customer, number, proof="2077").status_code == 201


def test_family_members_each_link_with_the_proof(sys, customer):
    number = post_account(sys)
    spouse = register_by_phone(sys, new_phone())
    assert link(sys, customer, number).status_code == 201
    assert link(sys, spouse, number).status_code == 201
    for tokens in (customer, spouse):
        assert [a["number"] for a in sys.client.get(f"{API}/accounts",
                                                    headers=bearer(tokens)).json] == [number]


def test_nobody_reaches_another_users_account(sys, customer):
    number = post_account(sys)
    account_id = link(sys, customer, number).json["id"]
    stranger = register_by_phone(sys, new_phone())
    h = bearer(stranger)
    base = f"{API}/accounts/{account_id}"
    attempts = [
        sys.client.get(base, headers=h),
        sys.client.delete(base, headers=h),
        sys.client.put(f"{base}/paperless", headers=h, json={"paperless": False}),
        sys.client.post(f"{base}/trusted", headers=h, json={"phone": new_phone()}),
        sys.client.delete(f"{base}/trusted/{customer['user']['id']}", headers=h),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert sys.client.get(base, headers=bearer(customer)).status_code == 200
    assert sys.client.get(f"{API}/accounts/{account_id}").status_code == 401


def test_unlink(sys, customer):
    number = post_account(sys)
    account_id = link(sys, customer, number).json["id"]
    tap = sys.tap("accounts")
    assert sys.client.delete(f"{API}/accounts/{account_id}", headers=bearer(customer)).status_code == 204
    assert sys.client.get(f"{API}/accounts", headers=bearer(customer)).json == []
    tap.wait_for("account_unlinked", lambda p: p["account_id"] == account_id)
    tap.close()
    assert link(sys, customer, number).status_code == 201  # and back again


def test_paperless_needs_a_confirmed_email_and_tells_billing(sys, customer):
    number = post_account(sys)
    account_id = link(sys, customer, number).json["id"]
    refused = sys.client.put(f"{API}/accounts/{account_id}/paperless", headers=bearer(customer),
                             json={"paperless": True})
    assert refused.status_code == 422 and error(refused)["field_codes"] == {
        "paperless": "no confirmed e-mail"}

    by_email = register_by_email(sys, f"bills{account_id}@example.ru")
    sys.wait_contact(by_email["user"]["id"])
    tap = sys.tap("accounts")
    linked = link(sys, by_email, number, paperless=True)
    assert linked.status_code == 201 and linked.json["paperless"] is True
    event = tap.wait_for("paperless_consent_changed",
                         lambda p: p["user_id"] == by_email["user"]["id"])
    assert event["payload"]["email"] == f"bills{account_id}@example.ru"
    off = sys.client.put(f"{API}/accounts/{linked.json['id']}/paperless", headers=bearer(by_email),
                         json={"paperless": False})
    assert off.status_code == 200 and off.json["paperless"] is False
    tap.close()


def test_trusted_person_read_only_then_revoked(sys, customer):
    number = post_account(sys)
    account_id = link(sys, customer, number).json["id"]
    helper_phone = new_phone()
    helper = register_by_phone(sys, helper_phone)
    sys.wait_contact(helper["user"]["id"])
    granted = sys.client.post(f"{API}/accounts/{account_id}/trusted", headers=bearer(customer),
                              json={"phone": f"8{helper_phone[2:]}", "access": "read"})
    assert granted.status_code == 201, granted.json
    assert granted.json["trusted"][0]["user_id"] == helper["user"]["id"]
    seen = sys.client.get(f"{API}/accounts/{account_id}", headers=bearer(helper))
    assert seen.status_code == 200 and seen.json["access"] == "read"
    told = sys.client.get(f"{API}/notices", headers=bearer(helper)).json["items"]
    assert [n["kind"] for n in told] == ["access_granted"] and number in told[0]["body"]
    read_only = sys.client.put(f"{API}/accounts/{account_id}/paperless", headers=bearer(helper),
                               json={"paperless": False})
    assert read_only.status_code == 403
    cannot_grant = sys.client.post(f"{API}/accounts/{account_id}/trusted", headers=bearer(helper),
                                   json={"phone": new_phone()})
    assert cannot_grant.status_code == 403
    holder_view = sys.client.get(f"{API}/accounts/{account_id}", headers=bearer(customer)).json
    assert [t["user_id"] for t in holder_view["trusted"]] == [helper["user"]["id"]]
    revoked = sys.client.delete(f"{API}/accounts/{account_id}/trusted/{helper['user']['id']}",
                                headers=bearer(customer))
    assert revoked.status_code == 204
    assert sys.client.get(f"{API}/accounts/{account_id}", headers=bearer(helper)).status_code == 404

    # Given access again: a new grant, told again (on SQLite the new link reuses the old id).
    again = sys.client.post(f"{API}/accounts/{account_id}/trusted", headers=bearer(customer),
                            json={"phone": helper_phone, "access": "full"})
    assert again.status_code == 201, again.json
    told = sys.client.get(f"{API}/notices", headers=bearer(helper)).json["items"]
    assert [n["kind"] for n in told] == ["access_granted", "access_granted"]


def test_grant_to_an_unknown_contact_is_404(sys, customer):
    account_id = link(sys, customer, post_account(sys)).json["id"]
    response = sys.client.post(f"{API}/accounts/{account_id}/trusted", headers=bearer(customer),
                               json={"email": "nobody-here@example.ru"})
    assert response.status_code == 404 and error(response)["field_codes"] == {"email": "no such user"}


def test_contract_request_is_stored_and_announced(sys, customer):
    tap = sys.tap("accounts")
    response = sys.client.post(f"{API}/contract-requests", headers=bearer(customer), json={
        "branch": "krasnodar", "full_name": "Сидорова Анна Петровна",
        "address": "г. Краснодар, ул. Красная, д. 1, кв. 2", "phone": "8 918 000-00-01"})
    assert response.status_code == 201 and response.json["phone"] == "+79180000001"
    tap.wait_for("contract_requested", lambda p: p["request_id"] == response.json["request_id"])
    tap.close()
    missing = sys.client.post(f"{API}/contract-requests", headers=bearer(customer), json={
        "branch": "krasnodar", "full_name": " ", "address": "г. Краснодар"})
    assert missing.status_code == 422 and error(missing)["field_codes"] == {"full_name": "required"}


def test_ownership_rule_other_services_ask(sys, customer):
    account_id = link(sys, customer, post_account(sys)).json["id"]
    pool = sys.client.application.extensions["rpc"]
    mine = pool.call("accounts", "check_access",
                     {"authorization": customer["access_token"]}, account_id=account_id,
                     need="full")
    assert mine["access"] == "full"
    stranger = register_by_phone(sys, new_phone())
    from shared.errors import NotFound
    with pytest.raises(NotFound):
        pool.call("accounts", "check_access", {"authorization": stranger["access_token"]},
                  account_id=account_id)


def test_meter_changes_flow_to_readings_as_events(sys, customer):
    number = post_account(sys)
    tap = sys.tap("accounts")
    sys.billing("meter_removed", {"number": number, "branch": "mostovskoy",
                                  "serial": "1000911502333", "removed_on": "2026-11-01"})
    sys.billing("meter_installed", {"number": number, "branch": "mostovskoy",
                                    "serial": "2200000000017", "zones": 2, "digits": 6,
                                    "installed_on": "2026-11-01"})
    tap.wait_for("meter_unregistered", lambda p: p["serial"] == "1000911502333")
    tap.wait_for("meter_registered", lambda p: p["serial"] == "2200000000017" and p["zones"] == 2)
    tap.close()
    # The bill now shows the new meter: its digits are the proof.
    assert link(sys, customer, number, proof="0017").status_code == 201


def test_a_billing_event_delivered_twice_changes_nothing_twice(sys):
    from tests.integration.bus import publish, wait_handled

    number = str(next(_numbers))
    payload = {"number": number, "branch": "anapa", "holder_name": "Иванов И. И.",
               "address": "г. Анапа", "tariff_category": "rural"}
    envelope = publish(sys.amqp_uri, "billing", "account_upserted", payload)
    publish(sys.amqp_uri, "billing", "account_upserted", {**payload, "holder_name": "Другой"},
            event_id=envelope["id"])  # a redelivery under the same id
    wait_handled(sys.config["ACCOUNTS_DATABASE_URL"], envelope["id"])
    marker = post_account(sys, branch="anapa", serial="")  # processed after both
    assert marker
    from sqlalchemy import create_engine, text

    engine = create_engine(sys.config["ACCOUNTS_DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT holder_name FROM accounts WHERE number = :n"),
                                  {"n": number}).all()
    engine.dispose()
    assert rows == [("Иванов И. И.",)]


def test_a_deleted_user_loses_the_links(sys):
    owner = register_by_phone(sys, new_phone())
    number = post_account(sys)
    account_id = link(sys, owner, number).json["id"]
    tap = sys.tap("accounts")
    sys.client.post(f"{API}/auth/me/delete", headers=bearer(owner), json={"password": "Lampochka-2026"})
    tap.wait_for("account_unlinked", lambda p: p["account_id"] == account_id
                 and p["user_id"] == owner["user"]["id"])
    tap.close()
