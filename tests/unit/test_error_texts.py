"""Every field detail a service raises reaches a person in Russian (shared/error_texts.py),
while the detail itself stays the code programs compare (``field_codes``)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared import errors
from shared.error_texts import CODES, CYRILLIC, russian_detail

ROOT = Path(__file__).resolve().parents[2]
ERRORS = {cls.__name__ for cls in errors.ALL}
MESSAGE = "Сообщение ошибки"
VALIDATORS = {"Length", "Range", "OneOf", "Regexp", "Equal", "NoneOf", "ContainsOnly",
              "Predicate", "Email", "URL"}


def _raised_details() -> set[str]:
    """The literal field details in the services, shared/ and the gateway: of every
    ``SomeError("…", {"field": "detail"})``, and the words of their marshmallow schemas
    (``error="…"``, ``error_messages={…}``, ``ValidationError("…")``)."""
    found: set[str] = set()
    for folder in ("services", "shared", "gateway"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    found |= _literals(node)
    return found


def _strings(node: ast.AST | None) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Dict):
        return {v.value for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return set()


def _literals(call: ast.Call) -> set[str]:
    name = getattr(call.func, "id", getattr(call.func, "attr", ""))
    found: set[str] = set()
    if name in ERRORS and len(call.args) > 1 and isinstance(call.args[1], ast.Dict):
        found |= _strings(call.args[1])
    if name == "ValidationError" and call.args:
        found |= _strings(call.args[0])
    for keyword in call.keywords:
        # error= of a validator (not segno's error-correction level "m")
        if keyword.arg == "error" and name in VALIDATORS or keyword.arg == "error_messages":
            found |= _strings(keyword.value)
    return found


def test_every_literal_detail_the_code_raises_has_russian_words():
    details = _raised_details()
    assert len(details) > 50  # the scan sees the services
    untold = sorted(d for d in details if not CYRILLIC.search(d)
                    and russian_detail(d, MESSAGE) == MESSAGE)
    assert not untold, f"add these to shared/error_texts.py CODES: {untold}"


def test_every_code_is_told_in_russian_without_english_sentences():
    for code, text in CODES.items():
        assert CYRILLIC.search(text), code
        assert not re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", text), text


@pytest.mark.parametrize("detail,russian", [
    ("shorter than 8 characters", "Короче 8 символов"),
    ("Missing data for required field.", "Обязательное поле"),
    ("Not a valid integer.", "Должно быть целым числом"),
    ("Shorter than minimum length 3.", "Не короче 3 символов"),
    ("Unknown field.; Not a valid string.", "Неизвестное поле; Должно быть строкой"),
    ("An email address must have an @-sign.", "Неверный адрес электронной почты"),
    ("window closed; next window 2026-01-15 to 2026-01-25",
     "Приём показаний закрыт; следующий — с 2026-01-15 по 2026-01-25"),
    ("Обязательное поле", "Обязательное поле"),
    ("something nobody wrote down", MESSAGE),
])
def test_details_with_values_and_marshmallow_defaults(detail, russian):
    assert russian_detail(detail, MESSAGE) == russian


def test_the_answer_has_russian_fields_and_the_codes_beside_them():
    body = errors.Gone("Код устарел", {"code": "expired", "phone": "Неверный номер"}).to_dict()
    assert body["fields"] == {"code": "Срок истёк", "phone": "Неверный номер"}
    assert body["field_codes"] == {"code": "expired", "phone": "Неверный номер"}
    english = errors.Conflict("payment p1 is succeeded: it takes no card", {"payment": "x y"})
    assert english.to_dict()["message"] == "Сейчас это действие невозможно"
    assert english.to_dict()["fields"] == {"payment": "Сейчас это действие невозможно"}
