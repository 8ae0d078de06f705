"""Russian words for what the services say about a field.

A service raises e.g. ``Gone("Код устарел", {"code": "expired"})``: the detail "expired" is a
code that programs (the web cabinet, tests, billing's rejections) compare, so it stays as it
is in the error and on the bus. What a person reads is the answer of the API: there each
field's detail is told in Russian (``fields``), and the codes go beside it (``field_codes``).
This module holds those words, in one place: the codes the services raise, marshmallow's
English default messages (a service schema that kept them), and the messages of the
libraries a detail may come from; a detail it does not know is told with the error's own
message, which is Russian.
"""
from __future__ import annotations

import re
from typing import Callable

from marshmallow import fields, validate

CYRILLIC = re.compile(r"[А-Яа-яЁё]")

# Field messages by marshmallow field class; a class's own dict wins over its bases'.
FIELD_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {
        "required": "Обязательное поле",
        "null": "Поле не может быть пустым (null)",
        "validator_failed": "Недопустимое значение",
    },
    fields.String: {"invalid": "Должно быть строкой",
                    "invalid_utf8": "Должно быть строкой в кодировке UTF-8"},
    fields.Number: {"invalid": "Должно быть числом", "too_large": "Слишком большое число"},
    fields.Integer: {"invalid": "Должно быть целым числом"},
    fields.Float: {"special": "Должно быть конечным числом"},
    fields.Decimal: {"special": "Должно быть конечным числом"},
    fields.Boolean: {"invalid": "Должно быть логическим значением (true или false)"},
    fields.List: {"invalid": "Должно быть списком"},
    fields.Tuple: {"invalid": "Должно быть списком"},
    fields.Nested: {"type": "Должно быть JSON-объектом"},
    fields.Mapping: {"invalid": "Должно быть JSON-объектом"},
    fields.DateTime: {"invalid": "Должно быть датой и временем ISO 8601",
                      "invalid_awareness": "Неверное указание часового пояса",
                      "format": "Дату и время нельзя записать в этом формате"},
    fields.Date: {"invalid": "Должно быть датой ГГГГ-ММ-ДД",
                  "format": "Дату нельзя записать в этом формате"},
    fields.Time: {"invalid": "Должно быть временем ЧЧ:ММ"},
    fields.TimeDelta: {"invalid": "Должно быть промежутком времени"},
    fields.Email: {"invalid": "Неверный адрес электронной почты"},
    fields.URL: {"invalid": "Неверная ссылка (URL)"},
    fields.UUID: {"invalid_uuid": "Должно быть идентификатором UUID"},
    fields.Enum: {"unknown": "Допустимые значения: {choices}"},
}
# Schema-level messages (a gateway schema's ``error_messages``).
SCHEMA_MESSAGES = {"unknown": "Неизвестное поле", "type": "Должно быть JSON-объектом"}

# The field detail codes the services raise, word for word.
CODES: dict[str, str] = {
    "+7XXXXXXXXXX": "Номер в формате +7XXXXXXXXXX",
    "1 to 20 items": "От 1 до 20 строк",
    "1 to 255 visible ASCII characters": "От 1 до 255 видимых символов ASCII",
    "2 to 40 of a-z, 0-9, _ starting with a letter":
        "От 2 до 40 символов a-z, 0-9, _, первый — буква",
    "3 to 200 characters": "От 3 до 200 символов",
    "5 to 20 digits": "От 5 до 20 цифр",
    "5 to 500 characters": "От 5 до 500 символов",
    "8 to 64 characters": "От 8 до 64 символов",
    "SMS delivery failed": "Не удалось отправить SMS",
    "YYYY-MM": "Месяц в формате ГГГГ-ММ",
    "YYYY-MM-DD": "Дата в формате ГГГГ-ММ-ДД",
    "a branch code": "Код филиала",
    "a list of at most 5 numbers": "Список не более чем из 5 чисел",
    "a list of files": "Должно быть списком файлов",
    "a whole number": "Должно быть целым числом",
    "accept or reject": "Допустимые значения: accept, reject",
    "account deleted": "Учётная запись удалена",
    "accounts": "Сервис лицевых счетов не ответил",
    "address taken": "Адрес уже занят",
    "after date_to": "Позже конечной даты",
    "algorithm not allowed": "Недопустимый алгоритм подписи токена",
    "already a holder": "Уже владелец счёта",
    "already linked": "Счёт уже добавлен",
    "already registered": "Уже зарегистрирован",
    "already used": "Уже использовано",
    "already used for another payment": "Уже использован для другого платежа",
    "an object": "Должно быть JSON-объектом",
    "an object with filename and content_base64":
        "Должно быть JSON-объектом с полями filename и content_base64",
    "answer unreadable: use a new key": "Ответ не сохранился: повторите с новым ключом",
    "does not match": "Не совпадает",
    "duplicate": "Повторяется",
    "e-mail delivery failed": "Не удалось отправить письмо",
    "e-mail or phone required for the receipt": "Для чека нужен e-mail или телефон",
    "electricity or penalty": "Допустимые значения: electricity, penalty",
    "expected an object": "Должно быть JSON-объектом",
    "expired": "Срок истёк",
    "file erased": "Файл удалён",
    "file missing": "Файл не найден",
    "from 0.01 to 1000000.00": "От 0,01 до 1 000 000,00",
    "give a phone or an e-mail": "Укажите телефон или e-mail",
    "give one": "Укажите что-то одно",
    "hourly limit": "Исчерпан лимит на час",
    "hourly limit for this address": "Исчерпан лимит на час для этого адреса",
    "implausibly high: confirm": "Подозрительно большой расход: подтвердите",
    "in progress": "Уже выполняется",
    "in the past": "Дата в прошлом",
    "invalid signature or format": "Неверная подпись или формат",
    "issued in the future": "Дата выдачи в будущем",
    "larger than 5 MB": "Больше 5 МБ",
    "less than previous": "Меньше предыдущих показаний",
    "locked": "Временно заблокировано",
    "longer than 256 characters": "Длиннее 256 символов",
    "meter decommissioned": "Счётчик снят с учёта",
    "missing": "Не указано",
    "missing Bearer token": "Нужен заголовок Authorization: Bearer <токен>",
    "more than a year ahead": "Больше чем на год вперёд",
    "must be a string": "Должно быть строкой",
    "must be an integer": "Должно быть целым числом",
    "must be boolean": "Должно быть логическим значением (true или false)",
    "negative": "Не может быть отрицательным",
    "never finished: use a new key": "Запрос не завершился: повторите с новым ключом",
    "no autopay": "Автоплатёж не подключён",
    "no charge for this period": "Нет начисления за этот период",
    "no confirmed e-mail": "Нет подтверждённого e-mail",
    "no such document": "Документ не найден",
    "no such request": "Заявка не найдена",
    "no such user": "Пользователь не найден",
    "non-negative whole kWh per zone": "Целое неотрицательное число кВт·ч по каждой зоне",
    "none": "Нет ни одного",
    "not a mobile number": "Не мобильный номер",
    "not a mobile or landline number": "Не мобильный и не городской номер",
    "not a phone number": "Не номер телефона",
    "not a trusted person": "Не доверенное лицо",
    "not a valid number": "Неверное число",
    "not an access token": "Не токен доступа",
    "not an e-mail": "Не адрес электронной почты",
    "not an image": "Не изображение",
    "not an operator": "Не оператор",
    "not base64": "Не в кодировке base64",
    "not configured": "Не настроено",
    "not for penalties": "Не для пеней",
    "not found in this branch": "Не найдено в этом филиале",
    "not in the accounts registry": "Нет в реестре лицевых счетов",
    "not in this request": "Нет в этой заявке",
    "not linked to you": "Не добавлен в ваш кабинет",
    "not on this account": "Не на этом лицевом счёте",
    "not one of your cards": "Не ваша карта",
    "not sandbox": "Не песочница",
    "not the account's branch": "Не филиал этого счёта",
    "not the holder": "Не владелец счёта",
    "not yours or missing": "Не найдено среди ваших",
    "only whitespace": "Только пробелы",
    "only with accept": "Только при принятии",
    "password changed since": "Пароль с тех пор сменён",
    "read or full": "Допустимые значения: read, full",
    "read-only access": "Доступ только для просмотра",
    "required": "Обязательное поле",
    "required for this work": "Обязательно для этой работы",
    "required without an account": "Обязательно, когда лицевой счёт не указан",
    "resend cooldown": "Повторно отправить можно чуть позже",
    "reused: session revoked": "Использован повторно: сессия завершена",
    "roubles with at most 2 decimals": "Рубли, не более 2 знаков после запятой",
    "session ended": "Сессия завершена",
    "taken": "Уже занято",
    "token expired": "Срок действия токена истёк",
    "too common": "Слишком простой пароль",
    "too many attempts": "Слишком много попыток",
    "too many failed attempts": "Слишком много неудачных попыток",
    "too many failures from this address": "Слишком много ошибок с этого адреса",
    "too many pixels": "Слишком большое изображение",
    "unchanged": "Не изменилось",
    "unknown": "Неизвестное значение",
    "unknown branch": "Неизвестный филиал",
    "unknown document type": "Неизвестный тип документа",
    "unknown field": "Неизвестное поле",
    "unknown or not offered": "Неизвестно или недоступно",
    "unknown or used": "Неизвестно или уже использовано",
    "used with a different request": "Использован с другим запросом",
    "user gone": "Пользователь удалён",
    "wrong": "Неверное значение",
    "wrong login or password": "Неверный логин или пароль",
    "wrong purpose": "Ссылка для другого действия",
    "yourself": "Нельзя указать себя",
    "card only with save_card or card_ref": "Карта — только вместе с save_card или card_ref",
    # payment providers' reasons (services/payments/providers: the sandbox's and Stripe's codes)
    "payment_intent_unexpected_state": "Платёж уже в другом состоянии: это действие недоступно",
    "payment_method_unexpected_state": "Карта сейчас недоступна для этого действия",
    "idempotency_error": "Ключ повтора уже использован с другими данными",
    "amount_too_large": "Сумма больше допустимой",
    "customer_required": "Нужен покупатель (карта сохраняется только за ним)",
    "invalid_request": "Неверный запрос к платёжному сервису",
    "malformed_event": "Неверный формат уведомления",
    "method_unsupported": "Способ оплаты не поддерживается",
    "provider_auth_failed": "Платёжный сервис отклонил наши ключи",
    "unknown_payment": "Платёж не найден",
    "resource_missing": "Не найдено у платёжного сервиса",
    "provider_error": "Платёжный сервис отказал",
    "no receipt contact": "Нет e-mail или телефона для чека",
    "true or false": "Должно быть логическим значением (true или false)",
    # the words of the services' own marshmallow schemas (requests' forms, the profile)
    "at most 2 decimal places (kopecks)": "Не больше 2 знаков после запятой (копейки)",
    "a past date, age 14 to 120": "Дата в прошлом, возраст от 14 до 120 лет",
    "11 digits with a valid check number": "11 цифр с верным контрольным числом",
    "10 or 12 digits with valid check digits": "10 или 12 цифр с верными контрольными цифрами",
    "no such account": "Нет такого лицевого счёта",
    "ISO 8601 date and time, e.g. 2026-12-15T10:00:00+03:00":
        "Дата и время ISO 8601, например 2026-12-15T10:00:00+03:00",
    "a date YYYY-MM-DD": "Дата в формате ГГГГ-ММ-ДД",
    "a number of roubles": "Сумма в рублях",
    "Cyrillic letters, spaces or hyphens": "Только кириллица, пробелы и дефисы",
    "Latin letters, spaces, hyphens or apostrophes": "Только латиница, пробелы, дефисы и апострофы",
    "ISO 3166 two-letter code, e.g. RU": "Двухбуквенный код страны ISO 3166, например RU",
    "needs a time zone offset, e.g. +03:00": "Укажите часовой пояс, например +03:00",
}

_Rule = tuple["re.Pattern[str]", Callable[["re.Match[str]"], str]]


def _rule(pattern: str, text: str) -> _Rule:
    """A detail with values in it (``shorter than 8 characters``): the groups by name."""
    return re.compile(pattern + r"\Z"), lambda m: text.format(**m.groupdict())


# Details with values in them (f-strings in the services).
PATTERNS: list[_Rule] = [
    _rule(r"shorter than (?P<n>\d+) characters", "Короче {n} символов"),
    _rule(r"longer than (?P<n>\d+)(?: characters)?", "Длиннее {n} символов"),
    _rule(r"larger than (?P<n>\d+) bytes", "Больше {n} байт"),
    _rule(r"more than (?P<n>\d+) digits", "Больше {n} цифр"),
    _rule(r"at most (?P<n>\d+) files", "Не больше {n} файлов"),
    _rule(r"at most (?P<n>\d+) documents awaiting review",
          "Не больше {n} документов на проверке"),
    _rule(r"at most (?P<n>[\d.]+)", "Не больше {n}"),
    _rule(r"(?P<n>\d+) characters", "Нужно символов: {n}"),
    _rule(r"(?P<a>\d+) to (?P<b>\d+) characters", "От {a} до {b} символов"),
    _rule(r"(?P<a>\d[\d ]*) to (?P<b>\d[\d ]*)", "От {a} до {b}"),
    _rule(r"a list of (?P<n>\d+) number\(s\)", "Список из {n} чисел (по зонам счётчика)"),
    _rule(r"accept the current consent, version (?P<v>\S+)",
          "Примите действующее согласие, версия {v}"),
    _rule(r"window closed; next window (?P<a>\S+) to (?P<b>\S+)",
          "Приём показаний закрыт; следующий — с {a} по {b}"),
    _rule(r"(?P<s>\w+): cannot (?P<a>\w+)", "В статусе {s} действие {a} недоступно"),
    _rule(r"(?P<s>\w+): closed", "Заявка закрыта ({s})"),
    _rule(r"status is (?P<s>\w+)", "Статус платежа: {s}"),
    _rule(r"one of (?P<v>.+)", "Допустимые значения: {v}"),
    _rule(r"not supported by (?P<v>\S+)", "Не подходит для документа {v}"),
    _rule(r"(?P<k>\S+) is not JPEG or PNG", "Не JPEG и не PNG ({k})"),
    _rule(r"none for (?P<c>\S+) on (?P<d>\S+)", "Нет тарифа {c} на {d}"),
    _rule(r"no (?P<z>\d)-zone prices for (?P<c>\S+) from (?P<d>\S+)",
          "Нет цен для {z}-зонного счётчика, категория {c}, с {d}"),
    _rule(r"role (?P<r>\w+)", "Роль {r} не даёт доступа"),
    _rule(r"invalid token: .*", "Токен повреждён или подделан"),
    # email-validator's sentences (shared/identities.py passes them on)
    _rule(r".*\b(?:email address|domain name|@-sign)\b.*", "Неверный адрес электронной почты"),
]


def _marshmallow_defaults() -> dict[str, str]:
    """marshmallow's English default messages of fields and schemas, in Russian (the
    words of gateway schemas, :mod:`gateway.messages`, are the same)."""
    texts: dict[str, str] = {"Invalid input type.": SCHEMA_MESSAGES["type"],
                             "Unknown field.": SCHEMA_MESSAGES["unknown"],
                             "Invalid input.": "Недопустимое значение",
                             "Not a valid email address.": "Неверный адрес электронной почты",
                             "Not a valid URL.": "Неверная ссылка (URL)",
                             "String does not match expected pattern.": "Неверный формат"}
    for cls, russian in FIELD_MESSAGES.items():
        for key, text in russian.items():
            english = getattr(cls, "default_error_messages", {}).get(key)
            if english and "{" not in english:
                texts.setdefault(english, text)
    return texts


MARSHMALLOW = _marshmallow_defaults()
# marshmallow's validator templates ("Shorter than minimum length {min}.")
PATTERNS += [
    _rule(r"Shorter than minimum length (?P<n>\d+)\.", "Не короче {n} символов"),
    _rule(r"Longer than maximum length (?P<n>\d+)\.", "Не длиннее {n} символов"),
    _rule(r"Length must be between (?P<a>\d+) and (?P<b>\d+)\.", "Длина — от {a} до {b} символов"),
    _rule(r"Length must be (?P<n>\d+)\.", "Длина — ровно {n} символов"),
    _rule(r"Must be one of: (?P<v>.*)\.", "Допустимые значения: {v}"),
    _rule(r"Must be greater than or equal to (?P<n>\S+) and less than or equal to (?P<m>\S+)\.",
          "Должно быть от {n} до {m}"),
    _rule(r"Must be (?:greater than or equal to|greater than) (?P<n>\S+)\.",
          "Должно быть не меньше {n}"),
    _rule(r"Must be (?:less than or equal to|less than) (?P<n>\S+)\.",
          "Должно быть не больше {n}"),
    _rule(r"Must be .*\.", "Недопустимое значение"),
]
assert validate.Length.message_min.startswith("Shorter than minimum length"), \
    "marshmallow's words changed: update PATTERNS"
assert fields.Field.default_error_messages["required"] == "Missing data for required field."


def russian_detail(detail: str, message: str) -> str:
    """``detail`` for a person: as it is when Russian already, else its Russian words, else
    ``message`` (the error's own, Russian) when nothing here knows it."""
    whole = _one(detail)
    if whole is not None:
        return whole
    parts = [part.strip() for part in detail.split(";")]
    texts = [_one(part) for part in parts if part]
    if not texts or None in texts:
        return message
    return "; ".join(dict.fromkeys(t for t in texts if t))


def _one(part: str) -> str | None:
    if CYRILLIC.search(part):
        return part
    known = CODES.get(part) or MARSHMALLOW.get(part)
    if known:
        return known
    for pattern, text in PATTERNS:
        match = pattern.match(part)
        if match:
            return text(match)
    return None
