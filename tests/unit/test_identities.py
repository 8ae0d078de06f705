"""Phone numbers and e-mail addresses as users type them."""
import pytest

from shared.identities import normalize_contact_phone, normalize_email, normalize_phone
from shared.errors import ValidationFailed

E164 = "+79181234567"


@pytest.mark.parametrize("raw", ["+7 (918) 123-45-67", "8 918 123 45 67", "89181234567",
                                 "+79181234567", "8(918)123-45-67", "7 918 1234567",
                                 "  +7 918 123-45-67  "])
def test_usual_russian_forms_become_e164(raw):
    assert normalize_phone(raw) == E164


@pytest.mark.parametrize("raw", ["", "   ", None, 123, 79181234567])
def test_missing_phone_is_required(raw):
    with pytest.raises(ValidationFailed) as info:
        normalize_phone(raw)
    assert info.value.fields == {"phone": "required"}


def test_letters_are_not_a_phone_number():
    with pytest.raises(ValidationFailed) as info:
        normalize_phone("abc")
    assert info.value.fields == {"phone": "not a phone number"}


def test_too_short_number_is_not_valid():
    with pytest.raises(ValidationFailed) as info:
        normalize_phone("+7 918 12")
    assert info.value.fields == {"phone": "not a valid number"}


def test_landline_is_refused_because_sms_cannot_reach_it():
    # +7 861 is Krasnodar's fixed-line code: phonenumbers says FIXED_LINE.
    with pytest.raises(ValidationFailed) as info:
        normalize_phone("+7 861 255-55-55")
    assert info.value.fields == {"phone": "not a mobile number"}
    assert "мобильный" in info.value.message


@pytest.mark.parametrize("raw", [None, "abc", "+7 861 255-55-55"])
def test_custom_field_name_is_reported(raw):
    with pytest.raises(ValidationFailed) as info:
        normalize_phone(raw, field="new_phone")
    assert list(info.value.fields) == ["new_phone"]


def test_email_is_lowercased_and_trimmed():
    assert normalize_email("  Ivan.Petrov@Example.COM ") == "ivan.petrov@example.com"


@pytest.mark.parametrize("raw", ["", "  ", None, 42])
def test_missing_email_is_required(raw):
    with pytest.raises(ValidationFailed) as info:
        normalize_email(raw)
    assert info.value.fields == {"email": "required"}


@pytest.mark.parametrize("raw", ["ivan", "ivan@", "@example.com", "ivan@@example.com",
                                 "ivan petrov@example.com", "ivan@example"])
def test_garbage_email_is_refused(raw):
    with pytest.raises(ValidationFailed) as info:
        normalize_email(raw)
    assert list(info.value.fields) == ["email"]
    assert info.value.fields["email"]  # the validator's reason


def test_email_custom_field_name():
    with pytest.raises(ValidationFailed) as info:
        normalize_email("nope", field="new_email")
    assert list(info.value.fields) == ["new_email"]


# ---- contact numbers: landlines too (issue 16) -----------------------------------------------

@pytest.mark.parametrize("raw", ["+7 861 255-55-55", "8 (861) 255-55-55", "88612555555",
                                 "+78612555555", "(861) 255 55 55"])
def test_krasnodar_landline_is_a_contact_number(raw):
    assert normalize_contact_phone(raw) == "+78612555555"


@pytest.mark.parametrize("raw", ["+7 (918) 123-45-67", "8 918 123 45 67"])
def test_mobile_is_a_contact_number_too(raw):
    assert normalize_contact_phone(raw) == E164


def test_toll_free_number_is_not_a_contact_number():
    # 8-800: nobody answers a customer's call-back there; phonenumbers says TOLL_FREE.
    with pytest.raises(ValidationFailed) as info:
        normalize_contact_phone("8 800 100-00-00", field="contact_phone")
    assert info.value.fields == {"contact_phone": "not a mobile or landline number"}
    assert "городского" in info.value.message


@pytest.mark.parametrize("raw, reason", [("", "required"), (None, "required"),
                                         ("abc", "not a phone number"),
                                         ("+7 861 25", "not a valid number")])
def test_contact_number_refusals_name_the_field(raw, reason):
    with pytest.raises(ValidationFailed) as info:
        normalize_contact_phone(raw, field="extra_phones")
    assert info.value.fields == {"extra_phones": reason}
