"""РАЗДЕЛ «УСЛУГИ»: a customer orders a work («+ Заказать услугу»), writes to the operator,
follows the request's life; operators work through a queue. Each change and its event go
to the outbox in one transaction; files go to the store first and are removed again if that
transaction does not land."""
from __future__ import annotations

import base64
import uuid
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any, Callable, Collection, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from services.requests.domain import catalogue, conversation, forms, lifecycle
from services.requests.domain.attachments import Upload, attachment_view, read_uploads
from services.requests.models import Attachment, Message, Staff, StatusChange, WorkRequest
from shared import paging
from shared.db import insert_if_absent
from shared.errors import NotFound, ValidationFailed
from shared.identities import normalize_contact_phone
from shared.storage import FileStore
from shared.work import Work as Deps

CUSTOMER, OPERATOR, SYSTEM = "customer", "operator", "system"
SCHEDULE_HORIZON = timedelta(days=366)

AccountOf = Callable[[int], dict[str, Any]]  # the caller's grant, need="full" (shared/grants.py)


def _other(viewer: str) -> str:
    """The side of the conversation whose messages ``viewer`` reads."""
    return OPERATOR if viewer == CUSTOMER else CUSTOMER


def _request_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("Неверный номер заявки", {"request_id": "must be an integer"})
    if not 0 < value <= forms.MAX_ID:
        raise NotFound("Заявка не найдена", {"request_id": "no such request"})
    return value


class Orders:
    def __init__(self, deps: Deps, store: FileStore) -> None:
        self.d = deps
        self.db = deps.db
        self.now = deps.now
        self.store = store
        self.tz = ZoneInfo(deps.config["SUPPLIER_TIMEZONE"])

    # ---- views ---------------------------------------------------------------------------

    def _local(self, moment: datetime | None) -> str | None:
        """Times of works in the supplier's zone: what the customer reads on the page."""
        return moment.astimezone(self.tz).isoformat() if moment else None

    def _summary(self, r: WorkRequest, unread: int, viewer: str) -> dict[str, Any]:
        view = {"id": r.id, "work_code": r.work_code, "work_title": r.work_title,
                "status": r.status, "status_label": lifecycle.LABELS[r.status],
                "account_id": r.account_id, "number": r.number, "branch": r.branch,
                "scheduled_at": self._local(r.scheduled_at),
                "created_at": r.created_at.isoformat(), "updated_at": r.updated_at.isoformat(),
                "unread": unread}
        if viewer == OPERATOR:
            view.update(user_id=r.user_id, assignee_id=r.assignee_id,
                        contact_phone=r.contact_phone)
        return view

    def _detail(self, r: WorkRequest, viewer: str) -> dict[str, Any]:
        other = _other(viewer)
        unread = self._unread([r.id], other).get(r.id, 0)
        return {
            **self._summary(r, unread, viewer),
            "address": r.address, "contact_phone": r.contact_phone,
            "preferred_time": r.preferred_time, "price": catalogue.price_text(r.price),
            "reason": r.reason, "can_cancel": r.status in lifecycle.STEPS["cancel"].sources,
            "history": [{"status": h.status, "status_label": lifecycle.LABELS[h.status],
                         "at": h.at.isoformat(), "actor": h.actor_role, "reason": h.reason,
                         "scheduled_at": self._local(h.scheduled_at)} for h in r.history],
            **conversation.latest(self.db, r.id, other),  # the rest by pages
        }

    def _unread(self, ids: list[int], author_role: str) -> dict[int, int]:
        if not ids:
            return {}
        rows = self.db.execute(
            select(Message.request_id, func.count()).where(
                Message.request_id.in_(ids), Message.author_role == author_role,
                Message.read_at.is_(None)).group_by(Message.request_id))
        return {request_id: count for request_id, count in rows}

    def _mark_read(self, r: WorkRequest, author_role: str) -> None:
        self.db.execute(update(Message).where(
            Message.request_id == r.id, Message.author_role == author_role,
            Message.read_at.is_(None)).values(read_at=self.now))
        self.db.commit()

    # ---- shared steps --------------------------------------------------------------------

    def _get(self, request_id: object, lock: bool = False) -> WorkRequest:
        # The messages are not loaded: a conversation may be long (conversation.py pages it).
        query = select(WorkRequest).where(WorkRequest.id == _request_id(request_id)).options(
            selectinload(WorkRequest.history))
        if lock:  # PostgreSQL: two operators acting at once take turns (SQLite is serial)
            query = query.with_for_update()
        request = self.db.scalar(query)
        if request is None:
            raise NotFound("Заявка не найдена", {"request_id": "no such request"})
        return request

    def own(self, user_id: str, request_id: object, lock: bool = False) -> WorkRequest:
        """The caller's request; someone else's is as missing as a request that never was."""
        request = self._get(request_id, lock)
        if request.user_id != user_id:
            raise NotFound("Заявка не найдена", {"request_id": "no such request"})
        return request

    def _key(self, r: WorkRequest) -> dict[str, Any]:
        return {"request_id": r.id, "user_id": r.user_id, "work_code": r.work_code,
                "work_title": r.work_title, "account_id": r.account_id, "number": r.number,
                "branch": r.branch}

    def _move(self, r: WorkRequest, action: str, actor_role: str, actor_id: str | None,
              reason: str | None = None, scheduled_at: datetime | None = None) -> None:
        old = r.status
        r.status = lifecycle.next_status(action, old)
        if scheduled_at is not None:
            r.scheduled_at = scheduled_at
        if r.status in ("rejected", "cancelled"):
            r.reason = reason
        r.updated_at = self.now
        r.history.append(StatusChange(old_status=old, status=r.status, actor_role=actor_role,
                                      actor_id=actor_id, reason=reason,
                                      scheduled_at=scheduled_at, at=self.now))
        self.d.record("request_status_changed", {
            **self._key(r), "old_status": old, "status": r.status,
            "scheduled_at": self._local(r.scheduled_at), "reason": reason,
            "actor_role": actor_role, "actor_id": actor_id, "assignee_id": r.assignee_id,
            "changed_at": self.now.isoformat()})

    @contextmanager
    def _saving_files(self) -> Iterator[list[str]]:
        """Commit at the end; if anything fails, the files stored meanwhile go too."""
        stored: list[str] = []
        try:
            yield stored
            self.db.commit()
        except BaseException:
            self.db.rollback()
            for key in stored:
                self.store.delete(key)
            raise

    def _message(self, r: WorkRequest, role: str, author_id: str, text: str | None,
                 uploads: list[Upload], stored: list[str]) -> Message:
        message = Message(author_role=role, author_id=author_id, text=text or "",
                          created_at=self.now)
        message.request = r  # not r.messages.append: that would load the whole conversation
        self.db.add(message)
        for position, upload in enumerate(uploads):
            key = self.store.put(upload.data)
            stored.append(key)
            message.attachments.append(Attachment(
                id=str(uuid.uuid4()), position=position, filename=upload.filename,
                content_type=upload.content_type, size=len(upload.data), storage_key=key))
        r.updated_at = self.now
        return message

    def _uploads(self, attachments: object) -> list[Upload]:
        return read_uploads(attachments, self.d.config["REQUEST_ATTACHMENTS_MAX"],
                            self.d.config["REQUEST_ATTACHMENT_MAX_BYTES"])

    def _write(self, r: WorkRequest, role: str, author_id: str, data: dict[str, Any]
               ) -> dict[str, Any]:
        """A message in the conversation (text, files or both) and its event."""
        attachments = data.pop("attachments", None)
        lifecycle.require_open(r.status, "писать в переписку")
        text = forms.load(forms.Note, data, "Проверьте сообщение").get("text")
        uploads = self._uploads(attachments)
        if not text and not uploads:
            raise ValidationFailed("Введите текст сообщения или прикрепите файл",
                                   {"text": "required"})
        with self._saving_files() as stored:
            message = self._message(r, role, author_id, text, uploads, stored)
            self.db.flush()
            self.d.record("request_message_posted", {
                **self._key(r), "message_id": message.id, "author_role": role,
                "author_id": author_id, "text": message.text,
                "attachments": [attachment_view(a) for a in message.attachments],
                "posted_at": self.now.isoformat()})
        return self._detail(r, role)

    # ---- the customer --------------------------------------------------------------------

    def create(self, user_id: str, data: dict[str, Any], account_of: AccountOf,
               branch_codes: Callable[[], Collection[str]]) -> dict[str, Any]:
        """«+ Заказать услугу»: the work, an account where the work needs one (else a branch
        and an address), the message, files, a contact phone and a preferred time."""
        attachments = data.pop("attachments", None)
        values = forms.load(forms.Order, data, "Проверьте поля заявки")
        work = catalogue.orderable(self.db, values["work"])
        phone = normalize_contact_phone(values["contact_phone"], "contact_phone")
        branch, number, account_id = values.get("branch"), None, values.get("account_id")
        if account_id is None:
            if work.needs_account:
                raise ValidationFailed("Выберите лицевой счёт: эта услуга оказывается по нему",
                                       {"account_id": "required for this work"})
            if branch is None:
                raise ValidationFailed("Выберите филиал", {"branch": "required without an account"})
            if branch not in branch_codes():
                raise ValidationFailed("Такого филиала нет, выберите из списка",
                                       {"branch": "unknown branch"})
            if values.get("address") is None:
                raise ValidationFailed("Укажите адрес, где нужны работы",
                                       {"address": "required without an account"})
        else:
            account = account_of(account_id)  # NotFound / Forbidden unless full access
            if branch not in (None, account["branch"]):
                raise ValidationFailed("Филиал не совпадает с филиалом лицевого счёта",
                                       {"branch": "not the account's branch"})
            branch, number = account["branch"], account["number"]
        uploads = self._uploads(attachments)
        with self._saving_files() as stored:
            r = WorkRequest(user_id=user_id, work_code=work.code, work_title=work.title,
                            price=work.price, account_id=account_id, number=number,
                            branch=branch, address=values.get("address"), contact_phone=phone,
                            preferred_time=values.get("preferred_time"), status="new",
                            created_at=self.now, updated_at=self.now)
            r.history.append(StatusChange(old_status=None, status="new", actor_role=CUSTOMER,
                                          actor_id=user_id, at=self.now))
            message = self._message(r, CUSTOMER, user_id, values["message"], uploads, stored)
            self.db.add(r)
            self.db.flush()
            self.d.record("request_created", {
                **self._key(r), "address": r.address, "contact_phone": phone,
                "preferred_time": r.preferred_time, "price": catalogue.price_text(r.price),
                "message": message.text,
                "attachments": [attachment_view(a) for a in message.attachments],
                "created_at": self.now.isoformat()})
        return self._detail(r, CUSTOMER)

    def mine(self, user_id: str, cursor: object = None, limit: object = None
             ) -> dict[str, Any]:
        """The customer's requests, newest first, each with its unread replies; a page at
        a time (shared/paging.py)."""
        size = paging.limit_of(limit)
        after = paging.decode(cursor, (int,))
        query = select(WorkRequest).where(WorkRequest.user_id == user_id)
        if after is not None:
            query = query.where(WorkRequest.id < after[0])
        requests = list(self.db.scalars(query.order_by(WorkRequest.id.desc()).limit(size + 1)))
        return self._page(requests, size, OPERATOR, CUSTOMER)

    def _page(self, requests: list[WorkRequest], size: int, other: str, viewer: str
              ) -> dict[str, Any]:
        """A page of summaries, each with the messages of ``other`` the viewer has not read."""
        unread = self._unread([r.id for r in requests[:size]], other)
        return paging.page(requests, size, lambda r: self._summary(r, unread.get(r.id, 0),
                                                                   viewer),
                           lambda r: [r.id])

    def view_own(self, user_id: str, request_id: object) -> dict[str, Any]:
        """One request with its timeline and conversation; the replies count as read now."""
        r = self.own(user_id, request_id)
        view = self._detail(r, CUSTOMER)
        self._mark_read(r, OPERATOR)
        return view

    def conversation_own(self, user_id: str, request_id: object, cursor: object,
                         limit: object) -> dict[str, Any]:
        """A page of the conversation of the customer's request (reading it changes nothing:
        opening the request marks the replies read)."""
        return conversation.page(self.db, self.own(user_id, request_id).id, OPERATOR, cursor,
                                 limit)

    def cancel(self, user_id: str, request_id: object, data: dict[str, Any]) -> dict[str, Any]:
        """The customer withdraws a request before its date is set."""
        reason = forms.load(forms.OptionalReason, data, "Проверьте причину").get("reason")
        r = self.own(user_id, request_id, lock=True)
        self._move(r, "cancel", CUSTOMER, user_id, reason)
        self.db.commit()
        return self._detail(r, CUSTOMER)

    def customer_writes(self, user_id: str, request_id: object, data: dict[str, Any]
                        ) -> dict[str, Any]:
        return self._write(self.own(user_id, request_id), CUSTOMER, user_id, data)

    def counts(self, user_id: str) -> dict[str, int]:
        """For the page header: open requests and replies not yet read."""
        open_requests = self.db.scalar(select(func.count()).select_from(WorkRequest).where(
            WorkRequest.user_id == user_id, WorkRequest.status.in_(lifecycle.OPEN)))
        unread = self.db.scalar(select(func.count()).select_from(Message).join(
            WorkRequest, Message.request_id == WorkRequest.id).where(
            WorkRequest.user_id == user_id, Message.author_role == OPERATOR,
            Message.read_at.is_(None)))
        return {"open_requests": open_requests, "unread_replies": unread}

    def attachment(self, user_id: str, staff: bool, request_id: object,
                   attachment_id: object) -> dict[str, Any]:
        """A file of the conversation, for the request's customer or an operator."""
        r = self._get(request_id) if staff else self.own(user_id, request_id)
        found = self.db.scalar(select(Attachment).join(Message).where(
            Message.request_id == r.id, Attachment.id == attachment_id)) \
            if isinstance(attachment_id, str) else None
        if found is None:
            raise NotFound("Файл не найден", {"attachment_id": "not in this request"})
        try:
            data = self.store.get(found.storage_key)
        except FileNotFoundError:
            raise NotFound("Файл не найден в хранилище", {"attachment_id": "file missing"}) \
                from None
        return {**attachment_view(found), "content_base64": base64.b64encode(data).decode()}

    # ---- operators -----------------------------------------------------------------------

    def remember_staff(self, user_id: str, role: str) -> None:
        """An operator who acts is assignable from then on (even one made before this
        service heard auth's events)."""
        if self.db.get(Staff, user_id) is None:
            insert_if_absent(self.db, Staff, user_id=user_id, role=role, label=None)
            self.db.commit()

    def staff(self) -> list[dict[str, Any]]:
        """Whom a request may be assigned to."""
        return [{"user_id": s.user_id, "role": s.role, "label": s.label}
                for s in self.db.scalars(select(Staff).order_by(Staff.label, Staff.user_id))]

    def queue(self, operator_id: str, filters: dict[str, Any]) -> dict[str, Any]:
        """Requests oldest first, filtered by status, work, branch, creation date (in the
        supplier's zone) and assignee ("me", "none" or an operator's id); a page at a time
        (shared/paging.py)."""
        size = paging.limit_of(filters.pop("limit", None))
        after = paging.decode(filters.pop("cursor", None), (int,))
        given = {k: v for k, v in filters.items() if v not in (None, "")}
        f = forms.load(forms.Queue, given, "Проверьте фильтры")
        query = select(WorkRequest)
        for column, name in ((WorkRequest.status, "status"), (WorkRequest.work_code, "work"),
                             (WorkRequest.branch, "branch")):
            if f.get(name):
                query = query.where(column == f[name])
        start, end = f.get("date_from"), f.get("date_to")
        if start and end and start > end:
            raise ValidationFailed("Начало периода позже конца", {"date_from": "after date_to"})
        if start:
            query = query.where(WorkRequest.created_at >= datetime.combine(start, time(),
                                                                           self.tz))
        if end:
            query = query.where(WorkRequest.created_at < datetime.combine(
                end + timedelta(days=1), time(), self.tz))
        assignee = f.get("assignee")
        if assignee == "none":
            query = query.where(WorkRequest.assignee_id.is_(None))
        elif assignee:
            query = query.where(WorkRequest.assignee_id == (
                operator_id if assignee == "me" else assignee))
        if after is not None:
            query = query.where(WorkRequest.id > after[0])
        requests = list(self.db.scalars(query.order_by(WorkRequest.id).limit(size + 1)))
        return self._page(requests, size, CUSTOMER, OPERATOR)

    def view_any(self, request_id: object) -> dict[str, Any]:
        """A request as the operator sees it; the customer's messages count as read now."""
        r = self._get(request_id)
        view = self._detail(r, OPERATOR)
        self._mark_read(r, CUSTOMER)
        return view

    def conversation_any(self, request_id: object, cursor: object, limit: object
                         ) -> dict[str, Any]:
        """Operators: a page of a request's conversation (marks nothing read)."""
        return conversation.page(self.db, self._get(request_id).id, CUSTOMER, cursor, limit)

    def assign(self, operator_id: str, request_id: object, data: dict[str, Any]
               ) -> dict[str, Any]:
        """Assign the request to an operator (by default the caller)."""
        target = forms.load(forms.Assign, data, "Проверьте исполнителя").get("operator_id") \
            or operator_id
        if self.db.get(Staff, target) is None:
            raise NotFound("Нет такого оператора", {"operator_id": "not an operator"})
        r = self._get(request_id, lock=True)
        lifecycle.require_open(r.status, "назначить исполнителя")
        r.assignee_id = target
        r.updated_at = self.now
        self.db.commit()
        return self._detail(r, OPERATOR)

    def act(self, operator_id: str, request_id: object, action: str, data: dict[str, Any]
            ) -> dict[str, Any]:
        """accept, schedule (with a date and time), complete, or reject (with a reason)."""
        reason = scheduled_at = None
        if action == "schedule":
            scheduled_at = forms.load(forms.Schedule, data, "Укажите дату и время работ")[
                "scheduled_at"]
            if scheduled_at <= self.now:
                raise ValidationFailed("Дата работ уже прошла", {"scheduled_at": "in the past"})
            if scheduled_at > self.now + SCHEDULE_HORIZON:
                raise ValidationFailed("Дата работ больше чем через год",
                                       {"scheduled_at": "more than a year ahead"})
        elif action == "reject":
            reason = forms.load(forms.Reason, data, "Укажите причину отказа")["reason"]
        r = self._get(request_id, lock=True)
        if action == "accept" and r.assignee_id is None:
            r.assignee_id = operator_id
        self._move(r, action, OPERATOR, operator_id, reason, scheduled_at)
        self.db.commit()
        return self._detail(r, OPERATOR)

    def operator_writes(self, operator_id: str, request_id: object, data: dict[str, Any]
                        ) -> dict[str, Any]:
        return self._write(self._get(request_id), OPERATOR, operator_id, data)

    # ---- from auth's events --------------------------------------------------------------

    def user_registered(self, payload: dict[str, Any]) -> None:
        if payload["role"] in ("operator", "admin"):
            insert_if_absent(self.db, Staff, user_id=payload["user_id"], role=payload["role"],
                             label=payload.get("email") or payload.get("phone"))

    def user_deleted(self, payload: dict[str, Any]) -> list[str]:
        """152-ФЗ: the customer's requests end (open ones are cancelled, so the CRM hears)
        and are erased with their files; a deleted operator's requests are unassigned.
        Returns the storage keys to remove once the transaction has landed."""
        user_id = payload["user_id"]
        keys: list[str] = []
        for r in list(self.db.scalars(select(WorkRequest).where(WorkRequest.user_id == user_id))):
            if r.status in lifecycle.OPEN:
                self._move(r, "withdraw", SYSTEM, None, "Учётная запись удалена")
                self.db.flush()  # the new history row exists, so the delete below takes it
            keys += [a.storage_key for m in r.messages for a in m.attachments]
            self.db.delete(r)
        self.db.execute(update(WorkRequest).where(
            WorkRequest.assignee_id == user_id, WorkRequest.status.in_(lifecycle.OPEN))
            .values(assignee_id=None))
        staff = self.db.get(Staff, user_id)
        if staff is not None:
            self.db.delete(staff)
        return keys
