"""Tables of the readings service."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.consumers import ProcessedEventMixin
from shared.db import UTCDateTime
from shared.grants import AccountGrantMixin, GrantsLoadMixin
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import OutboxMixin

SOURCES = ("manual", "photo", "automatic", "inspector", "estimated")
STATUSES = ("pending", "accepted", "rejected", "replaced")
REJECT_REASONS = ("in_future", "less_than_previous", "greater_than_later", "duplicate",
                  "meter_decommissioned", "outside_contract", "implausibly_high",
                  "window_closed")


class ReadingsBase(DeclarativeBase):
    """The readings service's own metadata."""


class Meter(ReadingsBase):
    """The readings service's copy of a meter, fed by the accounts service's events."""

    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("account_id", "serial", name="uq_meter_account_serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str] = mapped_column(String(32))
    serial: Mapped[str] = mapped_column(String(40))
    zones: Mapped[int] = mapped_column(Integer)
    digits: Mapped[int] = mapped_column(Integer)
    installed_on: Mapped[date] = mapped_column(Date)
    verification_due: Mapped[date | None] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)


class Reading(ReadingsBase):
    """One submission of a meter's zone values for a period (YYYY-MM)."""

    __tablename__ = "readings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    meter_serial: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(7), index=True)
    t1: Mapped[int] = mapped_column(BigInteger)
    t2: Mapped[int | None] = mapped_column(BigInteger)
    t3: Mapped[int | None] = mapped_column(BigInteger)
    rolled_over: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(24))
    submitted_by: Mapped[str | None] = mapped_column(String(36))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def values(self) -> list[int]:
        return [v for v in (self.t1, self.t2, self.t3) if v is not None]


class ReadingPhoto(ReadingsBase):
    """A photo a customer attached; kept with the reading it became (source "photo")."""

    __tablename__ = "reading_photos"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    uploaded_by: Mapped[str | None] = mapped_column(String(36))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    image_format: Mapped[str] = mapped_column(String(10))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    reading_id: Mapped[int | None] = mapped_column(Integer, index=True)


JOB_STATUSES = ("queued", "running", "done", "failed")


class PhotoJob(ReadingsBase):
    """Reading one uploaded bill photo, done by an OCR worker process off the request path.
    Owned by the user who uploaded it for that account; its result (the fields read, JSON)
    is personal data and goes with the photo (domain/photos.py)."""

    __tablename__ = "photo_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    photo_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times a worker took it
    reason: Mapped[str | None] = mapped_column(String(200))  # why it failed, for people
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReminderSent(ReadingsBase):
    """An account already reminded to submit for a period (one reminder per period)."""

    __tablename__ = "reminders_sent"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Outbox(OutboxMixin, ReadingsBase):
    pass


class ProcessedEvent(ProcessedEventMixin, ReadingsBase):
    pass


class AccountGrant(AccountGrantMixin, ReadingsBase):
    """Who may act on which account: a copy of accounts' grants (shared/grants.py)."""


class AccountGrantsLoad(GrantsLoadMixin, ReadingsBase):
    pass


class IdempotencyKey(IdempotencyKeyMixin, ReadingsBase):
    """A creating request's Idempotency-Key and its first answer (shared.idempotency)."""
