"""Who may see and act on an account: linking with proof, trusted persons, paperless bills.

«Добавить лицевой счёт» takes the number, the branch and one proof that the person holds the
bill: the last 4 digits of a meter's serial number printed on it (or, for an account with no
meter, of its ГИС ЖКХ identifier). Without the proof anybody could read a stranger's name and
address by guessing numbers, so failed attempts are also rate-limited per user.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.accounts.domain import branches, grants
from services.accounts.domain.registry import find
from services.accounts.models import Account, Contact, Link, LinkAttempt
from shared.errors import Conflict, Forbidden, NotFound, TooManyRequests, ValidationFailed
from shared.grants import not_linked, read_only, require_account_id
from shared.identities import normalize_email, normalize_phone
from shared.work import Work as Deps

ACCESS = ("read", "full")
PROOF_DIGITS = 4


def _proof_values(account: Account) -> list[str]:
    active = [m.serial for m in account.meters if m.removed_on is None]
    if active:
        return [serial[-PROOF_DIGITS:] for serial in active]
    gis = re.sub(r"[^0-9A-Za-z]", "", account.gis_id or "")
    return [gis[-PROOF_DIGITS:].upper()] if len(gis) >= PROOF_DIGITS else []


def account_view(account: Account, link: Link, branch_names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": account.id, "number": account.number, "branch": account.branch,
        "branch_name": branch_names.get(account.branch, account.branch),
        "holder_name": account.holder_name, "address": account.address,
        "contract_number": account.contract_number,
        "contract_date": account.contract_date.isoformat() if account.contract_date else None,
        "gis_id": account.gis_id, "tariff_category": account.tariff_category,
        "closed_on": account.closed_on.isoformat() if account.closed_on else None,
        "meters": [{"serial": m.serial, "zones": m.zones, "digits": m.digits,
                    "installed_on": m.installed_on.isoformat(),
                    "verification_due": m.verification_due.isoformat()
                    if m.verification_due else None}
                   for m in account.meters if m.removed_on is None],
        "role": link.role, "access": link.access,
        "paperless": link.paperless, "paperless_email": link.paperless_email,
    }


class Links:
    def __init__(self, deps: Deps,
                 notify: Callable[..., Any] | None = None) -> None:
        """``notify(user_id, kind, title, body, dedupe_key, account_id)`` tells a user
        something (a trusted person that they were given access)."""
        self.d = deps
        self.notify = notify
        self.db = deps.db
        self.now = deps.now
        self.branch_names = branches.names(deps.config.get("ACCOUNTS_BRANCHES_FILE", ""))

    # ---- the one ownership rule ----------------------------------------------------------

    def access(self, user_id: str, account_id: object, need: str = "read") -> Link:
        """The caller's link to the account, if it allows ``need`` ('read' or 'full').

        Not linked → NotFound (as if the account did not exist: no probing of ids). The
        services that keep a copy of the grants decide by the same rule (shared/grants.py)."""
        account_id = require_account_id(account_id)
        link = self.db.scalar(select(Link).where(Link.user_id == user_id,
                                                 Link.account_id == account_id))
        if link is None:
            raise not_linked()
        if need == "full" and link.access != "full":
            raise read_only()
        return link

    def grant_version(self, link: Link) -> int:
        return grants.version_of(self.db, link.user_id, link.account_id)

    # ---- «Добавить лицевой счёт» ---------------------------------------------------------

    def _check_rate(self, user_id: str) -> None:
        since = self.now - timedelta(hours=1)
        failures = self.db.scalar(select(func.count()).select_from(LinkAttempt).where(
            LinkAttempt.user_id == user_id, LinkAttempt.attempted_at > since))
        if failures >= self.d.config["LINK_ATTEMPTS_HOURLY"]:
            raise TooManyRequests("Слишком много неудачных попыток, попробуйте через час",
                                  {"number": "too many failed attempts"}, retry_after=3600)

    def _failed(self, user_id: str, error: Exception) -> Exception:
        self.db.add(LinkAttempt(user_id=user_id, attempted_at=self.now))
        self.db.commit()
        return error

    def proved(self, limiter: str, number: object, branch: object, proof: object) -> Account:
        """The account whose bill the caller holds; failures count against ``limiter`` (a user
        id, or ``ip:<address>`` for a caller who is not signed in)."""
        if not isinstance(number, str) or not re.fullmatch(r"\d{5,20}", number.strip()):
            raise ValidationFailed("Номер лицевого счёта — от 5 до 20 цифр, как в квитанции",
                                   {"number": "5 to 20 digits"})
        branch = branches.check(branch, self.d.config.get("ACCOUNTS_BRANCHES_FILE", ""))
        proof_text = re.sub(r"[\s-]", "", proof).upper() if isinstance(proof, str) else ""
        if len(proof_text) != PROOF_DIGITS:
            raise ValidationFailed(
                "Введите последние 4 цифры заводского номера счётчика из квитанции",
                {"proof": f"{PROOF_DIGITS} characters"})
        self._check_rate(limiter)
        account = find(self.db, number.strip(), branch)
        if account is None:
            raise self._failed(limiter, NotFound(
                "Лицевой счёт с таким номером в этом филиале не найден. Проверьте номер и "
                "филиал по квитанции", {"number": "not found in this branch"}))
        if proof_text not in _proof_values(account):
            raise self._failed(limiter, ValidationFailed(
                "Последние цифры номера счётчика не совпадают с данными лицевого счёта",
                {"proof": "does not match"}))
        return account

    def link(self, user_id: str, number: object, branch: object, proof: object,
             paperless: object = False) -> dict[str, Any]:
        """Link an account the user holds; returns the account as its page shows it."""
        account = self.proved(user_id, number, branch, proof)
        if self.db.scalar(select(Link).where(Link.user_id == user_id,
                                             Link.account_id == account.id)):
            raise Conflict("Этот лицевой счёт уже добавлен в ваш личный кабинет",
                           {"number": "already linked"})
        link = Link(user_id=user_id, account=account, role="holder", access="full",
                    created_at=self.now)
        self.db.add(link)
        try:
            self.db.flush()
        except IntegrityError:  # the same request twice at once
            self.db.rollback()
            raise Conflict("Этот лицевой счёт уже добавлен в ваш личный кабинет",
                           {"number": "already linked"}) from None
        self._announce_link(link)
        if paperless is True:
            self._set_paperless(link, True)
        self.db.commit()
        return account_view(account, link, self.branch_names)

    def _grant_event(self, event_type: str, link: Link, **extra: Any) -> None:
        """An event about ``link``'s grant, with its next version (shared/grants.py)."""
        self.d.record(event_type, {
            "user_id": link.user_id, "account_id": link.account_id,
            "number": link.account.number, "branch": link.account.branch,
            "version": grants.next_version(self.db, link.user_id, link.account_id), **extra})

    def _announce_link(self, link: Link) -> None:
        self._grant_event("account_linked", link, role=link.role, access=link.access,
                          tariff_category=link.account.tariff_category)

    def accounts(self, user_id: str) -> list[dict[str, Any]]:
        """The user's accounts (empty: «У вас нет лицевых счетов»)."""
        links = self.db.scalars(select(Link).where(Link.user_id == user_id).order_by(Link.id))
        return [account_view(link.account, link, self.branch_names) for link in links]

    def count(self, user_id: str) -> int:
        return self.db.scalar(select(func.count()).select_from(Link).where(
            Link.user_id == user_id))

    def account(self, user_id: str, account_id: object) -> dict[str, Any]:
        link = self.access(user_id, account_id)
        view = account_view(link.account, link, self.branch_names)
        if link.role == "holder":
            view["trusted"] = self._trusted(link.account_id)
        return view

    def unlink(self, user_id: str, account_id: object) -> None:
        """Remove the account from the user's cabinet; a holder's trusted persons lose it too
        unless another holder remains."""
        link = self.access(user_id, account_id)
        account = link.account
        self._remove(link)
        if link.role == "holder" and not self.db.scalar(select(Link).where(
                Link.account_id == account.id, Link.role == "holder", Link.id != link.id)):
            for trusted in self.db.scalars(select(Link).where(Link.account_id == account.id,
                                                              Link.role == "trusted")):
                self._remove(trusted)
        self.db.commit()

    def _remove(self, link: Link) -> None:
        self._grant_event("account_unlinked", link)
        if link.paperless:
            self._set_paperless(link, False)
        self.db.delete(link)

    # ---- paperless bills -----------------------------------------------------------------

    def set_paperless(self, user_id: str, account_id: object, paperless: object) -> dict[str, Any]:
        """«Я согласен получать счета по e-mail и отказываюсь от получения бумажных счетов»."""
        if not isinstance(paperless, bool):
            raise ValidationFailed("Укажите согласие: да или нет", {"paperless": "must be boolean"})
        link = self.access(user_id, account_id, "full")
        self._set_paperless(link, paperless)
        self.db.commit()
        return account_view(link.account, link, self.branch_names)

    def _set_paperless(self, link: Link, paperless: bool) -> None:
        email = None
        if paperless:
            contact = self.db.get(Contact, link.user_id)
            email = contact.email if contact else None
            if not email:
                raise ValidationFailed(
                    "Чтобы получать счета по e-mail, подтвердите адрес электронной почты",
                    {"paperless": "no confirmed e-mail"})
        if link.paperless == paperless and link.paperless_email == email:
            return
        link.paperless, link.paperless_email, link.paperless_changed_at = paperless, email, self.now
        self.d.record("paperless_consent_changed", {
            "user_id": link.user_id, "number": link.account.number,
            "branch": link.account.branch, "paperless": paperless, "email": email})

    # ---- trusted persons -----------------------------------------------------------------

    def _trusted(self, account_id: int) -> list[dict[str, Any]]:
        links = list(self.db.scalars(select(Link).where(
            Link.account_id == account_id, Link.role == "trusted").order_by(Link.id)))
        contacts = {c.user_id: c for c in self.db.scalars(select(Contact).where(
            Contact.user_id.in_([link.user_id for link in links])))}
        return [{"user_id": link.user_id, "access": link.access,
                 "phone": getattr(contacts.get(link.user_id), "phone", None),
                 "email": getattr(contacts.get(link.user_id), "email", None),
                 "since": link.created_at.isoformat()} for link in links]

    def grant(self, user_id: str, account_id: object, phone: object = None, email: object = None,
              access: object = "read") -> dict[str, Any]:
        """The holder gives another registered user (found by confirmed phone or e-mail)
        read-only or full access."""
        link = self.access(user_id, account_id, "full")
        if link.role != "holder":
            raise Forbidden("Доступ могут давать только владельцы счёта",
                            {"account_id": "not the holder"})
        if access not in ACCESS:
            raise ValidationFailed("Доступ: read или full", {"access": "read or full"})
        if bool(phone) == bool(email):
            raise ValidationFailed("Укажите телефон или e-mail доверенного лица",
                                   {"phone": "give a phone or an e-mail"})
        column, value = ((Contact.phone, normalize_phone(phone)) if phone
                         else (Contact.email, normalize_email(email)))
        other = self.db.scalar(select(Contact).where(column == value, Contact.deleted_at.is_(None)))
        if other is None:
            raise NotFound("Пользователь с таким контактом не зарегистрирован в личном кабинете",
                           {"phone" if phone else "email": "no such user"})
        if other.user_id == user_id:
            raise ValidationFailed("Нельзя дать доступ самому себе", {"phone": "yourself"})
        existing = self.db.scalar(select(Link).where(Link.user_id == other.user_id,
                                                     Link.account_id == link.account_id))
        if existing is not None and existing.role == "holder":
            raise Conflict("Этот пользователь уже владелец счёта", {"phone": "already a holder"})
        if existing is None:
            existing = Link(user_id=other.user_id, account=link.account, role="trusted",
                            access=access, granted_by=user_id, created_at=self.now)
            self.db.add(existing)
            self.db.flush()
            self._announce_link(existing)
            if self.notify is not None:
                self.notify(other.user_id, "access_granted", "Вам предоставлен доступ к счёту",
                            f"Лицевой счёт № {link.account.number} "
                            f"({self.branch_names.get(link.account.branch, link.account.branch)}): "
                            f"{'полный доступ' if access == 'full' else 'просмотр'}.",
                            # The grant's time too: SQLite gives a link made again after a
                            # revocation the deleted one's id, and this is a new grant.
                            f"granted:{existing.id}:{self.now.isoformat()}", link.account_id)
        elif existing.access != access:
            existing.access = access
            self._grant_event("account_access_changed", existing, role=existing.role,
                              access=access)
        self.db.commit()
        return {"trusted": self._trusted(link.account_id)}

    def revoke(self, user_id: str, account_id: object, trusted_user_id: object) -> None:
        link = self.access(user_id, account_id, "full")
        if link.role != "holder":
            raise Forbidden("Отзывать доступ могут только владельцы счёта",
                            {"account_id": "not the holder"})
        trusted = self.db.scalar(select(Link).where(Link.user_id == trusted_user_id,
                                                    Link.account_id == link.account_id,
                                                    Link.role == "trusted"))
        if trusted is None:
            raise NotFound("У этого пользователя нет доступа к счёту",
                           {"user_id": "not a trusted person"})
        self._remove(trusted)
        self.db.commit()

    # ---- what auth tells us --------------------------------------------------------------

    def contact_confirmed(self, payload: dict[str, Any]) -> None:
        contact = self.db.get(Contact, payload["user_id"]) or Contact(user_id=payload["user_id"])
        setattr(contact, payload["channel"], payload["value"])
        self.db.add(contact)

    def user_deleted(self, payload: dict[str, Any]) -> None:
        """152-ФЗ: the user's links go; the registry (billing's data) stays."""
        for link in self.db.scalars(select(Link).where(Link.user_id == payload["user_id"])):
            self._remove(link)
        contact = self.db.get(Contact, payload["user_id"])
        if contact is not None:
            contact.phone = contact.email = None
            contact.deleted_at = self.now
