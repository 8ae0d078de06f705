"""Password policy and argon2id hashing."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from shared.blocking import offload
from shared.errors import ValidationFailed

# The 10 000 most used passwords (zxcvbn's list, from leaked password sets).
_COMMON = frozenset(FREQUENCY_LISTS["passwords"][:10000])

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the identity is unknown, so a miss costs the same time as a hit.
_DUMMY_HASH = _hasher.hash("dummy password for timing")


def check_new_password(password: object, confirmation: object, min_length: int,
                       field: str = "password",
                       confirmation_field: str = "password_confirmation") -> str:
    if not isinstance(password, str) or not password:
        raise ValidationFailed("Введите пароль", {field: "required"})
    if not password.strip():  # six spaces are six characters, but no secret
        raise ValidationFailed("Пароль не может состоять только из пробелов",
                               {field: "only whitespace"})
    if len(password) < min_length:
        raise ValidationFailed(f"Пароль должен содержать не менее {min_length} символов",
                               {field: f"shorter than {min_length} characters"})
    if len(password) > 256:
        raise ValidationFailed("Пароль слишком длинный", {field: "longer than 256 characters"})
    if password.lower() in _COMMON:
        raise ValidationFailed("Этот пароль слишком распространён, придумайте другой",
                               {field: "too common"})
    if password != confirmation:
        raise ValidationFailed("Пароль и подтверждение не совпадают",
                               {confirmation_field: "does not match"})
    return password


def hash_password(password: str) -> str:
    return offload(_hasher.hash, password)


def verify_password(password_hash: str | None, password: object) -> bool:
    """True if ``password`` matches; constant work whether or not a hash exists."""
    if not isinstance(password, str):
        password = ""
    try:
        return offload(_hasher.verify, password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
