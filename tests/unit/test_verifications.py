"""SMS code challenges: attempts, expiry, cooldown, hourly limits, proofs."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.auth.domain import verifications as v
from services.auth.models import Verification
from shared.errors import Gone, NotFound, TooManyRequests, ValidationFailed

POLICY = v.Policy(ttl=300, attempts=3, cooldown=60, per_phone_hourly=3, per_ip_hourly=5,
                  secret_key="k")
PHONE = "+79181234567"
IP = "203.0.113.7"
S = timedelta(seconds=1)


def start(db, now, phone=PHONE, ip=IP, purpose="register", send=True):
    verification, code = v.start(db, POLICY, purpose, phone, ip, now, send=send)
    db.commit()
    return verification, code


def check(db, verification, code, now, purpose="register"):
    return v.check_code(db, POLICY, verification.id, code, purpose, now)


def wrong(code):
    return "000000" if code != "000000" else "111111"


def test_right_code_verifies(db, now):
    verification, code = start(db, now)
    assert len(code) == 6 and code.isdigit()
    assert check(db, verification, code, now + 10 * S).verified_at == now + 10 * S


def test_code_with_surrounding_spaces_verifies(db, now):
    verification, code = start(db, now)
    check(db, verification, f" {code} ", now)


def test_verified_code_cannot_be_used_twice(db, now):
    verification, code = start(db, now)
    check(db, verification, code, now)
    with pytest.raises(Gone) as info:
        check(db, verification, code, now)
    assert info.value.fields == {"verification_id": "already used"}


def test_wrong_code_says_how_many_attempts_are_left(db, now):
    verification, code = start(db, now)
    for left in (2, 1, 0):
        with pytest.raises(ValidationFailed) as info:
            check(db, verification, wrong(code), now)
        assert info.value.fields == {"code": "wrong"}
        assert f"осталось попыток: {left}" in info.value.message
    assert db.get(Verification, verification.id).attempts == 3


def test_after_all_attempts_even_the_right_code_is_gone(db, now):
    verification, code = start(db, now)
    for _ in range(POLICY.attempts):
        with pytest.raises(ValidationFailed):
            check(db, verification, wrong(code), now)
    with pytest.raises(Gone) as info:
        check(db, verification, code, now)
    assert info.value.fields == {"code": "too many attempts"}


def test_expired_code_is_gone(db, now):
    verification, code = start(db, now)
    with pytest.raises(Gone) as info:
        check(db, verification, code, now + POLICY.ttl * S)
    assert info.value.fields == {"code": "expired"}


def test_code_just_before_expiry_verifies(db, now):
    verification, code = start(db, now)
    check(db, verification, code, now + (POLICY.ttl - 1) * S)


@pytest.mark.parametrize("code", [None, "", "  ", 123456])
def test_missing_code_is_required_and_costs_no_attempt(db, now, code):
    verification, _ = start(db, now)
    with pytest.raises(ValidationFailed) as info:
        check(db, verification, code, now)
    assert info.value.fields == {"code": "required"}
    assert verification.attempts == 0


def test_unknown_or_missing_challenge(db, now):
    with pytest.raises(NotFound):
        v.check_code(db, POLICY, "no-such-id", "123456", "register", now)
    with pytest.raises(ValidationFailed) as info:
        v.check_code(db, POLICY, None, "123456", "register", now)
    assert info.value.fields == {"verification_id": "required"}


def test_purpose_mismatch_is_not_found(db, now):
    verification, code = start(db, now, purpose="register")
    with pytest.raises(NotFound) as info:
        check(db, verification, code, now, purpose="reset")
    assert info.value.fields == {"verification_id": "unknown"}


def test_user_mismatch_is_not_found(db, now):
    verification, code = v.start(db, POLICY, "phone_change", PHONE, IP, now, user_id="u1")
    with pytest.raises(NotFound):
        v.check_code(db, POLICY, verification.id, code, "phone_change", now, user_id="u2")
    v.check_code(db, POLICY, verification.id, code, "phone_change", now, user_id="u1")


def test_challenge_without_sms_never_verifies(db, now):
    verification, code = start(db, now, send=False)
    assert code is None and verification.code_hash is None
    for guess in ("000000", "123456", "999999"):
        with pytest.raises(ValidationFailed) as info:
            check(db, verification, guess, now)
        assert info.value.fields == {"code": "wrong"}


def test_challenge_without_sms_counts_against_the_cooldown(db, now):
    start(db, now, send=False)
    with pytest.raises(TooManyRequests):
        start(db, now + S)


def test_cooldown_refuses_a_new_code_with_retry_after(db, now):
    start(db, now)
    with pytest.raises(TooManyRequests) as info:
        start(db, now + 20 * S)
    assert info.value.fields == {"phone": "resend cooldown"}
    assert 40 <= info.value.retry_after <= 41


def test_cooldown_applies_to_resend(db, now):
    verification, _ = start(db, now)
    with pytest.raises(TooManyRequests) as info:
        v.resend(db, POLICY, verification.id, IP, now + 59 * S)
    assert info.value.retry_after >= 1


def test_resend_after_cooldown_gives_a_new_code_and_the_old_one_stops_working(db, now):
    verification, old = start(db, now)
    later = now + POLICY.cooldown * S
    same_row, new = v.resend(db, POLICY, verification.id, IP, later)
    db.commit()
    assert same_row.id == verification.id and new is not None
    if new != old:  # one in a million they coincide
        with pytest.raises(ValidationFailed):
            check(db, verification, old, later)
    check(db, verification, new, later)


def test_resend_restores_attempts_and_lifetime(db, now):
    verification, code = start(db, now)
    for _ in range(POLICY.attempts):
        with pytest.raises(ValidationFailed):
            check(db, verification, wrong(code), now)
    later = now + 250 * S
    _, new = v.resend(db, POLICY, verification.id, IP, later)
    check(db, verification, new, later + (POLICY.ttl - 1) * S)


def test_per_phone_hourly_limit(db, now):
    for i in range(POLICY.per_phone_hourly):
        start(db, now + i * POLICY.cooldown * S, ip=f"198.51.100.{i}")
    with pytest.raises(TooManyRequests) as info:
        start(db, now + 10 * 60 * S, ip="198.51.100.99")
    assert info.value.fields == {"phone": "hourly limit"}
    assert info.value.retry_after == 3600


def test_per_phone_limit_frees_up_after_an_hour(db, now):
    for i in range(POLICY.per_phone_hourly):
        start(db, now + i * POLICY.cooldown * S)
    start(db, now + 3600 * S)


def test_resends_count_against_the_per_phone_hourly_limit(db, now):
    verification, _ = start(db, now)
    for i in range(1, POLICY.per_phone_hourly):
        v.resend(db, POLICY, verification.id, IP, now + i * POLICY.cooldown * S)
        db.commit()
    with pytest.raises(TooManyRequests) as info:
        v.resend(db, POLICY, verification.id, IP, now + 10 * 60 * S)
    assert info.value.fields == {"phone": "hourly limit"}


def test_per_ip_hourly_limit_across_different_phones(db, now):
    phones = [f"+7918123450{i}" for i in range(POLICY.per_ip_hourly + 1)]
    for phone in phones[:-1]:
        start(db, now, phone=phone)
    with pytest.raises(TooManyRequests) as info:
        start(db, now + S, phone=phones[-1])
    assert info.value.fields == {"phone": "hourly limit for this address"}
    assert info.value.retry_after == 3600
    start(db, now + S, phone=phones[-1], ip="192.0.2.1")  # another address may


def test_code_is_not_stored_in_clear(db, now):
    verification, code = start(db, now)
    row = db.execute(select(Verification.__table__)).one()
    assert verification.code_hash != code
    assert all(code not in str(value) for value in row)


def verified(db, now, purpose="reset"):
    verification, code = start(db, now, purpose=purpose)
    check(db, verification, code, now, purpose=purpose)
    proof = v.issue_proof(verification, POLICY)
    db.commit()
    return verification, proof


def test_proof_is_redeemed_once(db, now):
    verification, proof = verified(db, now)
    assert verification.proof_hash != proof
    assert v.redeem_proof(db, POLICY, proof, "reset", now, "proof").id == verification.id
    with pytest.raises(Gone) as info:
        v.redeem_proof(db, POLICY, proof, "reset", now, "proof")
    assert info.value.fields == {"proof": "already used"}


def test_proof_expires_a_code_lifetime_after_verification(db, now):
    _, proof = verified(db, now)
    v.redeem_proof(db, POLICY, proof, "reset", now + (POLICY.ttl - 1) * S, "proof")
    _, proof = verified(db, now + 3600 * S)
    with pytest.raises(Gone) as info:
        v.redeem_proof(db, POLICY, proof, "reset", now + (3600 + POLICY.ttl) * S, "proof")
    assert info.value.fields == {"proof": "expired"}


def test_proof_of_another_purpose_or_unknown_is_not_found(db, now):
    _, proof = verified(db, now, purpose="register")
    for token, purpose in ((proof, "reset"), ("forged", "register")):
        with pytest.raises(NotFound) as info:
            v.redeem_proof(db, POLICY, token, purpose, now, "registration_token")
        assert info.value.fields == {"registration_token": "unknown"}


@pytest.mark.parametrize("proof", [None, ""])
def test_missing_proof_names_the_field(db, now, proof):
    with pytest.raises(ValidationFailed) as info:
        v.redeem_proof(db, POLICY, proof, "reset", now, "reset_token")
    assert info.value.fields == {"reset_token": "required"}
