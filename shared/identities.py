"""Phone numbers and e-mail addresses as users type them, normalised (every service)."""
from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import ValidationFailed

PHONE_MESSAGE = "Введите номер мобильного телефона, например +7 (918) 123-45-67"


def normalize_phone(raw: object, field: str = "phone") -> str:
    """Any usual Russian form (+7 (918) 123-45-67, 8 918 123 45 67, 89181234567) → E.164."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed(PHONE_MESSAGE, {field: "required"})
    text = raw.strip()
    # "8 918 ..." is the domestic trunk form; phonenumbers handles it with region RU.
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException:
        raise ValidationFailed(PHONE_MESSAGE, {field: "not a phone number"})
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(PHONE_MESSAGE, {field: "not a valid number"})
    if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationFailed("SMS можно отправить только на мобильный номер",
                               {field: "not a mobile number"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: object, field: str = "email") -> str:
    """A syntactically valid address, domain lower-cased (no DNS look-up: no network here)."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed("Введите адрес электронной почты", {field: "required"})
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("Неверный адрес электронной почты", {field: str(exc)})
    return result.normalized.lower()


def mask_phone(phone: str) -> str:
    return phone[:-7] + "***" + phone[-4:] if len(phone) > 8 else "***"
