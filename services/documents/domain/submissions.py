"""«Документы для соц. нормы»: a customer submits scans or photos for an account, sees their
status and withdraws one not yet decided; operators list the waiting ones, open and accept
(maybe setting the account's tariff category) or reject them with a reason.

The life of a document: submitted → under_review (an operator opened it) → accepted or
rejected; submitted or under_review → withdrawn by the customer. Each change and its event
go to the outbox in one transaction; a file goes to the store first and is removed again if
that transaction does not land, and a withdrawn document's file is erased.
"""
from __future__ import annotations

import base64
from typing import Any, Mapping

from sqlalchemy import and_, func, or_, select

from services.documents.domain import document_types
from services.documents.models import Document
from shared import paging
from shared.contracts.billing import TARIFF_CATEGORIES
from shared.contracts.documents import DOCUMENT_STATUSES
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.storage import FileStore
from shared.uploads import read_upload
from shared.work import Work

LABELS = {"submitted": "Подан", "under_review": "На рассмотрении", "accepted": "Принят",
          "rejected": "Отклонён", "withdrawn": "Отозван"}
UNDECIDED = ("submitted", "under_review")
DECISIONS = {"accept": "accepted", "reject": "rejected"}
MAX_ID = 2**31 - 1
REASON_LENGTH = (3, 500)


def document_id(value: object) -> int:
    """A document id from the URL or a call, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("Неверный номер документа", {"document_id": "must be an integer"})
    if not 0 < value <= MAX_ID:
        raise NotFound("Документ не найден", {"document_id": "no such document"})
    return value


class Submissions:
    def __init__(self, work: Work, store: FileStore) -> None:
        self.w = work
        self.db = work.db
        self.store = store
        self.types = document_types.load()

    # ---- views ---------------------------------------------------------------------------

    def _title(self, doc: Document) -> str:
        kind = self.types.get(doc.doc_type)  # a type since dropped from the list: its code
        return kind["title"] if kind else doc.doc_type

    def view(self, doc: Document, staff: bool = False) -> dict[str, Any]:
        view = {"id": doc.id, "account_id": doc.account_id, "number": doc.number,
                "branch": doc.branch, "doc_type": doc.doc_type,
                "doc_type_title": self._title(doc), "filename": doc.filename,
                "content_type": doc.content_type, "size": doc.size,
                "status": doc.status, "status_label": LABELS[doc.status], "reason": doc.reason,
                "tariff_category": doc.tariff_category,
                "submitted_at": doc.submitted_at.isoformat(),
                "reviewed_at": doc.reviewed_at.isoformat() if doc.reviewed_at else None,
                "can_withdraw": doc.status in UNDECIDED}
        if staff:
            view.update(user_id=doc.user_id, reviewer_id=doc.reviewer_id)
        return view

    def get(self, value: object, lock: bool = False) -> Document:
        query = select(Document).where(Document.id == document_id(value))
        if lock:  # PostgreSQL: two operators (or operator and customer) take turns
            query = query.with_for_update()
        doc = self.db.scalar(query)
        if doc is None:
            raise NotFound("Документ не найден", {"document_id": "no such document"})
        return doc

    # ---- the customer --------------------------------------------------------------------

    def upload(self, user_id: str, account: Mapping[str, Any], doc_type: object,
               filename: object, content_base64: object) -> dict[str, Any]:
        """A document for the account (``account``: what accounts.check_access answered)."""
        kind = document_types.check(doc_type)
        if filename is not None and not isinstance(filename, str):
            raise ValidationFailed("Неверное имя файла", {"filename": "must be a string"})
        # The file first: checking it is CPU work, done before any transaction is open.
        file = read_upload(content_base64, filename, "content_base64",
                           self.w.config["DOCUMENT_MAX_BYTES"])
        limit = self.w.config["DOCUMENTS_PENDING_MAX"]
        waiting = self.db.scalar(select(func.count()).select_from(Document).where(
            Document.account_id == account["account_id"], Document.status.in_(UNDECIDED)))
        if waiting >= limit:
            raise ValidationFailed(
                f"По этому счёту уже {waiting} документов ждут рассмотрения: дождитесь решения "
                "или отзовите ненужные",
                {"account_id": f"at most {limit} documents awaiting review"})
        key = self.store.put(file.data)
        try:
            doc = Document(account_id=account["account_id"], number=account["number"],
                           branch=account["branch"], user_id=user_id, doc_type=kind["code"],
                           filename=file.filename, content_type=file.content_type,
                           size=len(file.data), storage_key=key, status="submitted",
                           submitted_at=self.w.now, updated_at=self.w.now)
            self.db.add(doc)
            self.db.flush()
            self.w.record("document_submitted", {
                **self._key(doc), "filename": doc.filename, "content_type": doc.content_type,
                "size": doc.size, "submitted_at": self.w.now.isoformat()})
            self.db.commit()
        except BaseException:
            self.db.rollback()
            self.store.delete(key)  # no row points at it
            raise
        return self.view(doc)

    def of_account(self, account_id: int, cursor: object = None, limit: object = None
                   ) -> dict[str, Any]:
        """The account's documents, newest first, a page at a time (shared/paging.py);
        withdrawn ones are gone from the list."""
        size = paging.limit_of(limit)
        after = paging.decode(cursor, (int,))
        query = select(Document).where(Document.account_id == account_id,
                                       Document.status != "withdrawn")
        if after is not None:
            query = query.where(Document.id < after[0])
        docs = list(self.db.scalars(query.order_by(Document.id.desc()).limit(size + 1)))
        return paging.page(docs, size, self.view, lambda doc: [doc.id])

    def withdraw(self, user_id: str, doc: Document) -> dict[str, Any]:
        """The customer takes back a document nobody has decided on; its file is erased."""
        self._require(doc, UNDECIDED, "Документ уже рассмотрен, отозвать его нельзя")
        key = doc.storage_key
        doc.storage_key = None
        self._change(doc, "withdrawn", "customer", user_id)
        self.db.commit()
        if key:
            self.store.delete(key)  # only now that no row points at it
        return self.view(doc)

    def file(self, doc: Document) -> dict[str, Any]:
        """The file to download: name, type and bytes (base64)."""
        try:
            data = self.store.get(doc.storage_key) if doc.storage_key else None
        except FileNotFoundError:
            data = None
        if data is None:
            raise NotFound("Файл документа не найден", {"document_id": "file erased"})
        return {"filename": doc.filename, "content_type": doc.content_type,
                "content_base64": base64.b64encode(data).decode()}

    # ---- operators -----------------------------------------------------------------------

    def pending(self, status: object = None, branch: object = None, cursor: object = None,
                limit: object = None) -> dict[str, Any]:
        """The operators' list, oldest first, a page at a time (shared/paging.py), with
        ``total`` of the whole list: by default the documents waiting for a decision;
        ``status`` and ``branch`` filter it."""
        if status is not None and status not in DOCUMENT_STATUSES:
            raise ValidationFailed("Неверный статус", {"status": "one of "
                                                       + ", ".join(DOCUMENT_STATUSES)})
        if branch is not None and (not isinstance(branch, str) or not branch):
            raise ValidationFailed("Неверный филиал", {"branch": "a branch code"})
        size = paging.limit_of(limit)
        after = paging.decode(cursor, (str, int))
        where = [Document.status == status] if status else [Document.status.in_(UNDECIDED)]
        if branch:
            where.append(Document.branch == branch)
        total = self.db.scalar(select(func.count()).select_from(Document).where(*where))
        if after is not None:  # the documents after the last one given, in the same order
            moment = paging.moment(after[0])
            where.append(or_(Document.submitted_at > moment, and_(
                Document.submitted_at == moment, Document.id > after[1])))
        docs = list(self.db.scalars(select(Document).where(*where)
                                    .order_by(Document.submitted_at, Document.id)
                                    .limit(size + 1)))
        return {**paging.page(docs, size, lambda doc: self.view(doc, staff=True),
                              lambda doc: [doc.submitted_at.isoformat(), doc.id]),
                "total": total}

    def open(self, operator_id: str, doc: Document) -> dict[str, Any]:
        """The operator opens the file; a submitted document is now under review."""
        if doc.status == "submitted":
            self._change(doc, "under_review", "operator", operator_id)
            self.db.commit()
        return self.file(doc)

    def review(self, operator_id: str, doc: Document, decision: object, reason: object = None,
               tariff_category: object = None) -> dict[str, Any]:
        """Accept (maybe with the account's new tariff category, one the document's type
        supports) or reject with the reason the customer reads."""
        if decision not in DECISIONS:
            raise ValidationFailed("Примите или отклоните документ",
                                   {"decision": "accept or reject"})
        if reason is not None and not isinstance(reason, str):
            raise ValidationFailed("Неверная причина", {"reason": "must be a string"})
        text = (reason or "").strip()
        if decision == "reject" and not REASON_LENGTH[0] <= len(text) <= REASON_LENGTH[1]:
            raise ValidationFailed("Укажите причину отказа",
                                   {"reason": f"{REASON_LENGTH[0]} to {REASON_LENGTH[1]} "
                                              "characters"})
        category = None
        if tariff_category is not None:
            if decision != "accept":
                raise ValidationFailed("Категорию тарифа меняет только принятый документ",
                                       {"tariff_category": "only with accept"})
            if tariff_category not in TARIFF_CATEGORIES:
                raise ValidationFailed("Неизвестная категория тарифа", {
                    "tariff_category": "one of " + ", ".join(TARIFF_CATEGORIES)})
            supported = self.types.get(doc.doc_type, {}).get("tariff_categories", [])
            if tariff_category not in supported:
                raise ValidationFailed(
                    "Этот документ не подтверждает такую категорию тарифа",
                    {"tariff_category": f"not supported by {doc.doc_type}"})
            category = tariff_category
        self._require(doc, UNDECIDED, "Документ уже рассмотрен или отозван")
        doc.reviewer_id = operator_id
        doc.reviewed_at = self.w.now
        doc.tariff_category = category
        doc.reason = text or None
        self._change(doc, DECISIONS[decision], "operator", operator_id)
        self.db.commit()
        return self.view(doc, staff=True)

    # ---- events in -----------------------------------------------------------------------

    def user_deleted(self, payload: dict[str, Any]) -> list[str]:
        """152-ФЗ: the user's documents go; returns the file keys to erase after commit."""
        keys = []
        for doc in self.db.scalars(select(Document).where(
                Document.user_id == payload["user_id"])):
            if doc.storage_key:
                keys.append(doc.storage_key)
            self.db.delete(doc)
        return keys

    # ---- shared steps --------------------------------------------------------------------

    @staticmethod
    def _require(doc: Document, statuses: tuple[str, ...], message: str) -> None:
        if doc.status not in statuses:
            raise Conflict(message, {"status": doc.status})

    def _key(self, doc: Document) -> dict[str, Any]:
        return {"document_id": doc.id, "account_id": doc.account_id, "number": doc.number,
                "branch": doc.branch, "user_id": doc.user_id, "doc_type": doc.doc_type,
                "doc_type_title": self._title(doc)}

    def _change(self, doc: Document, status: str, actor_role: str, actor_id: str) -> None:
        old, doc.status, doc.updated_at = doc.status, status, self.w.now
        self.w.record("document_status_changed", {
            **self._key(doc), "old_status": old, "status": status, "reason": doc.reason,
            "tariff_category": doc.tariff_category, "actor_role": actor_role,
            "actor_id": actor_id, "changed_at": self.w.now.isoformat()})
