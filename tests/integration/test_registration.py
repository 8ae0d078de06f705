"""РЕГИСТРАЦИЯ: by phone (captcha, SMS code, password) and by e-mail (link), through the
gateway, the real broker and the real databases (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from tests.integration.helpers import (CONSENT, PASSWORD, bearer, error, new_phone,
                                       register_by_email, register_by_phone)

API = "/api/v1/auth"


@pytest.mark.parametrize("typed", ["+7 (918) {a}-{b}-{c}", "8 918 {a} {b} {c}", "8918{a}{b}{c}",
                                   "+7-918-{a}-{b}-{c}"])
def test_register_by_phone_in_any_usual_form(sys, typed):
    digits = new_phone()[-7:]
    phone = typed.format(a=digits[:3], b=digits[3:5], c=digits[5:])
    tap = sys.tap()

    result = register_by_phone(sys, phone)

    assert result["message"] == "Вы успешно зарегистрировались"
    assert result["user"]["phone"] == f"+7918{digits}"
    me = sys.client.get(f"{API}/me", headers=bearer(result))
    assert me.status_code == 200 and me.json["phone"] == f"+7918{digits}"
    registered = tap.wait_for("user_registered", lambda p: p["user_id"] == result["user"]["id"])
    assert registered["producer"] == "auth" and registered["version"] == 1
    assert registered["payload"]["consent_version"] == CONSENT
    tap.wait_for("contact_confirmed", lambda p: p["user_id"] == result["user"]["id"])
    tap.close()


def test_sms_is_sent_through_twilio_with_the_code(sys):
    phone = new_phone()
    response = sys.client.post(f"{API}/register/phone", json={"phone": phone, **sys.captcha()})
    assert response.status_code == 202
    assert response.json["phone"].endswith(phone[-4:]) and phone not in response.json["phone"]
    assert "код подтверждения регистрации" in sys.last_sms(phone)


def test_malformed_phone_is_named(sys):
    response = sys.client.post(f"{API}/register/phone", json={"phone": "12-34", **sys.captcha()})
    assert response.status_code == 422
    assert "phone" in error(response)["fields"]


def test_wrong_captcha_and_reused_captcha(sys):
    captcha = sys.captcha()
    wrong = sys.client.post(f"{API}/register/phone", json={
        "phone": new_phone(), "captcha_id": captcha["captcha_id"], "captcha_answer": "NOPE1"})
    assert wrong.status_code == 422 and "captcha_answer" in error(wrong)["fields"]
    reused = sys.client.post(f"{API}/register/phone", json={"phone": new_phone(), **captcha})
    assert reused.status_code == 422 and error(reused)["field_codes"]["captcha_id"] == "unknown or used"


def test_missing_and_unknown_fields_are_named(sys):
    response = sys.client.post(f"{API}/register/phone", json={"phone": new_phone(), "x": 1})
    body = error(response)
    assert response.status_code == 400
    assert set(body["fields"]) == {"captcha_id", "captcha_answer", "x"}
    not_json = sys.client.post(f"{API}/register/phone", data="phone=1")
    assert not_json.status_code == 400 and "body" in error(not_json)["fields"]


def _start(sys, phone):
    response = sys.client.post(f"{API}/register/phone", json={"phone": phone, **sys.captcha()})
    assert response.status_code == 202, response.json
    return response.json["verification_id"]


def test_wrong_code_then_attempts_run_out(sys):
    phone = new_phone()
    verification_id = _start(sys, phone)
    right = sys.sms_code(phone)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        response = sys.client.post(f"{API}/register/phone/verify",
                                   json={"verification_id": verification_id, "code": wrong})
        assert response.status_code == 422
        assert f"осталось попыток: {left}" in error(response)["message"]
    response = sys.client.post(f"{API}/register/phone/verify",
                               json={"verification_id": verification_id, "code": right})
    assert response.status_code == 410 and error(response)["field_codes"]["code"] == "too many attempts"


def test_expired_code(sys):
    phone = new_phone()
    verification_id = _start(sys, phone)
    sys.clock.advance(seconds=sys.config["SMS_CODE_TTL"] + 1)
    response = sys.client.post(f"{API}/register/phone/verify", json={
        "verification_id": verification_id, "code": sys.sms_code(phone)})
    assert response.status_code == 410 and error(response)["field_codes"]["code"] == "expired"


def test_resend_cooldown_then_new_code(sys):
    phone = new_phone()
    verification_id = _start(sys, phone)
    first = sys.sms_code(phone)
    too_soon = sys.client.post(f"{API}/sms/resend", json={"verification_id": verification_id})
    assert too_soon.status_code == 429
    assert int(too_soon.headers["Retry-After"]) > 0 and error(too_soon)["retry_after"] > 0
    sys.clock.advance(seconds=sys.config["SMS_RESEND_COOLDOWN"] + 1)
    resent = sys.client.post(f"{API}/sms/resend", json={"verification_id": verification_id})
    assert resent.status_code == 202
    second = sys.sms_code(phone)
    if first != second:
        stale = sys.client.post(f"{API}/register/phone/verify",
                                json={"verification_id": verification_id, "code": first})
        assert stale.status_code == 422
    ok = sys.client.post(f"{API}/register/phone/verify",
                         json={"verification_id": verification_id, "code": second})
    assert ok.status_code == 200


def test_hourly_limit_per_phone(sys):
    phone = new_phone()
    for _ in range(sys.config["SMS_PER_PHONE_HOURLY"]):
        _start(sys, phone)
        sys.clock.advance(seconds=sys.config["SMS_RESEND_COOLDOWN"] + 1)
    response = sys.client.post(f"{API}/register/phone", json={"phone": phone, **sys.captcha()})
    assert response.status_code == 429 and error(response)["field_codes"]["phone"] == "hourly limit"


def test_hourly_limit_per_ip(sys):
    client_ip = {"REMOTE_ADDR": "198.51.100.7"}
    statuses = []
    for _ in range(sys.config["SMS_PER_IP_HOURLY"] + 1):
        response = sys.client.post(f"{API}/register/phone", environ_base=client_ip,
                                   json={"phone": new_phone(), **sys.captcha()})
        statuses.append(response.status_code)
    assert statuses[:-1] == [202] * sys.config["SMS_PER_IP_HOURLY"]
    assert statuses[-1] == 429


def _verified_token(sys):
    phone = new_phone()
    verification_id = _start(sys, phone)
    verified = sys.client.post(f"{API}/register/phone/verify", json={
        "verification_id": verification_id, "code": sys.sms_code(phone)})
    return verified.json["registration_token"]


@pytest.mark.parametrize("password,confirmation,field,reason", [
    ("12345", "12345", "password", "shorter than 6 characters"),
    ("qwerty123", "qwerty123", "password", "too common"),
    ("Lampochka-2026", "Lampochka-2027", "password_confirmation", "does not match"),
])
def test_password_rules(sys, password, confirmation, field, reason):
    token = _verified_token(sys)
    response = sys.client.post(f"{API}/register/phone/complete", json={
        "registration_token": token, "password": password,
        "password_confirmation": confirmation, "consent_version": CONSENT})
    assert response.status_code == 422 and error(response)["field_codes"] == {field: reason}
    # The verified phone is not lost: a good password still completes the registration.
    retry = sys.client.post(f"{API}/register/phone/complete", json={
        "registration_token": token, "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": CONSENT})
    assert retry.status_code == 201


def test_consent_is_required_and_recorded(sys):
    token = _verified_token(sys)
    consent = sys.client.get(f"{API}/consent").json
    assert (consent["document"], consent["version"]) == ("personal_data_processing", CONSENT)
    refused = sys.client.post(f"{API}/register/phone/complete", json={
        "registration_token": token, "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": "2019-01-01"})
    assert refused.status_code == 422 and "consent_version" in error(refused)["fields"]
    done = sys.client.post(f"{API}/register/phone/complete", json={
        "registration_token": token, "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": CONSENT})
    export = sys.client.get(f"{API}/me/export", headers=bearer(done.json)).json
    assert [(c["document"], c["version"]) for c in export["consents"]] == [
        ("personal_data_processing", CONSENT)]


def test_registration_token_is_single_use(sys):
    token = _verified_token(sys)
    body = {"registration_token": token, "password": PASSWORD, "password_confirmation": PASSWORD,
            "consent_version": CONSENT}
    assert sys.client.post(f"{API}/register/phone/complete", json=body).status_code == 201
    again = sys.client.post(f"{API}/register/phone/complete", json=body)
    assert again.status_code == 410


def test_registered_phone_gets_no_code_and_the_caller_cannot_tell(sys):
    phone = new_phone()
    register_by_phone(sys, phone)
    sys.clock.advance(seconds=sys.config["SMS_RESEND_COOLDOWN"] + 1)
    response = sys.client.post(f"{API}/register/phone", json={"phone": phone, **sys.captcha()})
    assert response.status_code == 202 and set(response.json) == {
        "verification_id", "phone", "expires_in", "resend_in"}
    assert "уже зарегистрирован" in sys.last_sms(phone)


def test_register_by_email_and_follow_the_link(sys):
    tap = sys.tap()
    result = register_by_email(sys, "Ivan.Petrov@Yandex.RU")
    assert result["user"]["email"] == "ivan.petrov@yandex.ru"
    assert result["user"]["email_confirmed"] is True
    assert sys.mail.messages[-1]["subject"] == "Подтверждение регистрации в личном кабинете НЭСК"
    tap.wait_for("contact_confirmed", lambda p: p["channel"] == "email"
                 and p["value"] == "ivan.petrov@yandex.ru")
    tap.close()


def test_email_link_is_single_use_signed_and_expiring(sys):
    email = "single.use@example.ru"
    register_by_email(sys, email)
    token = sys.mail_link(email)
    again = sys.client.get(f"{API}/register/email/confirm", query_string={"token": token})
    assert again.status_code == 410 and error(again)["field_codes"]["token"] == "already used"

    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    bad = sys.client.post(f"{API}/register/email/confirm", json={"token": tampered})
    assert bad.status_code == 422 and "token" in error(bad)["fields"]

    email = "late@example.ru"
    sys.client.post(f"{API}/register/email", json={
        "email": email, "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": CONSENT, **sys.captcha()})
    sys.clock.advance(seconds=sys.config["EMAIL_LINK_TTL"] + 1)
    late = sys.client.get(f"{API}/register/email/confirm",
                          query_string={"token": sys.mail_link(email)})
    assert late.status_code == 410 and error(late)["field_codes"]["token"] == "expired"


def test_email_registration_validates_every_field(sys):
    response = sys.client.post(f"{API}/register/email", json={
        "email": "not-an-email", "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": CONSENT, **sys.captcha()})
    assert response.status_code == 422 and "email" in error(response)["fields"]
    response = sys.client.post(f"{API}/register/email", json={
        "email": "weak@example.ru", "password": "123456", "password_confirmation": "123456",
        "consent_version": CONSENT, **sys.captcha()})
    assert response.status_code == 422 and error(response)["field_codes"] == {"password": "too common"}


def test_already_registered_email_gets_a_notice_with_a_reset_link(sys):
    """The same work as a new address (a link row, a token, a letter: no timing tell); the
    owner's letter offers a password reset, not a second registration."""
    register_by_email(sys, "twice@example.ru")
    sys.mail.clear()
    response = sys.client.post(f"{API}/register/email", json={
        "email": "twice@example.ru", "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": CONSENT, **sys.captcha()})
    assert response.status_code == 202
    body = sys.mail.messages[-1]["body"]
    assert "уже зарегистрирован" in body and "/reset-password?token=" in body
    assert "/register/email/confirm" not in body
    new = "Schetchik-Novyi-9"
    reset = sys.client.post(f"{API}/password/reset/email", json={
        "token": sys.mail_link("twice@example.ru"), "password": new,
        "password_confirmation": new})
    assert reset.status_code == 200, reset.json
