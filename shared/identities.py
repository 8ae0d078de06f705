"""Phone numbers and e-mail addresses as users type them, normalised (every service).

Two kinds of phone number: a number we send SMS codes to (login, registration, recovery,
the trusted person's identity) must be a mobile, while a number we only call or show to an
operator (extra contact phones, a works request's contact phone, a contract request) may be
a landline too — many households in the Kuban give their home number.
"""
from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import ValidationFailed

PHONE_MESSAGE = "Введите номер мобильного телефона, например +7 (918) 123-45-67"
CONTACT_PHONE_MESSAGE = ("Введите номер телефона, мобильного или городского, например "
                         "+7 (918) 123-45-67 или 8 (861) 255-55-55")
_MOBILE = frozenset({phonenumbers.PhoneNumberType.MOBILE,
                     phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
# Numbers a person answers: no toll-free, premium-rate, VoIP or paging numbers.
_CONTACT = _MOBILE | {phonenumbers.PhoneNumberType.FIXED_LINE}


def _parse_phone(raw: object, field: str, message: str) -> phonenumbers.PhoneNumber:
    """Any usual Russian form (+7 (918) 123-45-67, 8 918 123 45 67, 89181234567) parsed and
    checked against the numbering plan; the caller checks the number's type."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed(message, {field: "required"})
    # "8 918 ..." is the domestic trunk form; phonenumbers handles it with region RU.
    try:
        number = phonenumbers.parse(raw.strip(), "RU")
    except phonenumbers.NumberParseException:
        raise ValidationFailed(message, {field: "not a phone number"})
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(message, {field: "not a valid number"})
    return number


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: object, field: str = "phone") -> str:
    """A number SMS codes go to (login and its proofs): a mobile, as E.164."""
    number = _parse_phone(raw, field, PHONE_MESSAGE)
    if phonenumbers.number_type(number) not in _MOBILE:
        raise ValidationFailed("SMS можно отправить только на мобильный номер",
                               {field: "not a mobile number"})
    return _e164(number)


def normalize_contact_phone(raw: object, field: str = "phone") -> str:
    """A number to call the customer on: a mobile or a landline (+7 861 ...), as E.164."""
    number = _parse_phone(raw, field, CONTACT_PHONE_MESSAGE)
    if phonenumbers.number_type(number) not in _CONTACT:
        raise ValidationFailed(CONTACT_PHONE_MESSAGE, {field: "not a mobile or landline number"})
    return _e164(number)


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
