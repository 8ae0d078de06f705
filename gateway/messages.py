"""The gateway's own words in Russian: the shape errors of its marshmallow schemas (by field)
and its HTTP errors (unknown route, wrong method, too large a body).

Marshmallow's default messages are English ("Missing data for required field."); every
field of a gateway schema gets the Russian ones here when its schema binds it (see
:class:`gateway.schemas.Strict`), unless the schema gave the field a message of its own.
Integers are also bounded to the 64-bit signed range, so a huge number never reaches a
database driver (OverflowError, a 500) but is refused as the field's error.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

from marshmallow import ValidationError, fields, validate

from shared.error_texts import FIELD_MESSAGES, SCHEMA_MESSAGES

INT64_MIN, INT64_MAX = -2**63, 2**63 - 1

# The gateway's HTTP errors that no service answers.
HTTP_MESSAGES = {
    400: "Неверный запрос",
    404: "Такого адреса в API нет",
    405: "Этот метод для адреса не поддерживается",
    413: "Слишком большой запрос",
    415: "Неподдерживаемый тип содержимого",
    429: "Слишком много запросов, подождите немного",
}
HTTP_FALLBACK = "Не удалось обработать запрос"


class Int64(validate.Validator):
    """A whole number a 64-bit signed column can hold; the field's error otherwise."""

    error = "Число вне допустимого диапазона"

    def __call__(self, value: Any) -> Any:
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise ValidationError("Слишком большое число" if value > 0
                                  else "Слишком маленькое число")
        return value


def _library_defaults(field: fields.Field) -> dict[str, str]:
    merged: dict[str, str] = {}
    for cls in reversed(type(field).__mro__):
        merged.update(getattr(cls, "default_error_messages", {}))
    return merged


def _russian(field: fields.Field, key: str) -> str | None:
    for cls in type(field).__mro__:
        text = FIELD_MESSAGES.get(cls, {}).get(key)
        if text:
            return text
    return None


def russify_field(field: fields.Field) -> None:
    """Give ``field`` (and the fields inside it) Russian messages where it kept marshmallow's
    English defaults, Russian validator messages, and the 64-bit bound of an integer.

    A schema instance's fields are shallow copies of the declared ones (marshmallow), so
    the messages and validators are copied before they change: the class stays as written."""
    field.error_messages = dict(field.error_messages)
    field.validators = [copy.copy(v) for v in field.validators]
    defaults = _library_defaults(field)
    for key, text in list(field.error_messages.items()):
        russian = _russian(field, key)
        if russian and text == defaults.get(key):
            field.error_messages[key] = russian
    unit = "элементов" if isinstance(field, (fields.List, fields.Tuple)) else "символов"
    for validator in field.validators:
        _russify_validator(validator, unit)
    if isinstance(field, fields.Integer) and not any(
            isinstance(v, Int64) for v in field.validators):
        field.validators.insert(0, Int64())
    for inner in _inner_fields(field):
        russify_field(inner)


def _inner_fields(field: fields.Field) -> Iterable[fields.Field]:
    if isinstance(field, fields.List):
        yield field.inner
    elif isinstance(field, fields.Tuple):
        yield from field.tuple_fields
    elif isinstance(field, fields.Mapping):
        yield from (f for f in (field.key_field, field.value_field) if f is not None)


def _russify_validator(v: Any, unit: str) -> None:
    """Instance attributes shadow the English class texts; a message the schema wrote
    itself (``error=``) is kept."""
    if isinstance(v, validate.Length):
        v.message_min = f"Не короче {{min}} {unit}"
        v.message_max = f"Не длиннее {{max}} {unit}"
        v.message_all = f"Длина — от {{min}} до {{max}} {unit}"
        v.message_equal = f"Длина — ровно {{equal}} {unit}"
    elif isinstance(v, validate.Range):
        low = "не меньше" if v.min_inclusive else "больше"
        high = "не больше" if v.max_inclusive else "меньше"
        v.message_min = f"Должно быть {low} {{min}}"
        v.message_max = f"Должно быть {high} {{max}}"
        v.message_all = (f"Должно быть от {{min}} до {{max}}" if v.min_inclusive
                         and v.max_inclusive else f"Должно быть {low} {{min}} и {high} {{max}}")
    elif isinstance(v, validate.OneOf) and v.error == validate.OneOf.default_message:
        v.error = "Допустимые значения: {choices}"
    elif isinstance(v, validate.Regexp) and v.error == validate.Regexp.default_message:
        v.error = "Неверный формат"
    elif isinstance(v, validate.Email) and v.error == validate.Email.default_message:
        v.error = "Неверный адрес электронной почты"
    elif isinstance(v, validate.URL) and v.error == validate.URL.default_message:
        v.error = "Неверная ссылка (URL)"
    elif isinstance(v, (validate.Equal, validate.NoneOf, validate.ContainsOnly)) and \
            v.error == type(v).default_message:
        v.error = "Недопустимое значение"


NUL_TEXT = "Недопустимый символ NUL (\\u0000)"


def nul_fields(data: dict[str, Any]) -> dict[str, str]:
    """{field: NUL_TEXT} for each top-level field holding a NUL character anywhere inside:
    PostgreSQL stores no NUL in text (psycopg2 raises ValueError, a 500), none means one."""
    return {str(name): NUL_TEXT for name, value in data.items()
            if "\x00" in str(name) or _has_nul(value)}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def field_details(messages: Any) -> dict[str, str]:
    """marshmallow's ``normalized_messages()`` as {top-level field: one Russian line}: the
    field names stay the keys; what is wrong inside a list or an object (items[0].amount)
    is told under the field that holds it, each message once."""
    return {str(name): "; ".join(dict.fromkeys(_leaves(problems)))
            for name, problems in messages.items()}


def _leaves(problems: Any) -> Iterable[str]:
    if isinstance(problems, dict):
        for value in problems.values():
            yield from _leaves(value)
    elif isinstance(problems, (list, tuple)):
        for value in problems:
            yield from _leaves(value)
    else:
        yield str(problems)
