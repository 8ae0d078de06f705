"""The API as a table: each route is an HTTP shape in front of one service RPC method.

The gateway holds no business rule: a route says which JSON it takes, whether the caller
must be signed in (and with which role), which RPC it calls and which status means success.
The OpenAPI document is generated from this same table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

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

    @property
    def service(self) -> str:
        return self.rpc.split(".", 1)[0]

    @property
    def endpoint(self) -> str:
        return f"{self.method.lower()}_{self.path.strip('/').replace('/', '_').replace('-', '_')}"


def _collect() -> tuple[Route, ...]:
    from gateway.routes import auth

    return auth.ROUTES


ROUTES: tuple[Route, ...] = _collect()
SERVICES: tuple[str, ...] = tuple(sorted({r.service for r in ROUTES}))
