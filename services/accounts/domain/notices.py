"""Notices: a feed per user with read/unread state, delivered also by SMS and e-mail as the
user chose (Профиль → Личные предпочтения).

Events of other services (a reading accepted, a payment, a bill, a request's status) and the
service's own reminders (the reading window closing, a meter's verification date) become
notices through :meth:`Notices.to_account` or :meth:`Notices.to_user`.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared.work import Work as Deps
from services.accounts.models import Contact, Link, Meter, Notice, Profile
from shared import paging
from shared.errors import NotFound, ValidationFailed
from shared.notify import DeliveryFailed, Notifier

log = logging.getLogger(__name__)
VERIFICATION_NOTICE_DAYS = 30
PAGE_MAX = 100


def notice_view(notice: Notice) -> dict[str, Any]:
    return {"id": notice.id, "kind": notice.kind, "title": notice.title, "body": notice.body,
            "account_id": notice.account_id, "created_at": notice.created_at.isoformat(),
            "read": notice.read_at is not None}


# requests.request_status_changed → (title, body); {when} is the works' local date and time.
REQUEST_STATUS_NOTICES = {
    "accepted": ("Заявка принята", "Заявка №{id} «{work}» принята в работу."),
    "scheduled": ("Назначена дата работ", "Заявка №{id} «{work}»: работы назначены на {when}."),
    "done": ("Заявка выполнена", "Заявка №{id} «{work}» выполнена."),
    "rejected": ("Заявка отклонена", "Заявка №{id} «{work}» отклонена: {reason}."),
    "cancelled": ("Заявка отменена", "Заявка №{id} «{work}» отменена: {reason}."),
}


# documents.document_status_changed → (title, body) for the customer who submitted it.
DOCUMENT_NOTICES = {
    "accepted": ("Документ принят", "Документ «{title}» по лицевому счёту {number} принят."),
    "rejected": ("Документ отклонён",
                 "Документ «{title}» по лицевому счёту {number} отклонён: {reason}."),
}
TARIFF_LABELS = {"urban": "городское население", "rural": "сельское население",
                 "electric_stove": "дома с электроплитами",
                 "electric_heating": "дома с электроотоплением"}


class Notices:
    def __init__(self, deps: Deps, notifier: Notifier | None) -> None:
        self.d = deps
        self.db: Session = deps.db
        self.notifier = notifier

    # ---- making notices ------------------------------------------------------------------

    def to_user(self, user_id: str, kind: str, title: str, body: str, dedupe_key: str,
                account_id: int | None = None, receipt: bool = False) -> Notice | None:
        """Add a notice (once per dedupe key) and deliver it by the user's channels; a
        ``receipt`` (a payment confirmation) goes by e-mail whatever the preferences."""
        if self.db.scalar(select(Notice.id).where(Notice.user_id == user_id,
                                                  Notice.dedupe_key == dedupe_key)):
            return None
        profile = self.db.get(Profile, user_id)
        contact = self.db.get(Contact, user_id)
        if contact is not None and contact.deleted_at is not None:
            return None
        channels = ["app"]
        if self.notifier is not None and contact is not None:
            wants_sms = profile.notify_sms if profile else True
            wants_email = receipt or (profile.notify_email if profile else True)
            if wants_sms and contact.phone and self._deliver(
                    lambda: self.notifier.send_sms(contact.phone, f"ЛК НЭСК: {title}. {body}")):
                channels.append("sms")
            if wants_email and contact.email and self._deliver(
                    lambda: self.notifier.send_email(contact.email, f"ЛК НЭСК: {title}", body)):
                channels.append("email")
        notice = Notice(user_id=user_id, account_id=account_id, kind=kind, title=title,
                        body=body, dedupe_key=dedupe_key[:120], created_at=self.d.now,
                        channels=",".join(channels))
        self.db.add(notice)
        return notice

    @staticmethod
    def _deliver(send: Any) -> bool:
        # A failed SMS or e-mail must not lose the in-app notice.
        try:
            send()
        except DeliveryFailed:
            log.warning("notice delivery failed")
            return False
        return True

    def to_account(self, account_id: int, kind: str, title: str, body: str,
                   dedupe_key: str) -> int:
        """A notice to everyone who has access to the account; returns how many."""
        users = self.db.scalars(select(Link.user_id).where(Link.account_id == account_id))
        return sum(self.to_user(user_id, kind, title, body, dedupe_key, account_id) is not None
                   for user_id in list(users))

    # ---- reminders (timers) --------------------------------------------------------------

    def remind_verification(self, days: int = VERIFICATION_NOTICE_DAYS) -> int:
        """Meters whose поверка is due within ``days``: one notice per meter and due date."""
        today = self.d.now.date()
        meters = self.db.scalars(select(Meter).where(
            Meter.removed_on.is_(None), Meter.verification_due.is_not(None),
            Meter.verification_due <= today + timedelta(days=days)))
        made = 0
        for meter in meters:
            due = meter.verification_due.strftime("%d.%m.%Y")
            made += self.to_account(
                meter.account_id, "meter_verification",
                "Срок поверки счётчика", f"Срок поверки счётчика № {meter.serial} — {due}. "
                "Закажите поверку или замену в разделе «Услуги».",
                f"verification:{meter.id}:{meter.verification_due.isoformat()}")
        self.db.commit()
        return made

    def remind_reading(self, payload: dict[str, Any]) -> int:
        """readings.reading_reminder_due: the window closes soon and the account has no
        reading yet; a reminder to its users with full access who asked for reminders."""
        end: date = payload["window_end"]
        year, month = payload["period"].split("-")
        made = 0
        rows = self.db.scalars(select(Link.user_id).where(
            Link.account_id == payload["account_id"], Link.access == "full"))
        for user_id in list(rows):
            profile = self.db.get(Profile, user_id)
            if profile is not None and not profile.reading_reminders:
                continue
            made += self.to_user(
                user_id, "reading_reminder", "Передайте показания",
                f"Лицевой счёт {payload['number']}: показания за {month}.{year} принимаются до "
                f"{end.strftime('%d.%m.%Y')} включительно.",
                f"readings:{payload['account_id']}:{payload['period']}",
                payload["account_id"]) is not None
        return made

    def payment_succeeded(self, payload: dict[str, Any]) -> None:
        """payments.payment_succeeded: the confirmation to the payer, by e-mail too."""
        if not payload.get("user_id"):
            return
        parts = "; ".join(
            f"л/с {item['number']}: {item['amount']} ₽ "
            f"({'пени' if item['kind'] == 'penalty' else 'электроэнергия'})"
            for item in payload["items"])
        self.to_user(payload["user_id"], "payment_succeeded", "Оплата прошла",
                     f"Платёж {payload['amount']} ₽ зачислен. {parts}. Номер платежа "
                     f"{payload['payment_id']}.", f"payment:{payload['payment_id']}",
                     payload["items"][0].get("account_id"), receipt=True)

    # ---- the feed ------------------------------------------------------------------------

    def feed(self, user_id: str, unread_only: object = False, cursor: object = None,
             limit: object = None) -> dict[str, Any]:
        """Newest first, a page at a time (shared/paging.py), with the unread count."""
        size = paging.limit_of(limit, maximum=PAGE_MAX)
        after = paging.decode(cursor, (int,))
        query = select(Notice).where(Notice.user_id == user_id)
        if unread_only in (True, "true", "1"):
            query = query.where(Notice.read_at.is_(None))
        if after is not None:
            query = query.where(Notice.id < after[0])
        notices = list(self.db.scalars(query.order_by(Notice.id.desc()).limit(size + 1)))
        return {**paging.page(notices, size, notice_view, lambda n: [n.id]),
                "unread": self.unread(user_id)}

    def unread(self, user_id: str) -> int:
        return self.db.scalar(select(func.count()).select_from(Notice).where(
            Notice.user_id == user_id, Notice.read_at.is_(None)))

    def mark_read(self, user_id: str, notice_id: object) -> dict[str, Any]:
        notice = self.db.get(Notice, notice_id) if isinstance(notice_id, int) else None
        if notice is None or notice.user_id != user_id:
            raise NotFound("Уведомление не найдено", {"notice_id": "not yours or missing"})
        notice.read_at = notice.read_at or self.d.now
        self.db.commit()
        return notice_view(notice)

    def mark_all_read(self, user_id: str) -> dict[str, Any]:
        self.db.execute(update(Notice).where(Notice.user_id == user_id, Notice.read_at.is_(None))
                        .values(read_at=self.d.now))
        self.db.commit()
        return {"unread": 0}

    def forget(self, user_id: str) -> None:
        for notice in self.db.scalars(select(Notice).where(Notice.user_id == user_id)):
            self.db.delete(notice)

    # ---- events of the requests service ---------------------------------------------------

    def request_status_changed(self, payload: dict[str, Any]) -> None:
        """A request moved on: the customer hears of each step an operator (or the system)
        took; their own cancellation needs no notice."""
        if payload["actor_role"] == "customer" or payload["status"] not in REQUEST_STATUS_NOTICES:
            return
        title, body = REQUEST_STATUS_NOTICES[payload["status"]]
        when = payload["scheduled_at"]  # carries the supplier's offset: shown as it is
        self.to_user(payload["user_id"], "request_status", title, body.format(
            id=payload["request_id"], work=payload["work_title"],
            when=when.strftime("%d.%m.%Y в %H:%M") if when else "",
            reason=payload["reason"] or "причина не указана"),
            f"request:{payload['request_id']}:{payload['changed_at'].isoformat()}",
            payload["account_id"])

    def request_reply(self, payload: dict[str, Any]) -> None:
        """An operator wrote in a request's conversation (the customer's own messages make
        no notice)."""
        if payload["author_role"] != "operator":
            return
        text = payload["text"] or "Оператор прислал файл."
        self.to_user(payload["user_id"], "request_reply",
                     f"Ответ по заявке №{payload['request_id']}",
                     text if len(text) <= 300 else text[:299] + "…",
                     f"request-message:{payload['message_id']}", payload["account_id"])

    # ---- events of the documents service --------------------------------------------------

    def document_reviewed(self, payload: dict[str, Any]) -> None:
        """An operator accepted or rejected a customer's document: the customer hears why."""
        status = payload["status"]
        if payload["actor_role"] != "operator" or status not in DOCUMENT_NOTICES:
            return
        title, body = DOCUMENT_NOTICES[status]
        category = payload.get("tariff_category")
        text = body.format(title=payload["doc_type_title"], number=payload["number"],
                           reason=payload.get("reason") or "причина не указана")
        if category:
            text += f" Тариф по счёту: {TARIFF_LABELS.get(category, category)}."
        self.to_user(payload["user_id"], "document_review", title, text,
                     f"document:{payload['document_id']}:{status}", payload["account_id"])

    def bill_formed(self, payload: dict[str, Any]) -> None:
        """documents.bill_formed for a customer who takes bills by e-mail: the link to the
        PDF, by e-mail whatever the notice preferences (they asked for bills that way)."""
        if not payload.get("user_id"):
            return
        year, month = payload["period"].split("-")
        link = (f"{self.d.config['PUBLIC_URL'].rstrip('/')}/documents/"
                f"{payload['account_id']}/bills/{payload['period']}")
        self.to_user(payload["user_id"], "bill_formed", f"Счёт за {month}.{year}",
                     f"Лицевой счёт {payload['number']}: к оплате {payload['total_due']} ₽ до "
                     f"{payload['due_date'].strftime('%d.%m.%Y')}. Квитанция (PDF): {link}",
                     f"bill:{payload['account_id']}:{payload['period']}:"
                     f"{payload['content_hash'][:16]}", payload["account_id"], receipt=True)
