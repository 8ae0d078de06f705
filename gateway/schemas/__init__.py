"""Request shapes the gateway checks before any RPC (types, required fields, no strangers).

Business rules (is the phone valid, is the password strong) are the services' job; these
schemas only say what JSON a route takes. They also feed the OpenAPI document.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from gateway.messages import russify_field
from shared.error_texts import SCHEMA_MESSAGES


def Text(**kwargs: object) -> fields.String:  # noqa: N802 (reads like a field class)
    return fields.String(validate=validate.Length(max=1000), **kwargs)


def Secret(**kwargs: object) -> fields.String:  # noqa: N802
    return fields.String(validate=validate.Length(max=256), **kwargs)


class Strict(Schema):
    """A request shape: no unknown fields, and every message in Russian (marshmallow's
    English defaults are replaced field by field as the schema binds them; a message a
    schema wrote itself is kept), integers bounded to 64 bits."""

    error_messages = SCHEMA_MESSAGES

    class Meta:
        unknown = RAISE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        russify_field(field_obj)


class Paged(Strict):
    """A list that grows, a page at a time (README «Списки»)."""
    limit = fields.Integer(validate=validate.Range(min=1, max=100), metadata={
        "description": "Сколько записей на странице (по умолчанию 20)"})
    cursor = fields.String(validate=validate.Length(max=512), metadata={
        "description": "next из предыдущего ответа; без него — первая страница"})


class Error(Schema):
    code = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True)
    field_errors = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                               metadata={"description": "Поле → что с ним не так (по-русски, "
                                                        "для человека)"})
    field_codes = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "Поле → код причины, как его сказал сервис (для программ: "
                       "\"expired\", \"unknown or used\"…), у каждого поля из fields"})
    retry_after = fields.Integer(metadata={"description": "Seconds to wait (429, 423)"})
    request_id = fields.String()


class ErrorBody(Schema):
    error = fields.Nested(Error, required=True)
