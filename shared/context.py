"""What a service knows about the request it serves: request id, client IP, caller.

The gateway puts ``request_id``, ``client_ip`` and the raw ``authorization`` token in
nameko's context data; nameko forwards it to nested calls. Services verify the token
themselves with the public key (the gateway's check is not trusted blindly), and refuse a
token whose session ended (logout, password change or reset, deletion) by the auth service's
``sessions_revoked`` broadcast, kept here as a :class:`RevocationList` until such a token
would have expired anyway.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import eventlet
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy

from shared import logs
from shared.clock import clock
from shared.errors import Forbidden, Unauthorized
from shared.tokens import LEEWAY, Principal, verification_key, verify_access_token

log = logging.getLogger(__name__)

SESSION_ENDED = "Сессия завершена, войдите заново"


class RevocationList:
    """Ended sessions and deleted users whose access tokens must be refused before expiry.

    An entry is kept ``ttl`` seconds after its revocation (the access token lifetime plus
    the clock leeway, on both sides): by then every token it covers has expired anyway, so
    the list stays as small as the last ``ttl`` seconds of logouts."""

    def __init__(self, ttl: float) -> None:
        self.ttl = timedelta(seconds=ttl)
        self._sessions: dict[str, datetime] = {}  # session id -> revoked at
        self._users: dict[str, datetime] = {}  # deleted user -> deleted at (every token goes)

    def __len__(self) -> int:
        return len(self._sessions) + len(self._users)

    def add(self, revocation: dict[str, Any], now: datetime) -> None:
        """Apply one ``auth.sessions_revoked`` payload (or one catch-up entry)."""
        revoked_at = _aware(revocation["revoked_at"])
        if revoked_at + self.ttl <= now:
            return  # every token it covers has expired already
        for session_id in revocation.get("session_ids") or ():
            self._sessions[session_id] = max(revoked_at, self._sessions.get(session_id, revoked_at))
        if revocation.get("user_deleted"):
            self._users[revocation["user_id"]] = revoked_at
        self.prune(now)

    def add_all(self, revocations: Iterable[dict[str, Any]], now: datetime) -> None:
        for revocation in revocations:
            self.add(revocation, now)

    def revoked(self, principal: Principal, now: datetime) -> bool:
        """Whether the token's session ended, or its user was deleted, within ``ttl``."""
        for key, entries in ((principal.session_id, self._sessions),
                             (principal.user_id, self._users)):
            revoked_at = entries.get(key)
            if revoked_at is not None and revoked_at + self.ttl > now:
                return True
        return False

    def prune(self, now: datetime) -> None:
        """Drop the entries no unexpired token can match."""
        horizon = now - self.ttl
        for entries in (self._sessions, self._users):
            for key in [k for k, at in entries.items() if at <= horizon]:
                del entries[key]


def _aware(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Request:
    def __init__(self, data: dict[str, Any], public_key: Any, issuer: str,
                 revocations: RevocationList | None = None) -> None:
        self.revocations = revocations if revocations is not None else RevocationList(0)
        self.request_id: str | None = data.get("request_id")
        self.client_ip: str = data.get("client_ip") or "unknown"
        self._token: str | None = data.get("authorization")
        self._public_key = public_key
        self._issuer = issuer
        self._principal: Principal | None = None

    def principal(self, *roles: str) -> Principal:
        """The verified caller; Unauthorized without a valid token or for an ended session,
        Forbidden for other roles."""
        if not self._token:
            raise Unauthorized("Требуется вход в личный кабинет", {"authorization": "missing"})
        if self._principal is None:  # several calls in one worker verify the token once
            self._principal = verify_access_token(self._token, self._public_key, self._issuer,
                                                  clock.now())
        principal = self._principal
        if self.revocations.revoked(principal, clock.now()):
            raise Unauthorized(SESSION_ENDED, {"authorization": "session ended"})
        if roles and principal.role not in roles:
            raise Forbidden("Недостаточно прав", {"authorization": f"role {principal.role}"})
        return principal


class RequestContext(DependencyProvider):
    """Per-worker :class:`Request`; also tags the worker's log lines with the request id.

    Holds the container's :class:`RevocationList`: fed by the ``sessions_revoked`` broadcast
    (``ServiceBase.on_sessions_revoked``) and, at start, by ``auth.revocations_since`` so a
    replica started after a logout refuses its token too (retried in the background while
    auth is unreachable)."""

    def setup(self) -> None:
        config = self.container.config
        self.public_key = verification_key(config)
        self.issuer = config.get("JWT_ISSUER", "nesk-portal")
        # A token signed just before the revocation by a clock LEEWAY ahead is accepted until
        # LEEWAY after its expiry by a clock LEEWAY behind.
        self.ttl = int(config.get("ACCESS_TOKEN_TTL", 600)) + 2 * LEEWAY
        self.revocations = RevocationList(self.ttl)
        self.caught_up = eventlet.Event()

    def start(self) -> None:
        self.container.spawn_managed_thread(self.catch_up)

    def catch_up(self, first_delay: float = 0.5, max_delay: float = 30) -> None:
        """Load what auth revoked within the last ``ttl`` seconds; retry until auth answers."""
        delay = first_delay
        while True:
            try:
                with ClusterRpcProxy(self.container.config, timeout=10) as cluster:
                    entries = cluster.auth.revocations_since(seconds=self.ttl)
                self.revocations.add_all(entries, clock.now())
                self.caught_up.send(len(entries))
                log.info("revocation list loaded from auth: %d entries", len(entries))
                return
            except Exception as exc:  # auth down or slow: the broadcasts still arrive
                log.warning("revocation list: auth.revocations_since failed (%r); "
                            "retrying in %.1f s", exc, delay)
                eventlet.sleep(delay)
                delay = min(delay * 2, max_delay)

    def get_dependency(self, worker_ctx: Any) -> Request:
        return Request(worker_ctx.data, self.public_key, self.issuer, self.revocations)

    def worker_setup(self, worker_ctx: Any) -> None:
        logs.set_request_id(worker_ctx.data.get("request_id") or worker_ctx.call_id)

    def worker_teardown(self, worker_ctx: Any) -> None:
        logs.set_request_id(None)
