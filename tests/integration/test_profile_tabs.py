"""РАЗДЕЛ «ПРОФИЛЬ»: the questionnaire tabs, preferences, contact information with a confirmed
e-mail, and the photo; every field checked with a clear reason; only one's own profile."""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.integration.helpers import bearer, error, new_phone, register_by_phone

API = "/api/v1/profile"


@pytest.fixture
def user(sys):
    tokens = register_by_phone(sys, new_phone())
    sys.wait_contact(tokens["user"]["id"])
    return tokens


def test_empty_profile_shows_every_tab_and_the_registered_phone(sys, user):
    profile = sys.client.get(API, headers=bearer(user)).json
    assert set(profile) == {"basic", "extended", "preferences", "contacts", "has_photo"}
    assert profile["contacts"]["mobile_phone"] == user["user"]["phone"]
    assert profile["preferences"] == {"notify_sms": True, "notify_email": True,
                                      "reading_reminders": True}


def test_basic_tab_saves_and_validates_each_field(sys, user):
    saved = sys.client.put(f"{API}/basic", headers=bearer(user), json={
        "last_name": "Петров", "first_name": "Иван", "middle_name": "Сергеевич",
        "last_name_latin": "Petrov", "first_name_latin": "Ivan", "gender": "male",
        "birth_date": "1980-05-17", "citizenship": "RU"})
    assert saved.status_code == 200, saved.json
    assert saved.json["basic"]["last_name"] == "Петров"
    assert saved.json["basic"]["birth_date"] == "1980-05-17"

    bad = sys.client.put(f"{API}/basic", headers=bearer(user), json={
        "last_name": "Petrov", "first_name_latin": "Иван", "birth_date": "2090-01-01",
        "gender": "x", "citizenship": "russia"})
    assert bad.status_code == 422
    assert set(error(bad)["fields"]) == {"last_name", "first_name_latin", "birth_date", "gender",
                                         "citizenship"}
    # nothing of the bad request was stored
    assert sys.client.get(API, headers=bearer(user)).json["basic"]["last_name"] == "Петров"


def test_extended_tab_checks_snils_and_inn(sys, user):
    ok = sys.client.put(f"{API}/extended", headers=bearer(user), json={
        "snils": "112-233-445 95", "inn": "500100732259", "household_size": 3})
    assert ok.status_code == 200, ok.json
    assert ok.json["extended"]["snils"] == "11223344595"
    bad = sys.client.put(f"{API}/extended", headers=bearer(user), json={
        "snils": "112-233-445 96", "inn": "500100732250", "household_size": 0})
    assert bad.status_code == 422 and set(error(bad)["fields"]) == {"snils", "inn",
                                                                     "household_size"}


def test_preferences_and_unknown_tab_or_field(sys, user):
    saved = sys.client.put(f"{API}/preferences", headers=bearer(user),
                           json={"notify_sms": False, "reading_reminders": False})
    assert saved.json["preferences"] == {"notify_sms": False, "notify_email": True,
                                         "reading_reminders": False}
    assert sys.client.put(f"{API}/secret", headers=bearer(user), json={}).status_code == 404
    unknown = sys.client.put(f"{API}/basic", headers=bearer(user), json={"salary": 1})
    assert unknown.status_code == 422 and error(unknown)["field_codes"] == {"salary": "unknown field"}
    not_object = sys.client.put(f"{API}/basic", headers=bearer(user), json=[1])
    assert not_object.status_code == 400


def test_contacts_and_email_confirmed_by_link(sys, user):
    changed = sys.client.put(f"{API}/contacts", headers=bearer(user), json={
        "email": "Petrov@Example.RU", "extra_phones": ["8 918 111-22-33"],
        "postal_address": "352570, пгт Мостовской, ул. Аэродромная, д. 1"})
    assert changed.status_code == 200, changed.json
    assert changed.json["contacts"]["email"] is None
    assert changed.json["contacts"]["pending_email"] == "petrov@example.ru"
    assert changed.json["contacts"]["extra_phones"] == ["+79181112233"]
    token = sys.mail_link("petrov@example.ru")
    confirmed = sys.client.get(f"{API}/email/confirm", query_string={"token": token})
    assert confirmed.status_code == 200
    assert sys.client.get(API, headers=bearer(user)).json["contacts"]["email"] == "petrov@example.ru"
    again = sys.client.get(f"{API}/email/confirm", query_string={"token": token})
    assert again.status_code == 410

    bad = sys.client.put(f"{API}/contacts", headers=bearer(user),
                         json={"email": "nope", "extra_phones": ["12"]})
    assert bad.status_code == 422


def test_email_confirmed_by_post_as_the_web_page_does(sys, user):
    """The cabinet's page confirms by a button (a POST), never on opening the link."""
    sys.client.put(f"{API}/contacts", headers=bearer(user), json={"email": "post@example.ru"})
    token = sys.mail_link("post@example.ru")
    missing = sys.client.post(f"{API}/email/confirm", json={})
    assert missing.status_code == 400 and "token" in error(missing)["fields"]
    confirmed = sys.client.post(f"{API}/email/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["email"] == "post@example.ru"
    assert sys.client.get(API, headers=bearer(user)).json["contacts"]["email"] == "post@example.ru"
    again = sys.client.post(f"{API}/email/confirm", json={"token": token})
    assert again.status_code == 410


def _image(fmt: str, size=(1200, 800)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, fmt)
    return base64.b64encode(buffer.getvalue()).decode()


def test_photo_is_checked_by_content_and_resized(sys, user):
    stored = sys.client.put(f"{API}/photo", headers=bearer(user),
                            json={"image_base64": _image("PNG")})
    assert stored.status_code == 200, stored.json
    with Image.open(io.BytesIO(base64.b64decode(stored.json["image_base64"]))) as image:
        assert image.format == "JPEG" and max(image.size) == 512
    assert sys.client.get(API, headers=bearer(user)).json["has_photo"] is True

    gif = sys.client.put(f"{API}/photo", headers=bearer(user), json={"image_base64": _image("GIF")})
    assert gif.status_code == 422 and "GIF" in error(gif)["field_codes"]["image_base64"]
    text = base64.b64encode(b"MZ this is not an image").decode()
    fake = sys.client.put(f"{API}/photo", headers=bearer(user), json={"image_base64": text})
    assert fake.status_code == 422 and error(fake)["field_codes"] == {"image_base64": "not an image"}
    huge = sys.client.put(f"{API}/photo", headers=bearer(user),
                          json={"image_base64": "A" * (sys.config["MAX_UPLOAD_BYTES"] + 10)})
    assert huge.status_code == 413
    assert sys.client.delete(f"{API}/photo", headers=bearer(user)).status_code == 204
    assert sys.client.get(f"{API}/photo", headers=bearer(user)).status_code == 404


def test_a_decompression_bomb_is_refused_by_its_header(sys, user):
    """Fuzzing found a 500: a few KB of PNG declaring 20000×20000 pixels made Pillow raise
    DecompressionBombError, which nothing caught."""
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG", optimize=True)
    assert len(buffer.getvalue()) < 100_000
    bomb = sys.client.put(f"{API}/photo", headers=bearer(user),
                          json={"image_base64": base64.b64encode(buffer.getvalue()).decode()})
    assert bomb.status_code == 422, bomb.json
    assert error(bomb)["field_codes"] == {"image_base64": "too many pixels"}
    assert "Фото" in error(bomb)["message"]


def test_profiles_are_private(sys, user):
    sys.client.put(f"{API}/basic", headers=bearer(user), json={"last_name": "Петров"})
    other = register_by_phone(sys, new_phone())
    assert sys.client.get(API, headers=bearer(other)).json["basic"]["last_name"] is None
    assert sys.client.get(API).status_code == 401
    assert sys.client.put(f"{API}/basic", json={"last_name": "Взлом"}).status_code == 401
