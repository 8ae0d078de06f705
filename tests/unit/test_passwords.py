"""Password rules and argon2id hashing."""
import pytest

from services.auth.domain.passwords import check_new_password, hash_password, verify_password
from shared.errors import ValidationFailed

GOOD = "Kvartira-42-Svet"


def reason(password, confirmation=None, min_length=6, **names):
    with pytest.raises(ValidationFailed) as info:
        check_new_password(password, password if confirmation is None else confirmation,
                           min_length, **names)
    return info.value.fields


def test_good_password_is_returned():
    assert check_new_password(GOOD, GOOD, 6) == GOOD


@pytest.mark.parametrize("password", ["", None, 123456])
def test_password_is_required(password):
    assert reason(password) == {"password": "required"}


@pytest.mark.parametrize("password", ["      ", " " * 12, "\t\t\t\t\t\t", "\u00a0" * 8,
                                      " \n \n \n "])
def test_blank_password_of_any_length_is_refused(password):
    # Six spaces pass the length rule: the blank check names what is wrong instead.
    assert reason(password) == {"password": "only whitespace"}


def test_spaces_inside_a_real_password_are_kept():
    assert check_new_password(" Kvartira 42 Svet ", " Kvartira 42 Svet ", 6) == " Kvartira 42 Svet "


def test_minimum_length_comes_from_the_argument():
    assert reason("Zk4#q", min_length=6) == {"password": "shorter than 6 characters"}
    assert reason("Zk4#qWm9", min_length=10) == {"password": "shorter than 10 characters"}
    assert check_new_password("Zk4#qW", "Zk4#qW", 6) == "Zk4#qW"


def test_longer_than_256_characters_is_refused():
    assert reason("Zk4#" * 64 + "x") == {"password": "longer than 256 characters"}
    long_ok = "Zk4#" * 64
    assert check_new_password(long_ok, long_ok, 6) == long_ok


@pytest.mark.parametrize("password", ["123456", "qwerty123", "password", "iloveyou",
                                      "12345678", "password1", "PASSWORD", "QwErTy123"])
def test_common_passwords_are_refused_in_any_case(password):
    assert reason(password) == {"password": "too common"}


def test_mismatch_names_the_confirmation_field():
    assert reason(GOOD, GOOD + "!") == {"password_confirmation": "does not match"}


def test_custom_field_names():
    names = {"field": "new_password", "confirmation_field": "new_password_confirmation"}
    assert reason("qwerty123", **names) == {"new_password": "too common"}
    assert reason(GOOD, "other", **names) == {"new_password_confirmation": "does not match"}


def test_hash_is_argon2id_and_verifies():
    hashed = hash_password(GOOD)
    assert hashed.startswith("$argon2id$")
    assert GOOD not in hashed
    assert verify_password(hashed, GOOD) is True


def test_same_password_hashes_differently_each_time():
    assert hash_password(GOOD) != hash_password(GOOD)


def test_wrong_password_is_false():
    assert verify_password(hash_password(GOOD), GOOD + "x") is False


def test_no_hash_is_false_even_for_the_dummy_password():
    assert verify_password(None, GOOD) is False
    assert verify_password(None, "dummy password for timing") is False


@pytest.mark.parametrize("password", [None, 123, b"Kvartira-42-Svet", ["x"]])
def test_non_string_password_is_false(password):
    assert verify_password(hash_password(GOOD), password) is False


@pytest.mark.parametrize("stored", ["", "not a hash", "$2b$12$abcdefghijklmnopqrstuv"])
def test_malformed_stored_hash_is_false(stored):
    assert verify_password(stored, GOOD) is False


def test_empty_stored_hash_never_verifies():
    assert verify_password("", "dummy password for timing") is False
