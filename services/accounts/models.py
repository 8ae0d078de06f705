"""Tables of the accounts service."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.consumers import ProcessedEventMixin
from shared.db import UTCDateTime
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import OutboxMixin

TARIFF_CATEGORIES = ("urban", "rural", "electric_stove", "electric_heating")


class AccountsBase(DeclarativeBase):
    """The accounts service's own metadata."""


class Account(AccountsBase):
    """A personal account (лицевой счёт) as billing knows it."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("number", "branch", name="uq_account_number_branch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str] = mapped_column(String(32))
    holder_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    contract_number: Mapped[str | None] = mapped_column(String(40))
    contract_date: Mapped[date | None] = mapped_column(Date)
    gis_id: Mapped[str | None] = mapped_column(String(40))
    tariff_category: Mapped[str] = mapped_column(String(20))
    closed_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    meters: Mapped[list[Meter]] = relationship(back_populates="account",
                                               order_by="Meter.installed_on")


class Meter(AccountsBase):
    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("account_id", "serial", name="uq_meter_account_serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    serial: Mapped[str] = mapped_column(String(40))  # digits only, as billing sends it
    zones: Mapped[int] = mapped_column(Integer)  # 1, 2 or 3 tariff zones
    digits: Mapped[int] = mapped_column(Integer)  # digit capacity of the counter
    installed_on: Mapped[date] = mapped_column(Date)
    verification_due: Mapped[date | None] = mapped_column(Date)  # next поверка
    removed_on: Mapped[date | None] = mapped_column(Date)

    account: Mapped[Account] = relationship(back_populates="meters")


class Link(AccountsBase):
    """A user's access to an account: its holder (proved with the bill) or a trusted person."""

    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("user_id", "account_id", name="uq_link_user_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # holder | trusted
    access: Mapped[str] = mapped_column(String(10))  # full | read
    granted_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paperless: Mapped[bool] = mapped_column(default=False)
    paperless_email: Mapped[str | None] = mapped_column(String(254))
    paperless_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class GrantVersion(AccountsBase):
    """How many times one user's access to one account changed (linked, access changed,
    unlinked). Kept after the link goes, so a link made again gets a higher version: the
    services keeping a copy of the grants order the events by it (shared/grants.py)."""

    __tablename__ = "grant_versions"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class LinkAttempt(AccountsBase):
    """A failed "Добавить лицевой счёт": what the rate limit counts."""

    __tablename__ = "link_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Contact(AccountsBase):
    """The user's confirmed contacts as auth announced them (for paperless bills, notices)."""

    __tablename__ = "contacts"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContractRequest(AccountsBase):
    """«Заключить договор»: a customer without an account asks for a supply contract."""

    __tablename__ = "contract_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    branch: Mapped[str] = mapped_column(String(32))
    full_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="new")


class Outbox(OutboxMixin, AccountsBase):
    pass


class ProcessedEvent(ProcessedEventMixin, AccountsBase):
    pass


class IdempotencyKey(IdempotencyKeyMixin, AccountsBase):
    """A creating request's Idempotency-Key and its first answer (shared.idempotency)."""


class Profile(AccountsBase):
    """РАЗДЕЛ «ПРОФИЛЬ»: the questionnaire tabs, preferences and contact information."""

    __tablename__ = "profiles"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Основная анкета
    last_name: Mapped[str | None] = mapped_column(String(60))
    first_name: Mapped[str | None] = mapped_column(String(60))
    middle_name: Mapped[str | None] = mapped_column(String(60))
    last_name_latin: Mapped[str | None] = mapped_column(String(60))
    first_name_latin: Mapped[str | None] = mapped_column(String(60))
    gender: Mapped[str | None] = mapped_column(String(10))
    nickname: Mapped[str | None] = mapped_column(String(40))
    birth_date: Mapped[date | None] = mapped_column(Date)
    citizenship: Mapped[str | None] = mapped_column(String(2))  # ISO 3166 alpha-2
    # Расширенная анкета
    birth_place: Mapped[str | None] = mapped_column(String(200))
    snils: Mapped[str | None] = mapped_column(String(11))
    inn: Mapped[str | None] = mapped_column(String(12))
    household_size: Mapped[int | None] = mapped_column(Integer)
    # Личные предпочтения
    notify_sms: Mapped[bool] = mapped_column(default=True)
    notify_email: Mapped[bool] = mapped_column(default=True)
    reading_reminders: Mapped[bool] = mapped_column(default=True)
    # Контактная информация (the e-mail for bills is the confirmed one in `contacts`)
    extra_phones: Mapped[str | None] = mapped_column(Text)  # JSON list of E.164 numbers
    postal_address: Mapped[str | None] = mapped_column(String(500))
    pending_email: Mapped[str | None] = mapped_column(String(254))
    pending_email_token: Mapped[str | None] = mapped_column(String(64))
    pending_email_expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # «Изменить фото»: a small JPEG, re-encoded from the upload
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notice(AccountsBase):
    """A notice in the user's feed (the count of unread ones is in every page's header)."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("user_id", "dedupe_key", name="uq_notice_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The same reminder or event never makes two notices for one user.
    dedupe_key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channels: Mapped[str] = mapped_column(String(40))  # where it was delivered: app,sms,email
