"""Tables of the auth service (its own database; nobody else reads them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.consumers import ProcessedEventMixin
from shared.db import UTCDateTime
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import OutboxMixin


class AuthBase(DeclarativeBase):
    """The auth service's own metadata (each service subclasses DeclarativeBase itself)."""


class User(AuthBase):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(254), unique=True)  # normalised
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="customer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    phone_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Consent(AuthBase):
    """A consent to personal-data processing, kept as its own act (152-ФЗ since 01.09.2025)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    document: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()  # also makes the unit of work insert the user first


class Captcha(AuthBase):
    __tablename__ = "captchas"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    answer_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Verification(AuthBase):
    """An SMS code challenge: registration, password reset or phone change."""

    __tablename__ = "verifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(String(16), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36))
    # None when no code was sent (reset for an unknown phone): every guess then fails, and the
    # caller cannot tell the difference.
    code_hash: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proof_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_ip: Mapped[str] = mapped_column(String(64), index=True)


class SmsSend(AuthBase):
    """One code sent (or, for an unknown number, pretended): what cooldown and limits count."""

    __tablename__ = "sms_sends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    verification_id: Mapped[str] = mapped_column(ForeignKey("verifications.id",
                                                            ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)
    client_ip: Mapped[str] = mapped_column(String(64), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    verification: Mapped[Verification] = relationship()


class EmailLink(AuthBase):
    """A signed e-mail link's server side: single use, and the pending registration's data."""

    __tablename__ = "email_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the token's jti
    purpose: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36))
    password_hash: Mapped[str | None] = mapped_column(Text)
    consent_version: Mapped[str | None] = mapped_column(String(32))
    client_ip: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(AuthBase):
    """Failed logins per identity (phone or e-mail), registered or not."""

    __tablename__ = "login_throttle"

    identity: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAddressFailure(AuthBase):
    """One failed login from a client address (no identity kept), for the per-address limit;
    rows older than LOGIN_PER_IP_WINDOW are pruned as new ones come."""

    __tablename__ = "login_address_failures"
    __table_args__ = (Index("ix_login_address_failures_ip_at", "client_ip", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_ip: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Session(AuthBase):
    """A login session: one family of rotating refresh tokens."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    # indexed: every service's revocation catch-up asks for the recent ones
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[User] = relationship()


class RefreshToken(AuthBase):
    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[Session] = relationship()


class Outbox(OutboxMixin, AuthBase):
    pass


class ProcessedEvent(ProcessedEventMixin, AuthBase):
    pass


class IdempotencyKey(IdempotencyKeyMixin, AuthBase):
    """A creating request's Idempotency-Key and its first answer (shared.idempotency)."""
