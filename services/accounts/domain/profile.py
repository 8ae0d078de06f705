"""РАЗДЕЛ «ПРОФИЛЬ»: Основная анкета, Расширенная анкета, Личные предпочтения, Контактная
информация and the photo. Each tab is validated field by field with a clear reason."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
from datetime import date, timedelta
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from shared.work import Work as Deps
from services.accounts.models import Contact, Link, Profile
from shared.blocking import offload
from shared.errors import Gone, NotFound, ValidationFailed
from shared.identities import normalize_contact_phone, normalize_email
from shared.notify import Notifier
from shared.work import decode_upload

CYRILLIC_NAME = validate.Regexp(r"^[А-ЯЁа-яё]+(?:[ -][А-ЯЁа-яё]+)*$",
                                error="Cyrillic letters, spaces or hyphens")
LATIN_NAME = validate.Regexp(r"^[A-Za-z]+(?:[ '-][A-Za-z]+)*$",
                             error="Latin letters, spaces, hyphens or apostrophes")
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_SIDE = 512
PHOTO_MAX_PIXELS = 40_000_000
TOO_MANY_PIXELS = "Фото слишком большое: не более 40 мегапикселей"
EMAIL_LINK_HOURS = 24


def _name(validator: validate.Validator) -> fields.String:
    return fields.String(allow_none=True, validate=[validate.Length(min=1, max=60), validator])


class Basic(Schema):
    """Основная анкета."""

    class Meta:
        unknown = EXCLUDE

    last_name = _name(CYRILLIC_NAME)
    first_name = _name(CYRILLIC_NAME)
    middle_name = _name(CYRILLIC_NAME)
    last_name_latin = _name(LATIN_NAME)
    first_name_latin = _name(LATIN_NAME)
    gender = fields.String(allow_none=True, validate=validate.OneOf(("male", "female")))
    nickname = fields.String(allow_none=True, validate=validate.Length(min=1, max=40))
    birth_date = fields.Date(allow_none=True)
    citizenship = fields.String(allow_none=True, validate=validate.Regexp(
        r"^[A-Z]{2}$", error="ISO 3166 two-letter code, e.g. RU"))

    @validates("birth_date")
    def _plausible(self, value: date | None, **_: Any) -> None:
        today = self.context_today
        if value is not None and not (today.replace(year=today.year - 120) <= value
                                      <= today - timedelta(days=14 * 365)):
            raise ValidationError("a past date, age 14 to 120")


def _snils_ok(digits: str) -> bool:
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits[:9]))
    check = total % 101 % 100 if total > 100 else total % 100 if total < 100 else 0
    return check == int(digits[9:])


def _inn_ok(digits: str) -> bool:
    def control(weights: tuple[int, ...]) -> int:
        return sum(int(d) * w for d, w in zip(digits, weights)) % 11 % 10

    if len(digits) == 10:
        return control((2, 4, 10, 3, 5, 9, 4, 6, 8)) == int(digits[9])
    return (control((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == int(digits[10])
            and control((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == int(digits[11]))


class Extended(Schema):
    """Расширенная анкета."""

    class Meta:
        unknown = EXCLUDE

    birth_place = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))
    snils = fields.String(allow_none=True)
    inn = fields.String(allow_none=True)
    household_size = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=30))

    @validates("snils")
    def _snils(self, value: str | None, **_: Any) -> None:
        if value is not None and not (re.fullmatch(r"\d{11}", re.sub(r"[\s-]", "", value))
                                      and _snils_ok(re.sub(r"[\s-]", "", value))):
            raise ValidationError("11 digits with a valid check number")

    @validates("inn")
    def _inn(self, value: str | None, **_: Any) -> None:
        if value is not None and not (re.fullmatch(r"\d{10}|\d{12}", value) and _inn_ok(value)):
            raise ValidationError("10 or 12 digits with valid check digits")


class Preferences(Schema):
    """Личные предпочтения: channels for notices and reminders to submit readings."""

    class Meta:
        unknown = EXCLUDE

    notify_sms = fields.Boolean()
    notify_email = fields.Boolean()
    reading_reminders = fields.Boolean()


TABS = {"basic": Basic, "extended": Extended, "preferences": Preferences}


def _check(tab: str, data: object, today: date) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("Неверные данные анкеты", {"body": "expected an object"})
    schema = TABS[tab]()
    schema.context_today = today  # type: ignore[attr-defined]
    unknown = set(data) - set(schema.fields)
    if unknown:
        raise ValidationFailed("Неизвестные поля", {name: "unknown field" for name in unknown})
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed("Проверьте поля анкеты", {
            name: "; ".join(messages) if isinstance(messages, list) else str(messages)
            for name, messages in exc.normalized_messages().items()}) from None
    if "snils" in loaded and loaded["snils"]:
        loaded["snils"] = re.sub(r"[\s-]", "", loaded["snils"])
    return loaded


class Profiles:
    def __init__(self, deps: Deps, notifier: Notifier | None = None) -> None:
        self.d = deps
        self.db = deps.db
        self.notifier = notifier

    def _profile(self, user_id: str) -> Profile:
        profile = self.db.get(Profile, user_id)
        if profile is None:
            profile = Profile(user_id=user_id, notify_sms=True, notify_email=True,
                              reading_reminders=True)
            self.db.add(profile)
        return profile

    def view(self, user_id: str) -> dict[str, Any]:
        profile = self._profile(user_id)
        contact = self.db.get(Contact, user_id)

        def pick(schema: type[Schema]) -> dict[str, Any]:
            out = {}
            for name in schema().fields:
                value = getattr(profile, name)
                out[name] = value.isoformat() if isinstance(value, date) else value
            return out

        return {
            "basic": pick(Basic), "extended": pick(Extended), "preferences": pick(Preferences),
            "contacts": {
                "mobile_phone": contact.phone if contact else None,
                "email": contact.email if contact else None,
                "pending_email": profile.pending_email,
                "extra_phones": json.loads(profile.extra_phones or "[]"),
                "postal_address": profile.postal_address,
            },
            "has_photo": profile.photo is not None,
        }

    def update(self, user_id: str, tab: object, data: object) -> dict[str, Any]:
        """Save one questionnaire tab; only the fields given change (null clears one)."""
        if tab not in TABS:
            raise NotFound("Нет такой вкладки профиля", {"tab": f"one of {', '.join(TABS)}"})
        values = _check(str(tab), data, self.d.now.date())
        profile = self._profile(user_id)
        for name, value in values.items():
            setattr(profile, name, value)
        profile.updated_at = self.d.now
        self.db.commit()
        return self.view(user_id)

    # ---- Контактная информация -----------------------------------------------------------

    def update_contacts(self, user_id: str, email: object = None, extra_phones: object = None,
                        postal_address: object = None) -> dict[str, Any]:
        """Phones and postal address change at once; a new e-mail waits for its link."""
        profile = self._profile(user_id)
        if extra_phones is not None:
            if not isinstance(extra_phones, list) or len(extra_phones) > 5:
                raise ValidationFailed("До 5 дополнительных телефонов",
                                       {"extra_phones": "a list of at most 5 numbers"})
            profile.extra_phones = json.dumps(
                [normalize_contact_phone(p, "extra_phones") for p in extra_phones])
        if postal_address is not None:
            if not isinstance(postal_address, str) or not 5 <= len(postal_address.strip()) <= 500:
                raise ValidationFailed("Укажите почтовый адрес полностью",
                                       {"postal_address": "5 to 500 characters"})
            profile.postal_address = postal_address.strip()
        message = None
        if email is not None:
            address = normalize_email(email)
            token = secrets.token_urlsafe(32)
            profile.pending_email = address
            profile.pending_email_token = hashlib.sha256(token.encode()).hexdigest()
            profile.pending_email_expires = self.d.now + timedelta(hours=EMAIL_LINK_HOURS)
            message = "На новый адрес отправлено письмо со ссылкой для подтверждения"
        profile.updated_at = self.d.now
        self.db.commit()
        if email is not None and self.notifier is not None:
            url = f"{self.d.config['PUBLIC_URL']}/profile/email/confirm?token={token}"
            self.notifier.send_email(address, "Подтверждение адреса электронной почты", (
                "Вы указали этот адрес в личном кабинете АО «НЭСК».\n"
                f"Чтобы получать на него счета и уведомления, перейдите по ссылке:\n{url}\n\n"
                f"Ссылка действует {EMAIL_LINK_HOURS} ч."))
        return {**self.view(user_id), **({"message": message} if message else {})}

    def confirm_email(self, token: object) -> dict[str, Any]:
        """The link from the letter: the pending address becomes the one for bills."""
        if not isinstance(token, str) or not token:
            raise ValidationFailed("Ссылка недействительна", {"token": "required"})
        digest = hashlib.sha256(token.encode()).hexdigest()
        profile = self.db.scalar(select(Profile).where(Profile.pending_email_token == digest))
        if profile is None:
            raise Gone("Ссылка недействительна или уже использована", {"token": "unknown or used"})
        if profile.pending_email_expires <= self.d.now:
            raise Gone("Срок действия ссылки истёк", {"token": "expired"})
        contact = self.db.get(Contact, profile.user_id) or Contact(user_id=profile.user_id)
        contact.email = profile.pending_email
        self.db.add(contact)
        profile.pending_email = profile.pending_email_token = profile.pending_email_expires = None
        # Paperless bills follow the address.
        for link in self.db.scalars(select(Link).where(Link.user_id == profile.user_id,
                                                       Link.paperless.is_(True))):
            link.paperless_email = contact.email
            self.d.record("paperless_consent_changed", {
                "user_id": link.user_id, "number": link.account.number,
                "branch": link.account.branch, "paperless": True, "email": contact.email})
        self.db.commit()
        return {"message": "Адрес электронной почты подтверждён", "email": contact.email}

    # ---- «Изменить фото» -----------------------------------------------------------------

    def set_photo(self, user_id: str, image_base64: object) -> dict[str, Any]:
        """A JPEG or PNG (checked by its content, not its name), at most 5 MB, stored as a
        JPEG no larger than 512×512."""
        raw = decode_upload(image_base64, "image_base64", "Выберите фото")
        if len(raw) > PHOTO_MAX_BYTES:
            raise ValidationFailed("Фото больше 5 МБ", {"image_base64": "larger than 5 MB"})
        profile = self._profile(user_id)
        profile.photo = offload(_normalise_photo, raw)
        profile.updated_at = self.d.now
        self.db.commit()
        return self.get_photo(user_id)

    def get_photo(self, user_id: str) -> dict[str, Any]:
        profile = self.db.get(Profile, user_id)
        if profile is None or profile.photo is None:
            raise NotFound("Фото не загружено", {"photo": "none"})
        return {"content_type": "image/jpeg",
                "image_base64": base64.b64encode(profile.photo).decode()}

    def delete_photo(self, user_id: str) -> None:
        profile = self._profile(user_id)
        profile.photo = None
        self.db.commit()

    def forget(self, user_id: str) -> None:
        """152-ФЗ deletion: the whole profile goes."""
        profile = self.db.get(Profile, user_id)
        if profile is not None:
            self.db.delete(profile)


def _normalise_photo(raw: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            kind = probe.format
            probe.verify()  # structure check, before decoding any pixels
        if kind not in ("JPEG", "PNG"):
            raise ValidationFailed("Загрузите фото в формате JPEG или PNG",
                                   {"image_base64": f"{kind} is not JPEG or PNG"})
        with Image.open(io.BytesIO(raw)) as image:
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise ValidationFailed(TOO_MANY_PIXELS, {"image_base64": "too many pixels"})
            image = image.convert("RGB")
            image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue()
    except Image.DecompressionBombError:
        # Pillow refuses, from the header alone, more than 2 × MAX_IMAGE_PIXELS (a few KB
        # of PNG can declare gigapixels); between the two the check above answers the same.
        raise ValidationFailed(TOO_MANY_PIXELS, {"image_base64": "too many pixels"}) from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationFailed("Это не изображение JPEG или PNG",
                               {"image_base64": "not an image"}) from None
