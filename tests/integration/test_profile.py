"""Профиль → Параметры авторизации (password, phone), the personal-data rights (export,
deletion) and the staff roles."""
from __future__ import annotations

import subprocess
import sys as python

from tests.integration.helpers import (PASSWORD, bearer, error, login, new_phone,
                                       register_by_phone)

API = "/api/v1/auth"
NEW = "Schetchik-Novyi-9"


def test_change_password_keeps_this_session_ends_the_others(sys):
    phone = new_phone()
    here = register_by_phone(sys, phone)
    elsewhere = login(sys, phone=phone).json
    wrong_old = sys.client.post(f"{API}/password/change", headers=bearer(here), json={
        "old_password": "not-it-123", "new_password": NEW, "new_password_confirmation": NEW})
    assert wrong_old.status_code == 422 and error(wrong_old)["field_codes"] == {"old_password": "wrong"}
    mismatch = sys.client.post(f"{API}/password/change", headers=bearer(here), json={
        "old_password": PASSWORD, "new_password": NEW, "new_password_confirmation": "other-123"})
    assert error(mismatch)["field_codes"] == {"new_password_confirmation": "does not match"}
    ok = sys.client.post(f"{API}/password/change", headers=bearer(here), json={
        "old_password": PASSWORD, "new_password": NEW, "new_password_confirmation": NEW})
    assert ok.status_code == 200
    assert sys.client.get(f"{API}/me", headers=bearer(here)).status_code == 200
    assert sys.client.get(f"{API}/me", headers=bearer(elsewhere)).status_code == 401
    assert login(sys, phone=phone, password=NEW).status_code == 200


def test_change_phone_with_a_code_sent_to_the_new_number(sys):
    old, new = new_phone(), new_phone()
    tokens = register_by_phone(sys, old)
    tap = sys.tap()
    started = sys.client.post(f"{API}/phone/change", headers=bearer(tokens),
                              json={"new_phone": f"8 {new[2:5]} {new[5:]}"})
    assert started.status_code == 202
    assert "смены номера" in sys.last_sms(new)
    wrong = sys.client.post(f"{API}/phone/change/confirm", headers=bearer(tokens), json={
        "verification_id": started.json["verification_id"], "code": "999999"
        if sys.sms_code(new) != "999999" else "888888"})
    assert wrong.status_code == 422
    done = sys.client.post(f"{API}/phone/change/confirm", headers=bearer(tokens), json={
        "verification_id": started.json["verification_id"], "code": sys.sms_code(new)})
    assert done.status_code == 200 and done.json["user"]["phone"] == new
    assert login(sys, phone=new).status_code == 200
    assert login(sys, phone=old).status_code == 401
    event = tap.wait_for("phone_changed", lambda p: p["user_id"] == tokens["user"]["id"])
    assert event["payload"]["old_phone"] == old and event["payload"]["new_phone"] == new
    tap.close()


def test_cannot_take_another_users_number_or_confirm_their_code(sys):
    mine, theirs = new_phone(), new_phone()
    me = register_by_phone(sys, mine)
    them = register_by_phone(sys, theirs)
    started = sys.client.post(f"{API}/phone/change", headers=bearer(me), json={"new_phone": theirs})
    taken = sys.client.post(f"{API}/phone/change/confirm", headers=bearer(me), json={
        "verification_id": started.json["verification_id"], "code": sys.sms_code(theirs)})
    assert taken.status_code == 409

    third = new_phone()
    sys.clock.advance(seconds=61)
    mine_started = sys.client.post(f"{API}/phone/change", headers=bearer(me), json={"new_phone": third})
    not_yours = sys.client.post(f"{API}/phone/change/confirm", headers=bearer(them), json={
        "verification_id": mine_started.json["verification_id"], "code": sys.sms_code(third)})
    assert not_yours.status_code == 404, not_yours.json


def test_export_and_delete_my_account(sys):
    phone = new_phone()
    tokens = register_by_phone(sys, phone)
    export = sys.client.get(f"{API}/me/export", headers=bearer(tokens))
    assert export.status_code == 200
    assert export.json["user"]["phone"] == phone and len(export.json["sessions"]) == 1
    tap = sys.tap()
    wrong = sys.client.post(f"{API}/me/delete", headers=bearer(tokens), json={"password": "nope-123"})
    assert wrong.status_code == 422
    deleted = sys.client.post(f"{API}/me/delete", headers=bearer(tokens), json={"password": PASSWORD})
    assert deleted.status_code == 200
    assert sys.client.get(f"{API}/me", headers=bearer(tokens)).status_code == 401
    assert login(sys, phone=phone).status_code == 401
    tap.wait_for("user_deleted", lambda p: p["user_id"] == tokens["user"]["id"])
    tap.close()
    # The number is free again: its owner can register anew.
    assert register_by_phone(sys, phone)["user"]["id"] != tokens["user"]["id"]


def test_roles_admin_creates_an_operator_customer_cannot(sys, tmp_path):
    customer = register_by_phone(sys, new_phone())
    body = {"role": "operator", "email": "operator@nesk.ru", "password": NEW}
    refused = sys.client.post("/api/v1/admin/users", headers=bearer(customer), json=body)
    assert refused.status_code == 403

    env = {"NESK_ENV": "test", "VAR_DIR": sys.config["VAR_DIR"],
           "AUTH_DATABASE_URL": sys.config["AUTH_DATABASE_URL"], "PATH": "/usr/bin:/bin"}
    made = subprocess.run([python.executable, "-m", "services.auth.cli", "create-user",
                           "--role", "admin", "--email", "admin@nesk.ru"],
                          input=f"{NEW}\n{NEW}\n", capture_output=True, text=True, env=env,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    admin = login(sys, email="admin@nesk.ru", password=NEW).json
    assert admin["user"]["role"] == "admin"
    created = sys.client.post("/api/v1/admin/users", headers=bearer(admin), json=body)
    assert created.status_code == 201 and created.json["role"] == "operator"
    operator = login(sys, email="operator@nesk.ru", password=NEW)
    assert operator.status_code == 200 and operator.json["user"]["role"] == "operator"
    again = sys.client.post("/api/v1/admin/users", headers=bearer(admin), json=body)
    assert again.status_code == 409
