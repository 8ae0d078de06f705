"""What the customer, the operator and the admin may send, checked field by field.

Every failure is a ValidationFailed (422) whose ``fields`` name each bad field and why.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from services.requests.domain.lifecycle import STATUSES
from shared.errors import ValidationFailed

REQUIRED = {"required": "required", "null": "required"}
MAX_ID = 2**31 - 1  # an integer column: a larger id can only be missing


class Trimmed(fields.String):
    """Text with the spaces around it trimmed; blank counts as not given."""

    def deserialize(self, value: Any, attr: str | None = None,
                    data: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            value = None
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


def text(max_length: int, required: bool = False) -> Trimmed:
    return Trimmed(required=required, allow_none=not required,
                   validate=validate.Length(max=max_length, error=f"longer than {max_length}"),
                   error_messages={**REQUIRED, "invalid": "must be a string"})


def whole(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, error_messages={"invalid": "must be an integer"},
                          **kwargs)


class Form(Schema):
    class Meta:
        unknown = RAISE


class Order(Form):
    """«+ Заказать услугу» (attachments are checked apart: they are files)."""

    work = text(40, required=True)
    message = text(4000, required=True)
    contact_phone = text(40, required=True)
    account_id = whole(allow_none=True,
                       validate=validate.Range(min=1, max=MAX_ID, error="no such account"))
    branch = text(32)
    address = text(500)
    preferred_time = text(200)


class Note(Form):
    text = text(4000)


class Reason(Form):
    reason = text(1000, required=True)


class OptionalReason(Form):
    reason = text(1000)


class Schedule(Form):
    scheduled_at = fields.AwareDateTime(required=True, error_messages={
        **REQUIRED, "invalid": "ISO 8601 date and time, e.g. 2026-12-15T10:00:00+03:00",
        "invalid_awareness": "needs a time zone offset, e.g. +03:00"})


class Assign(Form):
    operator_id = text(36)


class Queue(Form):
    status = Trimmed(allow_none=True, validate=validate.OneOf(
        STATUSES, error=f"one of {', '.join(STATUSES)}"))
    work = text(40)
    branch = text(32)
    date_from = fields.Date(allow_none=True, error_messages={"invalid": "a date YYYY-MM-DD"})
    date_to = fields.Date(allow_none=True, error_messages={"invalid": "a date YYYY-MM-DD"})
    assignee = text(36)


def _kopecks(value: Decimal) -> None:
    if value.normalize().as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError("at most 2 decimal places (kopecks)")


class WorkFields(Form):
    """A work of the catalogue as an admin edits it; only the fields sent change."""

    title = text(200)
    description = text(2000)
    needs_account = fields.Boolean(error_messages={"invalid": "true or false"})
    price = fields.Decimal(allow_none=True, error_messages={"invalid": "a number of roubles"},
                           validate=[validate.Range(min=0, max=10_000_000,
                                                    error="0 to 10 000 000"), _kopecks])
    active = fields.Boolean(error_messages={"invalid": "true or false"})
    position = whole(validate=validate.Range(min=0, max=10_000, error="0 to 10000"))


def load(form: type[Schema], data: Mapping[str, Any], message: str) -> dict[str, Any]:
    """``data`` checked by ``form``, or ValidationFailed naming every bad field."""
    try:
        values = form().load(dict(data))
    except ValidationError as exc:
        raise ValidationFailed(message, {
            name: "; ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
            for name, problems in exc.normalized_messages().items()}) from None
    return values
