"""Identity and personal data (issue 16): the login e-mail changed by a link, landlines as
contact numbers, blank passwords, the consent's text, bill photos kept only as long as
needed, and a deleted user's data in readings and payments."""
from __future__ import annotations

import base64
import io
import itertools
import json
import re
from typing import Any

from PIL import Image
from sqlalchemy import create_engine, text

from tests.integration.helpers import (CONSENT, PASSWORD, bearer, error, eventually, login,
                                       new_phone, register_by_email, register_by_phone)
from tests.integration.test_accounts import link, post_account
from tests.integration.test_readings import (customer_with_meter, in_window,  # noqa: F401
                                             month_day, submit)


API = "/api/v1"
LANDLINE = "8 (861) 255-55-55"  # Krasnodar: a fixed line, no SMS
_emails = itertools.count(1)


def new_email(name: str = "login") -> str:
    return f"{name}{next(_emails)}-{new_phone()[-7:]}@example.ru"


def letters(sys, to: str) -> list[dict[str, Any]]:
    return [m for m in sys.mail.messages if to.lower() in str(m["to"]).lower()]


def rows(sys, service: str, query: str, **params: Any) -> list[Any]:
    """What a service's own database holds now (read only: checks what the API cannot show,
    such as what was erased)."""
    engine = create_engine(sys.config[f"{service.upper()}_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query), params))
    finally:
        engine.dispose()


def change_login_email(sys, tokens, new: str, password: str = PASSWORD):
    return sys.client.post(f"{API}/auth/email/change", headers=bearer(tokens),
                           json={"new_email": new, "password": password})


def confirm_login_email(sys, token: str):
    return sys.client.post(f"{API}/auth/email/change/confirm", json={"token": token})


def login_email_link(sys, to: str) -> str:
    """The token of the latest letter to ``to``, checking the link lands on the cabinet."""
    body = letters(sys, to)[-1]["body"]
    assert f"{sys.config['PUBLIC_URL']}/profile/login-email/confirm?token=" in body, body
    return sys.mail_link(to)


# ---- the login e-mail ------------------------------------------------------------------------

def test_login_email_changes_only_by_the_link_and_the_old_address_is_told(sys):
    old, new = new_email("old"), new_email("new")
    tokens = register_by_email(sys, old)
    user_id = tokens["user"]["id"]
    sys.wait_contact(user_id)
    sys.mail.clear()

    wrong = change_login_email(sys, tokens, new, password="не тот пароль")
    assert wrong.status_code == 422 and error(wrong)["field_codes"] == {"password": "wrong"}
    same = change_login_email(sys, tokens, old.upper())
    assert same.status_code == 422 and error(same)["field_codes"] == {"new_email": "unchanged"}
    bad = change_login_email(sys, tokens, "not-an-address")
    assert bad.status_code == 422 and "new_email" in error(bad)["fields"]
    assert sys.mail.messages == []

    tap = sys.tap("auth")
    asked = change_login_email(sys, tokens, new)
    assert asked.status_code == 202, asked.json
    assert asked.json["email"] == new and "ссылк" in asked.json["message"]
    token = login_email_link(sys, new)
    notice = letters(sys, old)[-1]
    assert new in notice["body"] and "token=" not in notice["body"]
    assert "смените пароль" in notice["body"]
    # Nothing changed yet: the old address still signs in, the new one does not.
    assert login(sys, email=new).status_code == 401
    assert login(sys, email=old).status_code == 200

    done = confirm_login_email(sys, token)
    assert done.status_code == 200, done.json
    assert done.json["email"] == new and done.json["user"]["email"] == new
    event = tap.wait_for("login_email_changed", lambda p: p["user_id"] == user_id,
                         timeout=30)["payload"]
    tap.close()
    assert (event["old_email"], event["new_email"]) == (old, new)
    assert login(sys, email=new).status_code == 200
    assert login(sys, email=old).status_code == 401
    me = sys.client.get(f"{API}/auth/me", headers=bearer(tokens)).json
    assert me["email"] == new and me["email_confirmed"] is True
    # Accounts keeps the login contacts (paperless bills, trusted persons): it learnt it.
    eventually(lambda: rows(sys, "accounts", "SELECT 1 FROM contacts WHERE user_id = :u "
                            "AND email = :e", u=user_id, e=new),
               timeout=30, what="accounts learning the new login e-mail")

    again = confirm_login_email(sys, token)
    assert again.status_code == 410 and error(again)["field_codes"] == {"token": "already used"}


def test_an_address_of_another_user_gets_a_notice_and_the_caller_the_same_answer(sys):
    mine, taken, free = new_email("mine"), new_email("taken"), new_email("free")
    tokens = register_by_email(sys, mine)
    register_by_email(sys, taken)
    sys.mail.clear()

    to_taken = change_login_email(sys, tokens, taken)
    to_free = change_login_email(sys, tokens, free)
    assert to_taken.status_code == to_free.status_code == 202
    assert to_taken.json["message"] == to_free.json["message"]
    # The owner of the taken address alone learns why: a notice, no link.
    notice = letters(sys, taken)[-1]["body"]
    assert "уже используется" in notice and "token=" not in notice
    assert "token=" in letters(sys, free)[-1]["body"]
    # The old address is told of both requests alike.
    assert [taken in m["body"] for m in letters(sys, mine)] == [True, False]
    assert login(sys, email=taken).status_code == 200  # the other user is untouched


def test_a_password_change_stops_a_pending_login_email_change(sys):
    old, new = new_email("victim"), new_email("thief")
    tokens = register_by_email(sys, old)
    assert change_login_email(sys, tokens, new).status_code == 202
    token = login_email_link(sys, new)
    new_password = PASSWORD + "-2"
    changed = sys.client.post(f"{API}/auth/password/change", headers=bearer(tokens), json={
        "old_password": PASSWORD, "new_password": new_password,
        "new_password_confirmation": new_password})
    assert changed.status_code == 200, changed.json
    refused = confirm_login_email(sys, token)
    assert refused.status_code == 410
    assert error(refused)["field_codes"] == {"token": "password changed since"}
    assert login(sys, email=old, password=new_password).status_code == 200


def test_a_customer_registered_by_phone_adds_a_login_email(sys):
    tokens = register_by_phone(sys, new_phone())
    email = new_email("added")
    sys.mail.clear()
    assert change_login_email(sys, tokens, email).status_code == 202
    assert len(sys.mail.messages) == 1  # no old address to tell
    assert confirm_login_email(sys, login_email_link(sys, email)).status_code == 200
    assert login(sys, email=email).status_code == 200
    assert login(sys, phone=tokens["user"]["phone"]).status_code == 200


def test_letters_to_new_addresses_are_limited(sys):
    tokens = register_by_phone(sys, new_phone())
    for _ in range(5):
        assert change_login_email(sys, tokens, new_email("many")).status_code == 202
    limited = change_login_email(sys, tokens, new_email("many"))
    assert limited.status_code == 429 and limited.headers.get("Retry-After")
    sys.clock.advance(seconds=3601)
    tokens = login(sys, phone=tokens["user"]["phone"]).json
    assert change_login_email(sys, tokens, new_email("many")).status_code == 202


def test_a_bad_confirmation_token_is_a_clear_error(sys):
    for token in ("", "garbage"):
        response = confirm_login_email(sys, token)
        assert response.status_code in (400, 422), response.json
        assert error(response)["message"]
    tokens = register_by_phone(sys, new_phone())
    assert sys.client.post(f"{API}/auth/email/change", json={
        "new_email": new_email(), "password": PASSWORD}).status_code == 401
    assert sys.client.post(f"{API}/auth/email/change", headers=bearer(tokens), json={
        "new_email": new_email()}).status_code == 400


# ---- landlines, passwords, the consent ---------------------------------------------------------

def test_a_landline_is_a_contact_number_but_codes_go_to_mobiles_only(sys):
    tokens = register_by_phone(sys, new_phone())
    saved = sys.client.put(f"{API}/profile/contacts", headers=bearer(tokens),
                           json={"extra_phones": [LANDLINE, "8 918 111-22-33"]})
    assert saved.status_code == 200, saved.json
    profile = sys.client.get(f"{API}/profile", headers=bearer(tokens)).json
    assert profile["contacts"]["extra_phones"] == ["+78612555555", "+79181112233"]
    toll_free = sys.client.put(f"{API}/profile/contacts", headers=bearer(tokens),
                               json={"extra_phones": ["8 800 100-00-00"]})
    assert toll_free.status_code == 422
    assert error(toll_free)["field_codes"] == {"extra_phones": "not a mobile or landline number"}

    account_id = link(sys, tokens, post_account(sys)).json["id"]
    ordered = sys.client.post(f"{API}/requests", headers=bearer(tokens), json={
        "work": "meter_replacement", "message": "Счётчик не работает, прошу заменить",
        "account_id": account_id, "contact_phone": LANDLINE})
    assert ordered.status_code == 201, ordered.json
    assert ordered.json["contact_phone"] == "+78612555555"
    contract = sys.client.post(f"{API}/contract-requests", headers=bearer(tokens), json={
        "branch": "krasnodar", "full_name": "Сидорова Анна Петровна",
        "address": "г. Краснодар, ул. Красная, д. 1, кв. 2", "phone": LANDLINE})
    assert contract.status_code == 201 and contract.json["phone"] == "+78612555555"

    # The numbers SMS codes go to stay mobile-only.
    to_landline = sys.client.post(f"{API}/auth/phone/change", headers=bearer(tokens),
                                  json={"new_phone": LANDLINE})
    assert to_landline.status_code == 422
    assert error(to_landline)["field_codes"] == {"new_phone": "not a mobile number"}
    register = sys.client.post(f"{API}/auth/register/phone",
                               json={"phone": LANDLINE, **sys.captcha()})
    assert register.status_code == 422
    assert "мобильный" in error(register)["message"]


def test_a_password_of_spaces_is_refused_everywhere_it_is_set(sys):
    blank = "      "
    email = new_email("blank")
    registered = sys.client.post(f"{API}/auth/register/email", json={
        "email": email, "password": blank, "password_confirmation": blank,
        "consent_version": CONSENT, **sys.captcha()})
    assert registered.status_code == 422
    assert error(registered)["field_codes"] == {"password": "only whitespace"}
    assert "пробел" in error(registered)["message"]
    tokens = register_by_phone(sys, new_phone())
    changed = sys.client.post(f"{API}/auth/password/change", headers=bearer(tokens), json={
        "old_password": PASSWORD, "new_password": "\t" * 8,
        "new_password_confirmation": "\t" * 8})
    assert changed.status_code == 422
    assert error(changed)["field_codes"] == {"new_password": "only whitespace"}


def test_the_consent_gives_the_text_the_user_accepts(sys):
    consent = sys.client.get(f"{API}/auth/consent").json
    assert consent["version"] == CONSENT and consent["date"] == "2025-09-01"
    assert consent["document"] == "personal_data_processing"
    assert consent["title"] == "Согласие на обработку персональных данных"
    assert "152-ФЗ" in consent["text"] and "АО «НЭСК»" in consent["text"]
    assert re.search(r"^1\. Какие данные$", consent["text"], re.M)


# ---- bill photos and a deleted user's data -----------------------------------------------------

def blank_photo() -> str:
    """A photo (nothing on it): readings keeps it as an attempt the moment it is uploaded,
    with its job, whether an OCR worker has read it or not."""
    image = io.BytesIO()
    Image.new("RGB", (320, 320), "white").save(image, "PNG")
    return base64.b64encode(image.getvalue()).decode()


def read_photo(sys, tokens, account_id) -> str:
    response = sys.client.post(f"{API}/accounts/{account_id}/readings/photo",
                               headers=bearer(tokens), json={"image_base64": blank_photo()})
    assert response.status_code == 202, response.json
    return response.json["photo_id"]


def photo_ids(sys, account_id) -> set[str]:
    return {row[0] for row in rows(sys, "readings", "SELECT id FROM reading_photos "
                                   "WHERE account_id = :a", a=account_id)}


def job_photo_ids(sys, account_id) -> set[str]:
    """The photos of the account's photo jobs (a job holds what OCR read off its photo)."""
    return {row[0] for row in rows(sys, "readings", "SELECT photo_id FROM photo_jobs "
                                   "WHERE account_id = :a", a=account_id)}


def test_only_the_photo_that_became_a_reading_is_kept(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    used, attempt = read_photo(sys, tokens, account_id), read_photo(sys, tokens, account_id)
    sent = submit(sys, tokens, account_id, [3200], photo_id=used)
    assert sent.status_code == 201 and sent.json["source"] == "photo"

    hours = sys.config["PHOTO_RETENTION_HOURS"]
    sys.clock.advance(seconds=hours * 3600 - 60)
    assert sys.tick("readings", "purge_photo_attempts") == 0  # not yet
    assert photo_ids(sys, account_id) == {used, attempt}
    assert job_photo_ids(sys, account_id) == {used, attempt}
    sys.clock.advance(seconds=120)
    tokens = login(sys, phone=tokens["user"]["phone"]).json
    # Past its time the attempt counts as gone even before the timer runs.
    late = submit(sys, tokens, account_id, [3201], photo_id=attempt)
    assert late.status_code == 410 and error(late)["field_codes"] == {"photo_id": "expired"}
    assert sys.tick("readings", "purge_photo_attempts") >= 1
    assert photo_ids(sys, account_id) == {used}
    assert job_photo_ids(sys, account_id) == set()  # the jobs (OCR's results) go, all of them
    gone = submit(sys, tokens, account_id, [3201], photo_id=attempt)
    assert gone.status_code == 404 and error(gone)["field_codes"] == {"photo_id": "unknown"}
    history = sys.client.get(f"{API}/accounts/{account_id}/readings", headers=bearer(tokens)).json
    assert [r["source"] for r in history["items"]] == ["photo"]


def test_a_deleted_users_photos_cards_and_autopay_go_and_the_records_stay(sys, in_window):
    tokens, account_id, number = customer_with_meter(sys)
    user_id = tokens["user"]["id"]
    reading = submit(sys, tokens, account_id, [3200], photo_id=read_photo(sys, tokens, account_id))
    assert reading.status_code == 201
    read_photo(sys, tokens, account_id)  # an attempt, not yet old

    billed = month_day(sys, 1, 1)
    sys.billing_to("payments", "charge_posted", {"number": number, "branch": "mostovskoy",
                                                 "period": f"{billed:%Y-%m}", "amount": "150.00"})
    paid = sys.client.post(f"{API}/payments", headers=bearer(tokens), json={
        "idempotency_key": f"erase-{user_id}", "save_card": True,
        "items": [{"account_id": account_id, "kind": "electricity", "amount": "150.00"}]}).json
    ref = paid["action"]["confirmation_url"].rstrip("/").split("/")[-1]
    card = sys.client.post(f"{API}/payments/sandbox/{ref}", headers=bearer(tokens), json={
        "card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvc": "123"})
    assert card.json["status"] == "succeeded", card.json
    cards = sys.client.get(f"{API}/payments/cards", headers=bearer(tokens)).json
    on = sys.client.put(f"{API}/accounts/{account_id}/autopay", headers=bearer(tokens),
                        json={"card_ref": cards[0]["ref"]})
    assert on.status_code == 200, on.json
    (customer_ref,) = rows(sys, "payments", "SELECT customer_ref FROM customers "
                           "WHERE user_id = :u", u=user_id)[0]

    deleted = sys.client.post(f"{API}/auth/me/delete", headers=bearer(tokens),
                              json={"password": PASSWORD})
    assert deleted.status_code == 200, deleted.json

    # Payments: autopay off, the card detached at the provider, the customer forgotten...
    eventually(lambda: not rows(sys, "payments", "SELECT 1 FROM customers WHERE user_id = :u",
                                u=user_id), timeout=30, what="payments forgetting the customer")
    assert rows(sys, "payments", "SELECT 1 FROM autopays WHERE user_id = :u "
                "AND cancelled_at IS NULL", u=user_id) == []
    (sandbox_customer,) = rows(sys, "payments", "SELECT data FROM sandbox_intents "
                               "WHERE ref = :r", r=customer_ref)[0]
    if isinstance(sandbox_customer, str):  # SQLite hands JSON back as text
        sandbox_customer = json.loads(sandbox_customer)
    assert sandbox_customer["cards"] == []
    # ...and the payment itself stays, for the books, without the card's reference.
    (payment,) = rows(sys, "payments", "SELECT status, amount, card_ref, customer_ref "
                      "FROM payments WHERE user_id = :u", u=user_id)
    assert payment.status == "succeeded" and payment.card_ref is None
    assert payment.customer_ref is None

    # Readings: every photo of the user goes; the reading stays, no longer naming them.
    eventually(lambda: not rows(sys, "readings", "SELECT 1 FROM reading_photos "
                                "WHERE uploaded_by = :u", u=user_id),
               timeout=30, what="readings deleting the photos")
    eventually(lambda: rows(sys, "readings", "SELECT 1 FROM readings WHERE id = :r AND "
                            "submitted_by IS NULL", r=reading.json["id"]),
               timeout=30, what="readings forgetting who submitted")
    assert photo_ids(sys, account_id) == set()
    assert job_photo_ids(sys, account_id) == set()

