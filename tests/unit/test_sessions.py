"""Login sessions: RS256 access tokens and rotating, single-use refresh tokens."""
from datetime import timedelta

import pytest

from services.auth.domain import sessions
from services.auth.models import Session, User
from shared.errors import Unauthorized
from shared.tokens import verify_access_token
from tests.unit.conftest import NOW

ISSUER = "nesk-test"
IP = "203.0.113.7"


@pytest.fixture
def signer(rsa_keys):
    return sessions.Signer(private_key=rsa_keys[0], issuer=ISSUER, access_ttl=600,
                           refresh_ttl=3600, secret_key="k")


@pytest.fixture
def clock(now):
    """Tokens are signed at the fixed NOW and verified at NOW (verify_access_token takes now)."""
    return now


@pytest.fixture
def user(db, clock):
    user = User(id="u-1", phone="+79181234567", password_hash="x", role="customer",
                created_at=clock)
    db.add(user)
    db.commit()
    return user


def open_session(db, signer, user, now):
    tokens = sessions.open_session(db, signer, user, now, IP)
    db.commit()
    return tokens


def session_id(tokens, rsa_keys):
    return verify_access_token(tokens["access_token"], rsa_keys[1], ISSUER, NOW).session_id


def test_access_token_is_rs256_and_names_user_role_session(db, signer, user, clock, rsa_keys):
    tokens = open_session(db, signer, user, clock)
    principal = verify_access_token(tokens["access_token"], rsa_keys[1], ISSUER, NOW)
    assert (principal.user_id, principal.role) == ("u-1", "customer")
    assert db.get(Session, principal.session_id).client_ip == IP
    assert principal.token_id
    assert tokens["token_type"] == "Bearer"
    assert (tokens["expires_in"], tokens["refresh_expires_in"]) == (600, 3600)


def test_refresh_token_is_not_stored_in_clear(db, signer, user, clock):
    from services.auth.models import RefreshToken
    tokens = open_session(db, signer, user, clock)
    stored = db.query(RefreshToken).one()
    assert stored.token_hash != tokens["refresh_token"]


def test_refresh_rotates_the_pair(db, signer, user, clock, rsa_keys):
    first = open_session(db, signer, user, clock)
    second = sessions.refresh(db, signer, first["refresh_token"], clock + timedelta(seconds=5))
    db.commit()
    assert second["refresh_token"] != first["refresh_token"]
    assert session_id(second, rsa_keys) == session_id(first, rsa_keys)
    third = sessions.refresh(db, signer, second["refresh_token"], clock + timedelta(seconds=9))
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


def test_reused_refresh_token_revokes_the_whole_session(db, signer, user, clock, rsa_keys):
    first = open_session(db, signer, user, clock)
    second = sessions.refresh(db, signer, first["refresh_token"], clock)
    db.commit()
    with pytest.raises(Unauthorized) as info:
        sessions.refresh(db, signer, first["refresh_token"], clock)  # the thief, or the victim
    assert info.value.fields == {"refresh_token": "reused: session revoked"}
    with pytest.raises(Unauthorized) as info:
        sessions.refresh(db, signer, second["refresh_token"], clock)
    assert info.value.fields == {"refresh_token": "session ended"}
    with pytest.raises(Unauthorized):
        sessions.active(db, session_id(first, rsa_keys))
    assert db.get(Session, session_id(first, rsa_keys)).revoked_reason == "refresh reuse"


def test_expired_refresh_token_is_refused(db, signer, user, clock):
    tokens = open_session(db, signer, user, clock)
    with pytest.raises(Unauthorized) as info:
        sessions.refresh(db, signer, tokens["refresh_token"],
                         clock + timedelta(seconds=signer.refresh_ttl))
    assert info.value.fields == {"refresh_token": "expired"}


def test_refresh_just_before_expiry_works(db, signer, user, clock):
    tokens = open_session(db, signer, user, clock)
    sessions.refresh(db, signer, tokens["refresh_token"],
                     clock + timedelta(seconds=signer.refresh_ttl - 1))


@pytest.mark.parametrize("token", [None, "", 42])
def test_missing_refresh_token(db, signer, token, clock):
    with pytest.raises(Unauthorized) as info:
        sessions.refresh(db, signer, token, clock)
    assert info.value.fields == {"refresh_token": "required"}


def test_unknown_refresh_token(db, signer, user, clock):
    open_session(db, signer, user, clock)
    with pytest.raises(Unauthorized) as info:
        sessions.refresh(db, signer, "made-up", clock)
    assert info.value.fields == {"refresh_token": "unknown"}


def test_refresh_refused_once_the_user_is_deleted(db, signer, user, clock):
    tokens = open_session(db, signer, user, clock)
    user.deleted_at = clock
    db.commit()
    with pytest.raises(Unauthorized) as info:
        sessions.refresh(db, signer, tokens["refresh_token"], clock)
    assert info.value.fields == {"refresh_token": "user gone"}


def test_refresh_carries_the_current_role(db, signer, user, clock, rsa_keys):
    tokens = open_session(db, signer, user, clock)
    user.role = "operator"
    db.commit()
    renewed = sessions.refresh(db, signer, tokens["refresh_token"], clock)
    assert verify_access_token(renewed["access_token"], rsa_keys[1], ISSUER, NOW).role == "operator"


def test_revoke_all_keeps_the_current_session(db, signer, user, clock, rsa_keys):
    ids = [session_id(open_session(db, signer, user, clock), rsa_keys) for _ in range(3)]
    sessions.revoke_all(db, user.id, clock, "password changed", keep=ids[1])
    db.commit()
    db.expire_all()
    sessions.active(db, ids[1])
    for sid in (ids[0], ids[2]):
        with pytest.raises(Unauthorized) as info:
            sessions.active(db, sid)
        assert info.value.fields == {"authorization": "session ended"}
        assert db.get(Session, sid).revoked_reason == "password changed"


def test_revoke_all_without_keep_ends_every_session(db, signer, user, clock, rsa_keys):
    tokens = open_session(db, signer, user, clock)
    sessions.revoke_all(db, user.id, clock, "account deleted")
    db.commit()
    db.expire_all()
    with pytest.raises(Unauthorized):
        sessions.active(db, session_id(tokens, rsa_keys))
    with pytest.raises(Unauthorized):
        sessions.refresh(db, signer, tokens["refresh_token"], clock)


def test_revoke_keeps_the_first_reason(db, signer, user, clock, rsa_keys):
    session = db.get(Session, session_id(open_session(db, signer, user, clock), rsa_keys))
    sessions.revoke(db, session, clock, "logout")
    sessions.revoke(db, session, clock + timedelta(seconds=1), "refresh reuse")
    assert (session.revoked_at, session.revoked_reason) == (clock, "logout")


def test_active_refuses_unknown_session(db):
    with pytest.raises(Unauthorized):
        sessions.active(db, "no-such-session")


def test_signer_from_config(rsa_keys):
    config = {"JWT_ISSUER": "i", "ACCESS_TOKEN_TTL": 60, "REFRESH_TOKEN_TTL": 120,
              "SECRET_KEY": "s"}
    assert sessions.Signer.from_config(config, rsa_keys[0]) == sessions.Signer(
        rsa_keys[0], "i", 60, 120, "s")
