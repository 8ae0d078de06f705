"""Typed domain errors that cross nameko RPC and become one HTTP error shape.

A service raises e.g. ``ValidationFailed("Неверный код", fields={"code": "..."})``.
Nameko serialises it with its module path; because every class here is registered
with ``deserialize_to_instance``, the caller (the gateway, or another service) gets
the same type back, with the same arguments, and the gateway turns it into
``{"error": {"code", "message", "fields"}}`` with the class's HTTP status.
"""
from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    """Base of every error a client may be shown. ``code`` is stable; ``status`` is HTTP."""

    code = "error"
    status = 400

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
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body

    def __str__(self) -> str:
        return self.message


def _error(code: str, status: int, doc: str):
    """Define and register a DomainError subclass (they differ only in code and status)."""
    cls = type(code.title().replace("_", ""), (DomainError,), {
        "code": code, "status": status, "__doc__": doc, "__module__": __name__})
    return deserialize_to_instance(cls)


BadRequest = _error("bad_request", 400, "The request is malformed (not JSON, wrong types).")
ValidationFailed = _error("validation_failed", 422, "A field's value breaks a rule.")
Unauthorized = _error("unauthorized", 401, "No valid credentials or token.")
Forbidden = _error("forbidden", 403, "The caller may not touch this resource.")
NotFound = _error("not_found", 404, "No such resource, or not the caller's.")
Conflict = _error("conflict", 409, "The resource's state forbids this (e.g. already used).")
Gone = _error("gone", 410, "A link or code that has expired or was used.")
Locked = _error("locked", 423, "The identity is locked for a while after failed attempts.")
TooManyRequests = _error("too_many_requests", 429, "A rate limit or cooldown; see retry_after.")
ServiceUnavailable = _error("service_unavailable", 503, "A service did not answer in time.")

ALL: tuple[type[DomainError], ...] = (
    BadRequest, ValidationFailed, Unauthorized, Forbidden, NotFound, Conflict, Gone, Locked,
    TooManyRequests, ServiceUnavailable,
)
