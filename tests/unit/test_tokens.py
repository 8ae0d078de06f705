"""Access-token verification (RS256 only) and the development key pair."""
import base64
import hashlib
import hmac
import json
import os
import stat
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared import tokens
from shared.errors import Unauthorized
from shared.tokens import verify_access_token

ISSUER = "nesk-test"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
T = int(NOW.timestamp())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides):
    base = {"sub": "u-1", "role": "customer", "sid": "s-1", "jti": "j-1", "typ": "access",
            "iss": ISSUER, "iat": T - 10, "exp": T + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(private_key, **overrides):
    return jwt.encode(claims(**overrides), private_key, algorithm="RS256")


def refused(token, public_key, now=NOW):
    with pytest.raises(Unauthorized) as info:
        verify_access_token(token, public_key, ISSUER, now)
    return info.value.fields["authorization"]


def test_valid_token_gives_the_principal(rsa_keys):
    principal = verify_access_token(sign(rsa_keys[0]), rsa_keys[1], ISSUER, NOW)
    assert principal == tokens.Principal(user_id="u-1", role="customer", session_id="s-1",
                                         token_id="j-1")


def test_tampered_payload_is_refused(rsa_keys):
    header, _, signature = sign(rsa_keys[0]).split(".")
    forged = b64(json.dumps(claims(role="admin")).encode())
    assert refused(f"{header}.{forged}.{signature}", rsa_keys[1]).startswith("invalid token")


def test_tampered_signature_is_refused(rsa_keys):
    header, payload, signature = sign(rsa_keys[0]).split(".")
    flipped = b64(bytes([base64.urlsafe_b64decode(signature + "==")[0] ^ 1])
                  + base64.urlsafe_b64decode(signature + "==")[1:])
    assert refused(f"{header}.{payload}.{flipped}", rsa_keys[1]).startswith("invalid token")


def test_token_of_another_key_is_refused(rsa_keys):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refused(sign(other), rsa_keys[1]).startswith("invalid token")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_garbage_is_refused(rsa_keys, token):
    refused(token, rsa_keys[1])


def test_expired_token_says_so(rsa_keys):
    token = sign(rsa_keys[0], iat=T - 700, exp=T - 100)
    assert refused(token, rsa_keys[1]) == "token expired"


def test_expiry_follows_the_given_clock_not_the_wall_clock(rsa_keys):
    token = sign(rsa_keys[0])  # valid from T - 10 to T + 600
    assert refused(token, rsa_keys[1], now=NOW + timedelta(hours=1)) == "token expired"
    old = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert refused(token, rsa_keys[1], now=old) == "issued in the future"


def test_small_clock_skew_is_tolerated(rsa_keys):
    LEEWAY = tokens.LEEWAY
    token = sign(rsa_keys[0], iat=T + LEEWAY, exp=T + 600)  # signer's clock ahead
    verify_access_token(token, rsa_keys[1], ISSUER, NOW)
    token = sign(rsa_keys[0], iat=T - 700, exp=T - LEEWAY + 1)  # verifier's clock ahead
    verify_access_token(token, rsa_keys[1], ISSUER, NOW)
    assert refused(sign(rsa_keys[0], iat=T - 700, exp=T - LEEWAY), rsa_keys[1]) == "token expired"
    assert refused(sign(rsa_keys[0], iat=T + LEEWAY + 1), rsa_keys[1]) == "issued in the future"


def test_alg_none_is_refused(rsa_keys):
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims()).encode())
    assert refused(f"{header}.{payload}.", rsa_keys[1]) == "algorithm not allowed"


def test_hs256_signed_with_the_public_key_is_refused(rsa_keys):
    """The classic confusion attack: HMAC keyed with the (public) RSA key's PEM."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims(role="admin")).encode())
    mac = hmac.new(rsa_keys[1], f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert refused(f"{header}.{payload}.{b64(mac)}", rsa_keys[1]) == "algorithm not allowed"


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "jti", "sid", "role", "iss"])
def test_missing_claim_is_refused(rsa_keys, missing):
    reason = refused(sign(rsa_keys[0], **{missing: None}), rsa_keys[1])
    assert reason.startswith("invalid token") and missing in reason


@pytest.mark.parametrize("typ", [None, "refresh", "email_link"])
def test_only_access_tokens_are_accepted(rsa_keys, typ):
    assert refused(sign(rsa_keys[0], typ=typ), rsa_keys[1]) == "not an access token"


def test_wrong_issuer_is_refused(rsa_keys):
    assert refused(sign(rsa_keys[0], iss="someone-else"), rsa_keys[1]).startswith(
        "invalid token")


def test_dev_key_is_created_once_with_owner_only_access(tmp_path):
    config = {"VAR_DIR": str(tmp_path)}
    path = tokens.ensure_dev_keys(config)
    first = path.read_bytes()
    assert path == tmp_path / "keys" / "jwt-private.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.ensure_dev_keys(config) == path and path.read_bytes() == first
    assert tokens.load_private_key(config) == first
    assert os.listdir(path.parent) == ["jwt-private.pem"]  # no temporary files left


def test_two_processes_racing_end_with_one_key(tmp_path, monkeypatch):
    """Process A generates while B creates the file first: A keeps B's key, not its own."""
    config = {"VAR_DIR": str(tmp_path)}
    real_generate = rsa.generate_private_key
    state = {"raced": False}

    def generate_while_b_wins(*args, **kwargs):
        key = real_generate(*args, **kwargs)
        if not state["raced"]:
            state["raced"] = True
            with monkeypatch.context() as m:
                m.setattr(tokens.os, "getpid", lambda: 99999)  # process B
                state["b_key"] = tokens.ensure_dev_keys(config).read_bytes()
        return key

    monkeypatch.setattr(tokens.rsa, "generate_private_key", generate_while_b_wins)
    path = tokens.ensure_dev_keys(config)  # process A
    assert path.read_bytes() == state["b_key"]
    assert os.listdir(path.parent) == ["jwt-private.pem"]


def test_public_key_is_derived_from_the_dev_private_key(tmp_path):
    config = {"VAR_DIR": str(tmp_path)}
    private = tokens.load_private_key(config)
    public = tokens.load_public_key(config)
    expected = serialization.load_pem_private_key(private, password=None).public_key()
    assert public == expected.public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    token = jwt.encode(claims(), private, algorithm="RS256")
    assert verify_access_token(token, public, ISSUER, NOW).user_id == "u-1"


def test_configured_key_files_are_used(tmp_path, rsa_keys):
    (tmp_path / "private.pem").write_bytes(rsa_keys[0])
    (tmp_path / "public.pem").write_bytes(rsa_keys[1])
    config = {"VAR_DIR": str(tmp_path / "var"), "JWT_PRIVATE_KEY_FILE": str(tmp_path / "private.pem"),
              "JWT_PUBLIC_KEY_FILE": str(tmp_path / "public.pem")}
    assert tokens.load_private_key(config) == rsa_keys[0]
    assert tokens.load_public_key(config) == rsa_keys[1]
    assert not (tmp_path / "var").exists()  # no dev key made
