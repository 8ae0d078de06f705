"""«Забыли пароль?»: recovery by SMS code or by e-mail link; every session ends after it."""
from __future__ import annotations

import re

from tests.integration.helpers import (PASSWORD, bearer, error, login, new_phone,
                                       register_by_email, register_by_phone)

API = "/api/v1/auth"
NEW = "Schetchik-Novyi-9"


def test_reset_by_sms_ends_every_session(sys):
    phone = new_phone()
    tokens = register_by_phone(sys, phone)
    tap = sys.tap()
    started = sys.client.post(f"{API}/password/forgot/phone", json={"phone": phone, **sys.captcha()})
    assert started.status_code == 202
    assert "восстановления пароля" in sys.last_sms(phone)
    reset = sys.client.post(f"{API}/password/reset/phone", json={
        "verification_id": started.json["verification_id"], "code": sys.sms_code(phone),
        "password": NEW, "password_confirmation": NEW})
    assert reset.status_code == 200, reset.json

    assert sys.client.get(f"{API}/me", headers=bearer(tokens)).status_code == 401
    assert sys.client.post(f"{API}/token/refresh",
                           json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert login(sys, phone=phone).status_code == 401
    assert login(sys, phone=phone, password=NEW).status_code == 200
    tap.wait_for("password_changed", lambda p: p == {"user_id": tokens["user"]["id"],
                                                     "reason": "reset"})
    tap.close()


def test_reset_by_sms_for_an_unknown_phone_looks_the_same_and_sends_no_code(sys):
    """One SMS as for a registered number (no timing tell), but a notice without a code."""
    phone = new_phone()
    started = sys.client.post(f"{API}/password/forgot/phone", json={"phone": phone, **sys.captcha()})
    assert started.status_code == 202 and set(started.json) == {
        "verification_id", "phone", "expires_in", "resend_in"}
    notice = sys.last_sms(phone)
    assert "не зарегистрирован" in notice and not re.search(r"\d{6}", notice)
    sys.clock.advance(seconds=sys.config["SMS_RESEND_COOLDOWN"] + 1)
    resent = sys.client.post(f"{API}/sms/resend",
                             json={"verification_id": started.json["verification_id"]})
    assert resent.status_code == 202, resent.json
    assert len([m for m in sys.sms.messages if m["to"] == phone]) == 2
    guess = sys.client.post(f"{API}/password/reset/phone", json={
        "verification_id": started.json["verification_id"], "code": "123456",
        "password": NEW, "password_confirmation": NEW})
    assert guess.status_code == 422 and error(guess)["field_codes"]["code"] == "wrong"


def test_weak_new_password_keeps_the_code_usable(sys):
    phone = new_phone()
    register_by_phone(sys, phone)
    started = sys.client.post(f"{API}/password/forgot/phone", json={"phone": phone, **sys.captcha()})
    body = {"verification_id": started.json["verification_id"], "code": sys.sms_code(phone)}
    weak = sys.client.post(f"{API}/password/reset/phone",
                           json={**body, "password": "short", "password_confirmation": "short"})
    assert weak.status_code == 422 and "password" in error(weak)["fields"]
    ok = sys.client.post(f"{API}/password/reset/phone",
                         json={**body, "password": NEW, "password_confirmation": NEW})
    assert ok.status_code == 200
    again = sys.client.post(f"{API}/password/reset/phone",
                            json={**body, "password": NEW, "password_confirmation": NEW})
    assert again.status_code == 410


def test_reset_by_email_link(sys):
    email = "forgot@example.ru"
    tokens = register_by_email(sys, email)
    sys.mail.clear()
    asked = sys.client.post(f"{API}/password/forgot/email", json={"email": email, **sys.captcha()})
    unknown = sys.client.post(f"{API}/password/forgot/email",
                              json={"email": "nobody@example.ru", **sys.captcha()})
    assert asked.status_code == unknown.status_code == 202 and asked.json == unknown.json
    # One letter each (no timing tell); the unknown address's has no link.
    assert [m["to"] for m in sys.mail.messages] == [email, "nobody@example.ru"]
    assert "не зарегистрирован" in sys.mail.messages[1]["body"]
    assert "token=" not in sys.mail.messages[1]["body"]
    token = sys.mail_link(email)
    mismatch = sys.client.post(f"{API}/password/reset/email", json={
        "token": token, "password": NEW, "password_confirmation": NEW + "x"})
    assert mismatch.status_code == 422 and "password_confirmation" in error(mismatch)["fields"]
    reset = sys.client.post(f"{API}/password/reset/email", json={
        "token": token, "password": NEW, "password_confirmation": NEW})
    assert reset.status_code == 200
    assert sys.client.get(f"{API}/me", headers=bearer(tokens)).status_code == 401
    assert login(sys, email=email, password=NEW).status_code == 200
    reused = sys.client.post(f"{API}/password/reset/email", json={
        "token": token, "password": PASSWORD, "password_confirmation": PASSWORD})
    assert reused.status_code == 410


def test_a_registration_link_cannot_reset_a_password(sys):
    email = "purpose@example.ru"
    sys.client.post(f"{API}/register/email", json={
        "email": email, "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": "2025-09-01", **sys.captcha()})
    response = sys.client.post(f"{API}/password/reset/email", json={
        "token": sys.mail_link(email), "password": NEW, "password_confirmation": NEW})
    assert response.status_code == 422 and error(response)["field_codes"]["token"] == "wrong purpose"


def test_reset_unlocks_a_locked_identity(sys):
    phone = new_phone()
    register_by_phone(sys, phone)
    for _ in range(sys.config["LOGIN_LOCK_AFTER"]):
        sys.clock.advance(seconds=200)
        login(sys, phone=phone, password="wrong-password-1")
    assert login(sys, phone=phone).status_code == 423
    started = sys.client.post(f"{API}/password/forgot/phone", json={"phone": phone, **sys.captcha()})
    sys.client.post(f"{API}/password/reset/phone", json={
        "verification_id": started.json["verification_id"], "code": sys.sms_code(phone),
        "password": NEW, "password_confirmation": NEW})
    assert login(sys, phone=phone, password=NEW).status_code == 200
