"""The API as a table: each route is an HTTP shape in front of one service RPC method.

The gateway holds no business rule: a route says which JSON it takes, whether the caller
must be signed in (and with which role), which RPC it calls and which status means success.
The OpenAPI document is generated from this same table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    rpc: str  # "service.method"
    summary: str
    schema: type[Schema] | None = None
    status: int = 200
    auth: bool = False
    roles: tuple[str, ...] = ()
    source: str = "json"  # or "query"
    tag: str = "auth"
    errors: tuple[int, ...] = field(default=(400, 422))
    body_arg: str | None = None  # pass the whole JSON object as this one RPC argument
    body_one_of: tuple[type[Schema], ...] = ()  # what that object may be, for the document
    upload: bool = False  # a large body (a photo): MAX_UPLOAD_BYTES instead of MAX_JSON_BYTES
    raw: bool = False  # pass the body as received (base64) and the headers: signed webhooks
    download: bool = False  # RPC gives {filename, content_type, content_base64}: send the file
    # creates something: takes an optional Idempotency-Key header (shared/idempotency.py)
    idempotent: bool = False
    # what a 2xx answers: a schema class, or an instance (``Schema(many=True)``: an array)
    response: type[Schema] | Schema | None = None
    example: Any = None  # an example of that answer, for the OpenAPI document
    # where the created thing is polled: a path (``{name}``s from the URL and the answer),
    # sent as the Location header and as ``poll_url`` in the answer
    location: str | None = None

    @property
    def service(self) -> str:
        return self.rpc.split(".", 1)[0]

    @property
    def endpoint(self) -> str:
        name = re.sub(r"<(?:\w+:)?(\w+)>", r"\1", self.path).strip("/")
        return f"{self.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', name)}"

    @property
    def openapi_path(self) -> str:
        """``/accounts/<int:account_id>`` → ``/accounts/{account_id}``."""
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.path)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        """(name, converter) of each URL parameter."""
        return [(name, conv or "string") for conv, name in
                re.findall(r"<(?:(\w+):)?(\w+)>", self.path)]


def _collect() -> tuple[Route, ...]:
    from gateway.routes import accounts, auth, notices, payments, profile, readings
    from gateway.routes import documents, requests

    return (auth.ROUTES + accounts.ROUTES + profile.ROUTES + notices.ROUTES
            + readings.ROUTES + payments.ROUTES + documents.ROUTES + requests.ROUTES)


ROUTES: tuple[Route, ...] = _collect()
SERVICES: tuple[str, ...] = tuple(sorted({r.service for r in ROUTES}))
