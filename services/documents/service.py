"""The documents service's nameko entrypoints: РАЗДЕЛ «ДОКУМЕНТЫ» — bills as PDF with the
payment QR code, and the documents for the tariff tiers («Документы для соц. нормы»)."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from nameko.dependency_providers import Config
from sqlalchemy import delete

from services.documents.domain import bill_pdf, bills, document_types
from services.documents.domain.bill import Bill, DocumentError
from services.documents.domain.submissions import Submissions
from services.documents.models import (AccountGrant, AccountGrantsLoad, Document, Outbox,
                                       PaperlessSubscriber, ProcessedEvent)
from services.documents.models import IdempotencyKey
from shared import paging
from shared.blocking import offload
from shared.clock import ClockProvider
from shared.consumers import reliable_event_handler
from shared.context import RequestContext
from shared.db import Database
from shared.deadlines import RpcProxy
from shared.errors import Conflict, NotFound
from shared.idempotency import Idempotency, idempotent
from shared.grants import GrantsMixin
from shared.service import OutboxProvider, ServiceBase, rpc
from shared.storage import StoreProvider

MIGRATIONS = Path(__file__).parent / "migrations"
STAFF = ("operator", "admin")


def _render(bill: Bill) -> bytes:
    # CPU-bound (tens of ms): in eventlet's thread pool, so other workers keep running.
    return offload(bill_pdf.render, bill)


class DocumentsService(GrantsMixin, ServiceBase):
    """Bills (PDF, QR) from the other services' data; customers' documents and their review."""

    name = "documents"
    processed_events = ProcessedEvent
    grant_model = AccountGrant
    grants_load_model = AccountGrantsLoad

    config = Config()
    db = Database("documents", MIGRATIONS)
    outbox = OutboxProvider(Outbox)
    clock = ClockProvider()
    request = RequestContext()
    idempotency = Idempotency(IdempotencyKey)  # Idempotency-Key of creating calls
    store = StoreProvider("documents")
    accounts = RpcProxy("accounts")
    readings = RpcProxy("readings")
    payments = RpcProxy("payments")

    @property
    def submissions(self) -> Submissions:
        return Submissions(self.work(), self.store)

    def _account(self, account_id: Any, need: str = "read") -> dict[str, Any]:
        """Accounts' ownership rule, decided on documents' copy of the grants
        (shared/grants.py); the grant names the account by number and branch."""
        return self.allowed(account_id, need)

    def _document(self, document_id: Any, need: str, staff: bool = False,
                  lock: bool = False) -> Document:
        """A document of an account the caller may act on (with ``staff``, operators reach
        every one). Someone else's is as missing as one that never was."""
        principal = self.request.principal()
        submissions = self.submissions
        account_id = submissions.get(document_id).account_id
        if not (staff and principal.role in STAFF):
            try:
                self.allowed(account_id, need)
            except NotFound:
                raise NotFound("Документ не найден",
                               {"document_id": "no such document"}) from None
        return submissions.get(document_id, lock)

    # ---- bills ---------------------------------------------------------------------------

    @rpc
    def bills(self, account_id: Any, cursor: Any = None, limit: Any = None) -> dict[str, Any]:
        """The Документы tab: the account's billed periods, newest first, each a bill to
        form and download; a page at a time (shared/paging.py)."""
        access = self._account(account_id)
        periods = self.payments.billed_periods(number=access["number"], branch=access["branch"])
        # a few hundred months at most: paged here rather than in payments
        return paging.of_list(periods, cursor, limit, lambda p: [p["period"]], (str,),
                              lambda p: {**p, "title": bills.period_title(p["period"]),
                                         "filename": bills.filename(access["number"],
                                                                    p["period"])},
                              newest_first=True)

    @rpc
    def bill(self, account_id: Any, period: Any) -> dict[str, Any]:
        """«Сформировать квитанцию»: the bill for a month as a PDF (base64) with the payment
        QR code, built from the other services' data now; the same data gives the same PDF
        (cached in the store by its content hash)."""
        access = self._account(account_id)
        period = bills.check_period(period)
        try:
            _, bill = bills.fetch(self.accounts, self.readings, self.payments,
                                  access["number"], access["branch"], period)
            key, pdf = bills.cached_pdf(self.store, bill, _render)
        except DocumentError as exc:  # reference data or amounts that make no printable bill
            raise Conflict("Квитанцию по этому счёту сейчас сформировать нельзя, обратитесь в "
                           "филиал", {f"bill.{exc.field}": exc.reason}) from None
        return {"filename": bills.filename(access["number"], period),
                "content_type": "application/pdf", "content_hash": key,
                "content_base64": base64.b64encode(pdf).decode()}

    # ---- documents for the tariff tiers --------------------------------------------------

    @rpc
    def document_types(self) -> list[dict[str, Any]]:
        """The types of documents one may submit, with the tariff categories each supports."""
        return list(document_types.load().values())

    @rpc
    @idempotent
    def upload_document(self, account_id: Any, doc_type: Any = None, filename: Any = None,
                        content_base64: Any = None) -> dict[str, Any]:
        """A scan or photo (JPEG, PNG or PDF, checked by content) of a document for the
        account; the caller needs full access to it."""
        access = self._account(account_id, "full")
        return self.submissions.upload(self.request.principal().user_id, access, doc_type,
                                       filename, content_base64)

    @rpc
    def my_documents(self, account_id: Any, cursor: Any = None, limit: Any = None
                     ) -> dict[str, Any]:
        """The account's documents with their status (and the reason of a rejection),
        newest first, a page at a time (shared/paging.py)."""
        return self.submissions.of_account(self._account(account_id)["account_id"], cursor,
                                           limit)

    @rpc
    def withdraw_document(self, document_id: Any) -> dict[str, Any]:
        """The customer withdraws a document nobody has decided on yet."""
        doc = self._document(document_id, "full", lock=True)
        return self.submissions.withdraw(self.request.principal().user_id, doc)

    @rpc
    def document_file(self, document_id: Any) -> dict[str, Any]:
        """A document's file (filename, content_type, base64) for the account's users or an
        operator."""
        return self.submissions.file(self._document(document_id, "read", staff=True))

    # ---- operators -----------------------------------------------------------------------

    @rpc
    def pending_documents(self, status: Any = None, branch: Any = None, cursor: Any = None,
                          limit: Any = None) -> dict[str, Any]:
        """Operators: the documents waiting for a decision (or of ``status``), oldest first,
        a page at a time (shared/paging.py) with the ``total``."""
        self.request.principal(*STAFF)
        return self.submissions.pending(status, branch, cursor, limit)

    @rpc
    def operator_document(self, document_id: Any) -> dict[str, Any]:
        """Operators: one document (account, type, status, decision) without its file."""
        self.request.principal(*STAFF)
        submissions = self.submissions
        return submissions.view(submissions.get(document_id), staff=True)

    @rpc
    def open_document(self, document_id: Any) -> dict[str, Any]:
        """Operators: the document's file; a submitted one is now under review."""
        operator = self.request.principal(*STAFF)
        submissions = self.submissions
        return submissions.open(operator.user_id, submissions.get(document_id, lock=True))

    @rpc
    def review_document(self, document_id: Any, decision: Any = None, reason: Any = None,
                        tariff_category: Any = None) -> dict[str, Any]:
        """Operators: accept (maybe setting the account's tariff category, which accounts
        then records) or reject with a reason."""
        operator = self.request.principal(*STAFF)
        submissions = self.submissions
        return submissions.review(operator.user_id, submissions.get(document_id, lock=True),
                                  decision, reason, tariff_category)

    # ---- events in -----------------------------------------------------------------------

    @reliable_event_handler("accounts", "paperless_consent_changed")
    def on_paperless_consent_changed(self, body: dict[str, Any]) -> None:
        """Keep the copy of who takes bills by e-mail (the monthly batch reads it)."""
        def apply(p: dict[str, Any]) -> None:
            key = (p["user_id"], p["number"], p["branch"])
            row = self.db.get(PaperlessSubscriber, key)
            if not p["paperless"]:
                if row is not None:
                    self.db.delete(row)
                return
            self.db.merge(PaperlessSubscriber(user_id=p["user_id"], number=p["number"],
                                              branch=p["branch"], email=p["email"],
                                              changed_at=self.clock.now()))
        self.handle_event(body, apply)

    @reliable_event_handler("auth", "user_deleted")
    def on_user_deleted(self, body: dict[str, Any]) -> None:
        """152-ФЗ: the user's documents and files are erased, and no more bills by e-mail."""
        def forget(p: dict[str, Any]) -> list[str]:
            self.db.execute(delete(PaperlessSubscriber).where(
                PaperlessSubscriber.user_id == p["user_id"]))
            return self.submissions.user_deleted(p)

        for key in self.handle_event(body, forget) or ():
            self.store.delete(key)  # only now that the rows are gone for good
