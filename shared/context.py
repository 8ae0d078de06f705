"""What a service knows about the request it serves: request id, client IP, caller.

The gateway puts ``request_id``, ``client_ip`` and the raw ``authorization`` token in
nameko's context data; nameko forwards it to nested calls. Services verify the token
themselves with the public key (the gateway's check is not trusted blindly).
"""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from shared import logs
from shared.clock import clock
from shared.errors import Forbidden, Unauthorized
from shared.tokens import Principal, verification_key, verify_access_token


class Request:
    def __init__(self, data: dict[str, Any], public_key: Any, issuer: str) -> None:
        self.request_id: str | None = data.get("request_id")
        self.client_ip: str = data.get("client_ip") or "unknown"
        self._token: str | None = data.get("authorization")
        self._public_key = public_key
        self._issuer = issuer
        self._principal: Principal | None = None

    def principal(self, *roles: str) -> Principal:
        """The verified caller; Unauthorized without a valid token, Forbidden for other roles."""
        if not self._token:
            raise Unauthorized("Требуется вход в личный кабинет", {"authorization": "missing"})
        if self._principal is None:  # several calls in one worker verify the token once
            self._principal = verify_access_token(self._token, self._public_key, self._issuer,
                                                  clock.now())
        principal = self._principal
        if roles and principal.role not in roles:
            raise Forbidden("Недостаточно прав", {"authorization": f"role {principal.role}"})
        return principal


class RequestContext(DependencyProvider):
    """Per-worker :class:`Request`; also tags the worker's log lines with the request id."""

    def setup(self) -> None:
        self.public_key = verification_key(self.container.config)
        self.issuer = self.container.config.get("JWT_ISSUER", "nesk-portal")

    def get_dependency(self, worker_ctx: Any) -> Request:
        return Request(worker_ctx.data, self.public_key, self.issuer)

    def worker_setup(self, worker_ctx: Any) -> None:
        logs.set_request_id(worker_ctx.data.get("request_id") or worker_ctx.call_id)

    def worker_teardown(self, worker_ctx: Any) -> None:
        logs.set_request_id(None)
