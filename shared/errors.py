"""Typed domain errors that cross nameko RPC and become one HTTP error shape.

A service raises e.g. ``ValidationFailed("Неверный код", fields={"code": "..."})``.
Nameko serialises it with its module path; because every class here is registered
with ``deserialize_to_instance``, the caller (the gateway, or another service) gets
the same type back, with the same arguments, and the gateway turns it into
``{"error": {"code", "message", "fields", "field_codes"}}`` with the class's HTTP status:
``fields`` tells a person what is wrong with each field, in Russian; ``field_codes`` keeps
every detail as raised (stable English codes such as "expired") for programs.
"""
from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance

from shared.error_texts import CYRILLIC, russian_detail


class DomainError(Exception):
    """Base of every error a client may be shown. ``code`` is stable; ``status`` is HTTP."""

    code = "error"
    status = 400
    generic = "Не удалось выполнить запрос"  # the message when one was raised in English

    def __init__(self, message: str, fields: dict[str, str] | None = None,
                 retry_after: int | None = None) -> None:
        # Positional args only: nameko rebuilds the instance as cls(*args), after turning
        # every non-string argument into a string (hence the int() below).
        retry_after = int(retry_after) if retry_after not in (None, "None") else None
        super().__init__(message, fields or {}, retry_after)
        self.message = message
        self.fields = {str(k): str(v) for k, v in (fields or {}).items()}
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        """The answer's ``error`` object: every text in it Russian (see the module)."""
        message = self.message if CYRILLIC.search(self.message) else self.generic
        body: dict[str, Any] = {"code": self.code, "message": message}
        if self.fields:
            body["fields"] = {name: russian_detail(detail, message)
                              for name, detail in self.fields.items()}
            body["field_codes"] = dict(self.fields)
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body

    def __str__(self) -> str:
        return self.message


def _error(code: str, status: int, doc: str, generic: str):
    """Define and register a DomainError subclass (they differ only in code and status)."""
    cls = type(code.title().replace("_", ""), (DomainError,), {
        "code": code, "status": status, "generic": generic, "__doc__": doc,
        "__module__": __name__})
    return deserialize_to_instance(cls)


BadRequest = _error("bad_request", 400, "The request is malformed (not JSON, wrong types).",
                    "Неверный формат запроса")
ValidationFailed = _error("validation_failed", 422, "A field's value breaks a rule.",
                          "Значение поля нарушает правило")
Unauthorized = _error("unauthorized", 401, "No valid credentials or token.",
                      "Требуется вход в личный кабинет")
Forbidden = _error("forbidden", 403, "The caller may not touch this resource.",
                   "Недостаточно прав")
NotFound = _error("not_found", 404, "No such resource, or not the caller's.", "Не найдено")
Conflict = _error("conflict", 409, "The resource's state forbids this (e.g. already used).",
                  "Сейчас это действие невозможно")
Gone = _error("gone", 410, "A link or code that has expired or was used.",
              "Ссылка или код истекли или уже использованы")
Locked = _error("locked", 423, "The identity is locked for a while after failed attempts.",
                "Вход временно заблокирован")
TooManyRequests = _error("too_many_requests", 429, "A rate limit or cooldown; see retry_after.",
                         "Слишком много попыток, подождите немного")
ServiceUnavailable = _error("service_unavailable", 503, "A service did not answer in time.",
                            "Сервис временно недоступен, попробуйте через минуту")

ALL: tuple[type[DomainError], ...] = (
    BadRequest, ValidationFailed, Unauthorized, Forbidden, NotFound, Conflict, Gone, Locked,
    TooManyRequests, ServiceUnavailable,
)
