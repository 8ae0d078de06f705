"""What the API answers: the shapes of the services' JSON replies, for the OpenAPI document.

They are written for the answers (the gateway never loads a reply with them), so
tests/integration/test_api_contract.py checks real answers of the main flows against the
published document: a service that changes its reply without these fails there.
Fields a reply always has are ``required``; ``allow_none`` marks a value that may be null.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

MONEY = r"^-?\d+\.\d{2}$"


class Answer(Schema):
    """A reply shape (documentation only: never loads anything)."""


def Req(field: type[fields.Field] = fields.String, **kwargs: Any) -> fields.Field:  # noqa: N802
    """A field every reply has."""
    return field(required=True, **kwargs)


def Opt(field: type[fields.Field] = fields.String, **kwargs: Any) -> fields.Field:  # noqa: N802
    """A field every reply has, maybe null."""
    return field(required=True, allow_none=True, **kwargs)


def Money(nullable: bool = False, **kwargs: Any) -> fields.String:  # noqa: N802
    """A sum in roubles as a string with kopecks: "1234.50"."""
    return fields.String(required=True, allow_none=nullable, validate=validate.Regexp(MONEY),
                         metadata={"example": "1234.50", **kwargs})


def Day(nullable: bool = False) -> fields.Date:  # noqa: N802
    return fields.Date(required=True, allow_none=nullable)


def Moment(nullable: bool = False) -> fields.DateTime:  # noqa: N802
    return fields.DateTime(required=True, allow_none=nullable)


def ListOf(schema: type[Schema], **kwargs: Any) -> fields.List:  # noqa: N802
    return fields.List(fields.Nested(schema), required=True, **kwargs)


class Message(Answer):
    message = Req(metadata={"description": "Что показать человеку"})


def page_of(item: type[Schema], name: str, **extra: fields.Field) -> type[Schema]:
    """``{"items": [...], "next": cursor|null}`` (see README «Списки»), plus ``extra``."""
    return type(name, (Answer,), {
        "items": ListOf(item),
        "next": Opt(metadata={"description": "Курсор следующей страницы (параметр cursor); "
                                             "null — это последняя"}),
        **extra})
