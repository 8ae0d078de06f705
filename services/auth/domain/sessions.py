"""Login sessions: short RS256 access tokens and rotating refresh tokens.

A refresh token is used once: refreshing gives a new pair. Presenting an already used one
means it was stolen (or replayed), so the whole session (the token family) is revoked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from services.auth.domain.onetime import keyed_hash, new_id, new_token
from services.auth.models import RefreshToken, Session, User
from shared.errors import Unauthorized
from shared.tokens import ALGORITHM

INVALID = "Сессия завершена, войдите заново"


@dataclass
class Signer:
    private_key: Any  # a parsed RSA key (or PEM bytes, parsed at every use)
    issuer: str
    access_ttl: int
    refresh_ttl: int
    secret_key: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any], private_key: Any) -> "Signer":
        return cls(private_key, config["JWT_ISSUER"], config["ACCESS_TOKEN_TTL"],
                   config["REFRESH_TOKEN_TTL"], config["SECRET_KEY"])

    def sign(self, claims: dict[str, Any], now: datetime, ttl: int) -> str:
        return jwt.encode({**claims, "iss": self.issuer, "iat": int(now.timestamp()),
                           "exp": int((now + timedelta(seconds=ttl)).timestamp())},
                          self.private_key, algorithm=ALGORITHM)

    def refresh_hash(self, token: str) -> str:
        return keyed_hash(self.secret_key, "refresh", token)


def _issue(db: DbSession, signer: Signer, user: User, session: Session,
           now: datetime) -> dict[str, Any]:
    refresh = new_token()
    db.add(RefreshToken(id=new_id(), session_id=session.id, token_hash=signer.refresh_hash(refresh),
                        created_at=now, expires_at=now + timedelta(seconds=signer.refresh_ttl)))
    access = signer.sign({"sub": user.id, "role": user.role, "sid": session.id, "jti": new_id(),
                          "typ": "access"}, now, signer.access_ttl)
    return {"access_token": access, "token_type": "Bearer", "expires_in": signer.access_ttl,
            "refresh_token": refresh, "refresh_expires_in": signer.refresh_ttl}


def open_session(db: DbSession, signer: Signer, user: User, now: datetime,
                 client_ip: str | None) -> dict[str, Any]:
    session = Session(id=new_id(), user_id=user.id, created_at=now, last_used_at=now,
                      client_ip=client_ip)
    db.add(session)
    return _issue(db, signer, user, session, now)


def refresh(db: DbSession, signer: Signer, token: object, now: datetime,
            record: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """A new pair for a valid refresh token; a reused one revokes the session (and ``record``
    publishes that, so its access tokens are refused everywhere)."""
    if not isinstance(token, str) or not token:
        raise Unauthorized(INVALID, {"refresh_token": "required"})
    row = db.scalar(select(RefreshToken).where(
        RefreshToken.token_hash == signer.refresh_hash(token)).with_for_update())
    if row is None:
        raise Unauthorized(INVALID, {"refresh_token": "unknown"})
    session = db.get(Session, row.session_id)
    if session.revoked_at is not None:
        raise Unauthorized(INVALID, {"refresh_token": "session ended"})
    if row.used_at is not None:
        if revoke(db, session, now, "refresh reuse") and record is not None:
            record("sessions_revoked", revocation(session.user_id, [session.id],
                                                  "refresh_reuse", now))
        db.commit()
        raise Unauthorized(INVALID, {"refresh_token": "reused: session revoked"})
    if row.expires_at <= now:
        raise Unauthorized(INVALID, {"refresh_token": "expired"})
    user = db.get(User, session.user_id)
    if user is None or user.deleted_at is not None:
        raise Unauthorized(INVALID, {"refresh_token": "user gone"})
    row.used_at = now
    session.last_used_at = now
    return _issue(db, signer, user, session, now)


def revoke(db: DbSession, session: Session, now: datetime, reason: str) -> bool:
    """End one session; False when it had ended already."""
    if session.revoked_at is not None:
        return False
    session.revoked_at, session.revoked_reason = now, reason
    return True


def revoke_all(db: DbSession, user_id: str, now: datetime, reason: str,
               keep: str | None = None) -> list[str]:
    """End every session of the user (all but ``keep``): after a reset, a deletion...
    Returns the ids of the sessions it ended."""
    query = select(Session.id).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if keep:
        query = query.where(Session.id != keep)
    ended = list(db.scalars(query.with_for_update()))
    if ended:
        db.execute(update(Session).where(Session.id.in_(ended))
                   .values(revoked_at=now, revoked_reason=reason))
    return ended


def revocation(user_id: str, session_ids: list[str], reason: str, now: datetime,
               user_deleted: bool = False) -> dict[str, Any]:
    """The ``auth.sessions_revoked`` payload: other services refuse these sessions' access
    tokens (every token of the user when ``user_deleted``) until they would have expired."""
    return {"user_id": user_id, "session_ids": session_ids, "reason": reason,
            "user_deleted": user_deleted, "revoked_at": now}


def revocations_since(db: DbSession, since: datetime) -> list[dict[str, Any]]:
    """What was revoked at or after ``since``, in the payload's shape (``revoked_at`` as ISO
    text): a service starting up loads it into its revocation list."""
    entries = [{"user_id": user_id, "session_ids": [session_id], "reason": reason,
                "user_deleted": False, "revoked_at": revoked_at.isoformat()}
               for session_id, user_id, reason, revoked_at in db.execute(
                   select(Session.id, Session.user_id, Session.revoked_reason, Session.revoked_at)
                   .where(Session.revoked_at >= since))]
    entries += [{"user_id": user_id, "session_ids": [], "reason": "user_deleted",
                 "user_deleted": True, "revoked_at": deleted_at.isoformat()}
                for user_id, deleted_at in db.execute(
                    select(User.id, User.deleted_at).where(User.deleted_at >= since))]
    return entries


def active(db: DbSession, session_id: str) -> Session:
    """The session behind an access token, refused once it was ended (logout, reset)."""
    session = db.get(Session, session_id)
    if session is None or session.revoked_at is not None:
        raise Unauthorized(INVALID, {"authorization": "session ended"})
    return session
