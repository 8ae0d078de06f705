"""Image captchas: one picture, one try, expiring."""
import base64
from datetime import timedelta

import pytest

from services.auth.domain import captchas
from services.auth.models import Captcha
from shared.errors import ValidationFailed

KEY = "secret"
TTL = 300


def make(db, now, answer="AB3CD"):
    return captchas.create(db, now, TTL, KEY, test_answer=answer)


def solve(db, captcha_id, answer, now):
    return captchas.solve(db, captcha_id, answer, now, KEY)


def field_of(call):
    with pytest.raises(ValidationFailed) as info:
        call()
    return info.value.fields


def test_create_returns_an_id_and_a_png_picture(db, now):
    made = make(db, now)
    assert made["captcha_id"]
    assert made["expires_in"] == TTL
    assert base64.b64decode(made["image_png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")


def test_the_answer_is_not_stored_in_clear(db, now):
    made = make(db, now, answer="AB3CD")
    row = db.get(Captcha, made["captcha_id"])
    assert "AB3CD" not in row.answer_hash.upper()
    assert row.expires_at == now + timedelta(seconds=TTL)


def test_right_answer_is_accepted(db, now):
    made = make(db, now)
    assert solve(db, made["captcha_id"], "AB3CD", now) is None


@pytest.mark.parametrize("typed", ["ab3cd", "  AB3CD ", "Ab3cD\n"])
def test_answer_ignores_case_and_surrounding_spaces(db, now, typed):
    made = make(db, now)
    solve(db, made["captcha_id"], typed, now)


def test_wrong_answer_names_captcha_answer(db, now):
    made = make(db, now)
    assert field_of(lambda: solve(db, made["captcha_id"], "ZZZZZ", now)) == {
        "captcha_answer": "wrong"}


def test_second_use_after_right_answer_is_refused(db, now):
    made = make(db, now)
    solve(db, made["captcha_id"], "AB3CD", now)
    db.commit()
    assert field_of(lambda: solve(db, made["captcha_id"], "AB3CD", now)) == {
        "captcha_id": "unknown or used"}


def test_second_try_after_wrong_answer_is_refused_even_if_right(db, now):
    made = make(db, now)
    with pytest.raises(ValidationFailed):
        solve(db, made["captcha_id"], "ZZZZZ", now)
    db.rollback()  # the wrong try was committed by solve itself
    assert field_of(lambda: solve(db, made["captcha_id"], "AB3CD", now)) == {
        "captcha_id": "unknown or used"}


def test_expired_captcha_is_refused(db, now):
    made = make(db, now)
    assert field_of(lambda: solve(db, made["captcha_id"], "AB3CD",
                                  now + timedelta(seconds=TTL))) == {"captcha_id": "expired"}


def test_just_before_expiry_is_accepted(db, now):
    made = make(db, now)
    solve(db, made["captcha_id"], "AB3CD", now + timedelta(seconds=TTL - 1))


def test_unknown_id_is_refused(db, now):
    assert field_of(lambda: solve(db, "00000000-0000-0000-0000-000000000000", "AB3CD", now)) == {
        "captcha_id": "unknown or used"}


@pytest.mark.parametrize("captcha_id", [None, "", 42])
def test_missing_id_is_named(db, now, captcha_id):
    assert field_of(lambda: solve(db, captcha_id, "AB3CD", now)) == {"captcha_id": "required"}


@pytest.mark.parametrize("answer", [None, "", "   ", 12345])
def test_missing_answer_is_named(db, now, answer):
    made = make(db, now)
    assert field_of(lambda: solve(db, made["captcha_id"], answer, now)) == {
        "captcha_answer": "required"}


def test_missing_answer_does_not_spend_the_captcha(db, now):
    made = make(db, now)
    with pytest.raises(ValidationFailed):
        solve(db, made["captcha_id"], "", now)
    solve(db, made["captcha_id"], "AB3CD", now)


def test_without_test_answer_each_captcha_gets_a_random_answer(db, now, monkeypatch):
    drawn = []
    real_generate = captchas._image.generate
    monkeypatch.setattr(captchas._image, "generate",
                        lambda text: drawn.append(text) or real_generate(text))
    made = [captchas.create(db, now, TTL, KEY) for _ in range(3)]
    assert len(set(drawn)) == 3
    assert all(len(a) == captchas.LENGTH and set(a) <= set(captchas.ALPHABET) for a in drawn)
    assert len({db.get(Captcha, m["captcha_id"]).answer_hash for m in made}) == 3
    solve(db, made[0]["captcha_id"], drawn[0].lower(), now)


def test_same_answer_hashes_differently_per_captcha(db, now):
    first, second = make(db, now), make(db, now)
    assert (db.get(Captcha, first["captcha_id"]).answer_hash
            != db.get(Captcha, second["captcha_id"]).answer_hash)
