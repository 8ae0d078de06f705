"""АВТОРИЗАЦИЯ: login by phone or e-mail, tokens, refresh rotation, logout, lockout, and the
gateway's refusal of forged tokens."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest

from shared.tokens import load_private_key, load_public_key
from tests.integration.helpers import (bearer, error, login, new_phone,
                                       register_by_email, register_by_phone)

API = "/api/v1/auth"


@pytest.fixture
def phone_user(sys):
    phone = new_phone()
    return phone, register_by_phone(sys, phone)


def test_login_by_phone_in_another_form_and_by_email(sys, phone_user):
    phone, _ = phone_user
    typed = f"8 ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:]}"
    response = login(sys, phone=typed)
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer" and response.json["user"]["phone"] == phone
    assert sys.client.get(f"{API}/me", headers=bearer(response.json)).json["phone"] == phone

    register_by_email(sys, "login.me@example.ru")
    by_email = login(sys, email="LOGIN.me@example.ru")
    assert by_email.status_code == 200 and by_email.json["user"]["email"] == "login.me@example.ru"


def test_access_token_is_rs256_with_role(sys, phone_user):
    _, tokens = phone_user
    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], load_public_key(sys.config), algorithms=["RS256"],
                        issuer=sys.config["JWT_ISSUER"])
    assert header["alg"] == "RS256"
    assert claims["role"] == "customer" and claims["sub"] == tokens["user"]["id"]


def test_wrong_password_and_unknown_user_look_the_same(sys, phone_user):
    phone, _ = phone_user
    wrong = login(sys, phone=phone, password="Not-the-password-1")
    unknown = login(sys, phone=new_phone(), password="Not-the-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert {k: v for k, v in error(wrong).items() if k != "request_id"} == \
           {k: v for k, v in error(unknown).items() if k != "request_id"}


def test_login_needs_a_password_and_a_wellformed_identity(sys):
    assert login(sys, phone="abc").status_code == 422
    response = sys.client.post(f"{API}/login", json={"phone": new_phone()})
    assert response.status_code == 400 and "password" in error(response)["fields"]


def test_failures_slow_down_then_lock_even_the_right_password(sys, phone_user):
    phone, _ = phone_user
    policy = sys.config
    sys.clock.freeze()  # a slow machine must not outwait the slow-down between two logins
    for _ in range(policy["LOGIN_SLOWDOWN_AFTER"]):
        assert login(sys, phone=phone, password="wrong-password-1").status_code == 401
    slowed = login(sys, phone=phone, password="wrong-password-1")
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    for _ in range(policy["LOGIN_LOCK_AFTER"] - policy["LOGIN_SLOWDOWN_AFTER"]):
        # wait out each slow-down (the longest is 2^(lock - slowdown) s, shorter than the lock)
        sys.clock.advance(seconds=2 ** (policy["LOGIN_LOCK_AFTER"] - policy["LOGIN_SLOWDOWN_AFTER"]))
        login(sys, phone=phone, password="wrong-password-1")
    locked = login(sys, phone=phone)  # the right password
    assert locked.status_code == 423 and error(locked)["code"] == "locked"
    sys.clock.advance(seconds=policy["LOGIN_LOCK_SECONDS"] + 1)
    assert login(sys, phone=phone).status_code == 200


def test_unknown_identity_is_locked_too(sys):
    phone = new_phone()
    for _ in range(sys.config["LOGIN_LOCK_AFTER"]):
        sys.clock.advance(seconds=2 ** (sys.config["LOGIN_LOCK_AFTER"]
                                        - sys.config["LOGIN_SLOWDOWN_AFTER"]))
        assert login(sys, phone=phone, password="wrong-password-1").status_code == 401
    assert login(sys, phone=phone, password="wrong-password-1").status_code == 423


def test_one_address_cannot_lock_out_many_customers(sys, phone_user):
    """After LOGIN_PER_IP_LIMIT failures from one address its logins get 429 (the right
    password too) and its wrong passwords no longer count towards anyone's lock."""
    phone, _ = phone_user
    config = sys.config
    sys.clock.freeze()
    sys.client.environ_base["REMOTE_ADDR"] = attacker = "198.51.100.66"
    for _ in range(config["LOGIN_PER_IP_LIMIT"]):  # many customers, a try each: no slow-down
        assert login(sys, phone=new_phone(), password="wrong-password-1").status_code == 401
    for password in ["wrong-password-1"] * config["LOGIN_LOCK_AFTER"] + [None]:
        refused = login(sys, phone=phone, **({"password": password} if password else {}))
        assert refused.status_code == 429, refused.json
        assert error(refused)["field_codes"] == {"password": "too many failures from this address"}
    assert int(refused.headers["Retry-After"]) == config["LOGIN_PER_IP_WINDOW"]

    sys.client.environ_base["REMOTE_ADDR"] = "198.51.100.67"  # the customer, elsewhere
    assert login(sys, phone=phone).status_code == 200  # not locked by the refused tries
    sys.client.environ_base["REMOTE_ADDR"] = attacker
    sys.clock.advance(seconds=config["LOGIN_PER_IP_WINDOW"])
    assert login(sys, phone=phone).status_code == 200  # the window has slid past


def test_refresh_rotates_and_reuse_revokes_the_family(sys, phone_user):
    _, tokens = phone_user
    first = sys.client.post(f"{API}/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200 and first.json["refresh_token"] != tokens["refresh_token"]
    replay = sys.client.post(f"{API}/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert error(replay)["field_codes"]["refresh_token"] == "reused: session revoked"
    stolen_family = sys.client.post(f"{API}/token/refresh",
                                    json={"refresh_token": first.json["refresh_token"]})
    assert stolen_family.status_code == 401
    assert sys.client.get(f"{API}/me", headers=bearer(first.json)).status_code == 401


def test_logout_ends_the_session(sys, phone_user):
    phone, tokens = phone_user
    other = login(sys, phone=phone).json
    assert sys.client.post(f"{API}/logout", headers=bearer(tokens)).status_code == 204
    assert sys.client.post(f"{API}/token/refresh",
                           json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert sys.client.get(f"{API}/me", headers=bearer(tokens)).status_code == 401
    assert sys.client.get(f"{API}/me", headers=bearer(other)).status_code == 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(user_id: str, **over) -> dict:
    now = int(time.time())
    return {"sub": user_id, "role": "admin", "sid": str(uuid.uuid4()), "jti": str(uuid.uuid4()),
            "typ": "access", "iss": "nesk-portal", "iat": now, "exp": now + 600, **over}


def test_forged_tokens_are_refused(sys, phone_user):
    _, tokens = phone_user
    user_id = tokens["user"]["id"]
    header, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = ".".join([header, _b64(json.dumps({**claims, "role": "admin"}).encode()), signature])

    expired = jwt.encode(_claims(user_id, exp=int(time.time()) - 5),
                         load_private_key(sys.config), algorithm="RS256")
    none_alg = ".".join([_b64(b'{"alg":"none","typ":"JWT"}'),
                         _b64(json.dumps(_claims(user_id)).encode()), ""])
    signing_input = ".".join([_b64(b'{"alg":"HS256","typ":"JWT"}'),
                              _b64(json.dumps(_claims(user_id)).encode())])
    hs256 = signing_input + "." + _b64(hmac.new(load_public_key(sys.config),
                                                signing_input.encode(), hashlib.sha256).digest())
    other_key = jwt.encode(_claims(user_id), _other_private_key(), algorithm="RS256")

    cases = {"tampered": tampered, "expired": expired, "alg none": none_alg,
             "HS256 with the public key": hs256, "signed by another key": other_key,
             "garbage": "abc.def"}
    for name, token in cases.items():
        response = sys.client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert error(response)["code"] == "unauthorized", name
    expired_body = sys.client.get(f"{API}/me", headers={"Authorization": f"Bearer {expired}"})
    assert error(expired_body)["field_codes"]["authorization"] == "token expired"


def _other_private_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_protected_routes_need_a_bearer_token(sys):
    for method, path in [("GET", "/me"), ("POST", "/logout"), ("POST", "/password/change"),
                         ("GET", "/me/export")]:
        response = sys.client.open(f"{API}{path}", method=method)
        assert response.status_code == 401, path
        assert error(response)["field_codes"]["authorization"] == "missing Bearer token"
