"""The accounts service's nameko entrypoints: thin wrappers over the domain modules."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from nameko.dependency_providers import Config
from nameko.timer import timer
from sqlalchemy import select

from services.accounts.domain import branches, grants, registry
from services.accounts.domain import contract_requests
from services.accounts.domain.contract_requests import request_contract
from services.accounts.domain.links import Links
from services.accounts.domain.notices import Notices
from services.accounts.domain.profile import Profiles
from services.accounts.models import Account, Link, Outbox, ProcessedEvent
from services.accounts.models import IdempotencyKey
from shared.clock import ClockProvider
from shared.consumers import reliable_event_handler
from shared.deadlines import RpcProxy
from shared.errors import NotFound
from shared.context import RequestContext
from shared.db import Database
from shared.idempotency import Idempotency, idempotent
from shared.notify import NotifierProvider
from shared.service import OutboxProvider, ServiceBase, optional_call, rpc

MIGRATIONS = Path(__file__).parent / "migrations"
# Read at import (nameko fixes timer intervals when the class is defined); tests shorten it.
REMINDER_INTERVAL = float(os.environ.get("REMINDER_INTERVAL", "3600"))


class AccountsService(ServiceBase):
    """Personal accounts (registry from billing), links to users, trusted persons."""

    name = "accounts"
    processed_events = ProcessedEvent

    config = Config()
    db = Database("accounts", MIGRATIONS)
    outbox = OutboxProvider(Outbox)
    clock = ClockProvider()
    request = RequestContext()
    idempotency = Idempotency(IdempotencyKey)  # Idempotency-Key of creating calls
    notifier = NotifierProvider()
    payments = RpcProxy("payments")

    @property
    def links(self) -> Links:
        deps = self.work()
        return Links(deps, Notices(deps, self.notifier).to_user)

    @property
    def profiles(self) -> Profiles:
        return Profiles(self.work(), self.notifier)

    @property
    def notices(self) -> Notices:
        return Notices(self.work(), self.notifier)

    def _me(self) -> str:
        return self.request.principal().user_id

    # ---- reference data ------------------------------------------------------------------

    @rpc
    def branches(self) -> dict[str, Any]:
        """The supplier and its branches, for the «Филиал» selector."""
        return branches.load(self.config.get("ACCOUNTS_BRANCHES_FILE", ""))

    # ---- the customer's accounts ---------------------------------------------------------

    @rpc
    def my_accounts(self) -> list[dict[str, Any]]:
        """The caller's accounts; an empty list is «У вас нет лицевых счетов»."""
        return self.links.accounts(self._me())

    @rpc
    @idempotent
    def link_account(self, number: Any, branch: Any, proof: Any, paperless: Any = False
                     ) -> dict[str, Any]:
        """«Добавить лицевой счёт»: number, branch and the proof from the bill."""
        return self.links.link(self._me(), number, branch, proof, paperless)

    @rpc
    def get_account(self, account_id: Any) -> dict[str, Any]:
        """One of the caller's accounts (holders also see who else has access)."""
        return self.links.account(self._me(), account_id)

    @rpc
    def unlink_account(self, account_id: Any) -> None:
        """Removes the account from the caller's cabinet."""
        self.links.unlink(self._me(), account_id)

    @rpc
    def set_paperless(self, account_id: Any, paperless: Any) -> dict[str, Any]:
        """Bills by e-mail instead of paper, per account (needs a confirmed e-mail)."""
        return self.links.set_paperless(self._me(), account_id, paperless)

    @rpc
    @idempotent
    def grant_access(self, account_id: Any, phone: Any = None, email: Any = None,
                     access: Any = "read") -> dict[str, Any]:
        """The holder gives a registered user read-only or full access."""
        return self.links.grant(self._me(), account_id, phone, email, access)

    @rpc
    def revoke_access(self, account_id: Any, user_id: Any) -> None:
        """The holder takes a trusted person's access back."""
        self.links.revoke(self._me(), account_id, user_id)

    @rpc
    @idempotent
    def request_contract(self, branch: Any, full_name: Any, address: Any, phone: Any = None,
                         comment: Any = None) -> dict[str, Any]:
        """«Заключить договор» for a customer without an account."""
        return request_contract(self.work(), self._me(), branch, full_name, address, phone,
                                comment)

    @rpc
    def account_by_proof(self, number: Any, branch: Any, proof: Any) -> dict[str, Any]:
        """For quick actions without signing in (submitting readings): the account whose bill
        the caller holds, with its meters in service (in the meter_registered shape, for
        readings to fill its copy when nobody has opened the account yet). Failures are
        rate-limited per client address."""
        account = self.links.proved(f"ip:{self.request.client_ip}", number, branch, proof)
        return {"account_id": account.id, "number": account.number, "branch": account.branch,
                "meters": registry.meters_in_service(account)}

    @rpc
    def account_meters(self, account_id: Any) -> list[dict[str, Any]]:
        """The meters in service on one of the caller's accounts, in the meter_registered
        shape: readings fills its copy from this for accounts loaded by the CSV import,
        which publishes no events."""
        link = self.links.access(self._me(), account_id)
        return registry.meters_in_service(link.account)

    @rpc
    def registry_meters(self, number: Any, branch: Any) -> list[dict[str, Any]]:
        """Internal, for the readings service only (the gateway never routes it): the meters
        in service on account ``number`` of ``branch``, in the meter_registered shape, so
        readings takes billing's events for an account nobody has opened yet (the CSV load
        publishes no events). NotFound when the registry has no such account."""
        account = registry.find(self.db, str(number), str(branch))
        if account is None:
            raise NotFound("Лицевой счёт не найден", {"number": "not found in this branch"})
        return registry.meters_in_service(account)

    @rpc
    def check_access(self, account_id: Any, need: str = "read") -> dict[str, Any]:
        """The ownership rule: may the caller act on this account? The other services keep
        a copy of the grants (shared/grants.py) and ask this only for one they do not know
        yet; ``version`` places the answer among the grant's events.

        ``need`` is 'read' or 'full' (submit readings, pay). Raises NotFound when the account
        is not the caller's, Forbidden when the access is read-only."""
        links = self.links
        link = links.access(self._me(), account_id, need)
        return {"account_id": link.account_id, "number": link.account.number,
                "branch": link.account.branch, "role": link.role, "access": link.access,
                "tariff_category": link.account.tariff_category,
                "version": links.grant_version(link)}

    @rpc
    def grants_page(self, after_id: Any = 0, limit: Any = 500) -> dict[str, Any]:
        """Internal, for the services that keep a copy of the grants (the gateway never
        routes it): every link user↔account with id above ``after_id``, in the
        account_linked shape with its version, and ``next_after_id`` (None after the last
        page). They load it once at start, then follow the events (shared/grants.py)."""
        return grants.page(self.db, after_id, limit)

    @rpc
    def bill_card(self, number: Any, branch: Any) -> dict[str, Any]:
        """Internal, for the documents service only (the gateway never routes it; documents
        has checked the caller's access first, and its monthly batch calls it with no
        caller): the consumer, the GIS ЖКХ id, and the branch's and supplier's reference data
        a bill prints."""
        account = registry.find(self.db, str(number), str(branch))
        if account is None:
            raise NotFound("Лицевой счёт не найден", {"number": "not found in this branch"})
        return registry.bill_card(account,
                                  branches.load(self.config.get("ACCOUNTS_BRANCHES_FILE", "")))

    @rpc
    def paperless_subscribers(self) -> list[dict[str, Any]]:
        """Internal, for the documents batch (the gateway never routes it): every link whose
        customer takes bills by e-mail, in the paperless_consent_changed shape, so the batch
        also covers consents given before documents kept its copy."""
        rows = self.db.execute(select(Link.user_id, Account.number, Account.branch,
                                      Link.paperless_email).join(Account)
                               .where(Link.paperless.is_(True)))
        return [{"user_id": user_id, "number": number, "branch": branch, "paperless": True,
                 "email": email} for user_id, number, branch, email in rows]

    # ---- РАЗДЕЛ «ПРОФИЛЬ» -----------------------------------------------------------------

    @rpc
    def get_profile(self) -> dict[str, Any]:
        """All profile tabs of the caller."""
        return self.profiles.view(self._me())

    @rpc
    def update_profile(self, tab: Any, data: Any) -> dict[str, Any]:
        """Saves one tab: basic, extended or preferences."""
        return self.profiles.update(self._me(), tab, data)

    @rpc
    def update_contacts(self, email: Any = None, extra_phones: Any = None,
                        postal_address: Any = None) -> dict[str, Any]:
        """Контактная информация; a new e-mail is confirmed by a link first."""
        return self.profiles.update_contacts(self._me(), email, extra_phones, postal_address)

    @rpc
    def confirm_profile_email(self, token: Any) -> dict[str, Any]:
        """The link from the confirmation letter (no login needed: the token is the proof)."""
        return self.profiles.confirm_email(token)

    @rpc
    def set_photo(self, image_base64: Any) -> dict[str, Any]:
        """«Изменить фото»: JPEG or PNG, checked by content, resized."""
        return self.profiles.set_photo(self._me(), image_base64)

    @rpc
    def get_photo(self) -> dict[str, Any]:
        """The caller's photo as base64 JPEG."""
        return self.profiles.get_photo(self._me())

    @rpc
    def delete_photo(self) -> None:
        """Removes the caller's photo."""
        self.profiles.delete_photo(self._me())

    # ---- notices and the page header ------------------------------------------------------

    @rpc
    def my_notices(self, unread_only: Any = False, cursor: Any = None, limit: Any = None
                   ) -> dict[str, Any]:
        """The caller's notice feed, newest first, a page at a time ({items, next}; ``next``
        back as ``cursor``), with the unread count."""
        return self.notices.feed(self._me(), unread_only, cursor, limit)

    @rpc
    def mark_notice_read(self, notice_id: Any) -> dict[str, Any]:
        """Marks one of the caller's notices read."""
        return self.notices.mark_read(self._me(), notice_id)

    @rpc
    def mark_all_notices_read(self) -> dict[str, Any]:
        """Marks every notice of the caller read."""
        return self.notices.mark_all_read(self._me())

    @rpc
    def summary(self) -> dict[str, Any]:
        """What every page's header shows: unread notices, the number of accounts, and the
        total to pay over them (from payments; null while payments cannot answer)."""
        user_id = self._me()
        debt = optional_call(self.payments.my_debt)  # the header still shows the rest
        balance = {key: debt[key] for key in ("debt", "penalties", "to_pay")} if debt else None
        return {"unread_notices": self.notices.unread(user_id),
                "accounts": self.links.count(user_id), "balance": balance}

    @timer(interval=REMINDER_INTERVAL)
    def send_reminders(self) -> None:
        """Verification dates within 30 days (the reading window's reminder comes from
        readings, which knows who has not submitted yet)."""
        self.notices.remind_verification()

    # ---- events in -----------------------------------------------------------------------

    def _handle(self, body: dict[str, Any], apply: Callable[[dict[str, Any]], Any]) -> None:
        """Once per event id, in the same transaction as its effects and their events."""
        deps = self.work()

        def apply_and_record(payload: dict[str, Any]) -> None:
            for event_type, event in apply(payload) or ():
                deps.record(event_type, event)
        self.handle_event(body, apply_and_record)

    @reliable_event_handler("billing", "account_upserted")
    def on_account_upserted(self, body: dict[str, Any]) -> None:
        self._handle(body, lambda p: registry.upsert_account(self.db, p, self.clock.now()))

    @reliable_event_handler("billing", "account_closed")
    def on_account_closed(self, body: dict[str, Any]) -> None:
        self._handle(body, lambda p: registry.close_account(self.db, p, self.clock.now()))

    @reliable_event_handler("billing", "meter_installed")
    def on_meter_installed(self, body: dict[str, Any]) -> None:
        self._handle(body, lambda p: registry.install_meter(self.db, p, self.clock.now()))

    @reliable_event_handler("billing", "meter_removed")
    def on_meter_removed(self, body: dict[str, Any]) -> None:
        self._handle(body, lambda p: registry.remove_meter(self.db, p, self.clock.now()))

    @reliable_event_handler("auth", "contact_confirmed")
    def on_contact_confirmed(self, body: dict[str, Any]) -> None:
        self._handle(body, self.links.contact_confirmed)

    @reliable_event_handler("payments", "payment_succeeded")
    def on_payment_succeeded(self, body: dict[str, Any]) -> None:
        self._handle(body, self.notices.payment_succeeded)

    @reliable_event_handler("readings", "reading_reminder_due")
    def on_reading_reminder_due(self, body: dict[str, Any]) -> None:
        self._handle(body, lambda p: self.notices.remind_reading(p) and None)

    @reliable_event_handler("requests", "request_status_changed")
    def on_request_status_changed(self, body: dict[str, Any]) -> None:
        self._handle(body, self.notices.request_status_changed)

    @reliable_event_handler("requests", "request_message_posted")
    def on_request_message_posted(self, body: dict[str, Any]) -> None:
        self._handle(body, self.notices.request_reply)

    @reliable_event_handler("documents", "document_status_changed")
    def on_document_status_changed(self, body: dict[str, Any]) -> None:
        """A reviewed document: a notice to the customer; an accepted one with a tariff
        category sets the account's (announced as account_category_changed)."""
        def apply(payload: dict[str, Any]) -> Any:
            self.notices.document_reviewed(payload)
            return registry.document_reviewed(self.db, payload, self.clock.now())

        self._handle(body, apply)

    @reliable_event_handler("documents", "bill_formed")
    def on_bill_formed(self, body: dict[str, Any]) -> None:
        """A bill for paperless delivery: its link by e-mail to the customer."""
        self._handle(body, self.notices.bill_formed)

    @reliable_event_handler("auth", "user_deleted")
    def on_user_deleted(self, body: dict[str, Any]) -> None:
        def forget(payload: dict[str, Any]) -> None:
            self.links.user_deleted(payload)
            self.profiles.forget(payload["user_id"])
            self.notices.forget(payload["user_id"])
            contract_requests.forget(self.db, payload["user_id"])

        self._handle(body, forget)
