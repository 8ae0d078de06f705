"""«Операторам»: the queue of customers' requests (filters, a request's conversation and
its steps: take, assign, schedule, close, reject, reply with files) and the review of the
documents for the tariff tiers (open the file, accept with a tariff category or reject
with a reason).

Only operators and admins come in (``operator_required``; the API checks the role again).
Each step is a plain form (POST, then back to the page); the API decides whether the
request's state allows it and its 409 is shown in its own Russian words.
"""
from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (Blueprint, Response, current_app, flash, redirect, render_template,
                   request, session, url_for)

from web import conversation, paging
from web.api import ApiError, Download
from web.forms import FormErrors, cleaned, errors_from, form_key, shown, values
from web.session import call, operator_required, public_call

bp = Blueprint("operator", __name__)

REQUEST_STATUSES = {"new": ("Новая", "warn"), "accepted": ("Принята", "info"),
                    "scheduled": ("Назначена", "info"), "done": ("Выполнена", "ok"),
                    "cancelled": ("Отменена", "neutral"), "rejected": ("Отклонена", "bad")}
OPEN = ("new", "accepted", "scheduled")
DOCUMENT_STATUSES = {"submitted": ("Подан", "warn"), "under_review": ("На рассмотрении", "info"),
                     "accepted": ("Принят", "ok"), "rejected": ("Отклонён", "bad"),
                     "withdrawn": ("Отозван", "neutral")}
UNDECIDED = ("submitted", "under_review")
TARIFFS = {"urban": "Городское население", "rural": "Сельское население",
           "electric_stove": "Дома с электроплитами",
           "electric_heating": "Дома с электроотоплением"}
ASSIGNEES = [("me", "Назначены мне"), ("none", "Без исполнителя")]
AUTHORS = {"customer": "Клиент", "operator": "Оператор", "system": "Система"}
QUEUE_PAGE = 20
DOCUMENTS_PAGE = 20
RU_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
RU_TIME = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")
DATE_HINT = "дд.мм.гггг, например 15.12.2026"


# ---- helpers ------------------------------------------------------------------------------

def _me() -> str | None:
    return (session.get("auth") or {}).get("user")


def _iso_date(text: str) -> str | None:
    """``15.12.2026`` → ``2026-12-15``; None when it is not a real date."""
    match = RU_DATE.match(text or "")
    if not match:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day).date().isoformat()
    except ValueError:
        return None


def _ru_date(iso: str | None) -> str:
    """``2026-12-15`` → ``15.12.2026`` (to show a filter again)."""
    try:
        return datetime.fromisoformat(iso or "").strftime("%d.%m.%Y")
    except ValueError:
        return ""


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["NESK"]["SUPPLIER_TIMEZONE"])


def _file_answer(file: Download) -> Response:
    """A file of the API passed on as it came (name, type), never cached."""
    response = Response(file.content, mimetype=file.content_type or "application/octet-stream")
    response.headers["Content-Disposition"] = file.disposition or "attachment"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _works() -> list[dict[str, Any]]:
    try:
        return public_call("GET", "/requests/catalogue") or []
    except ApiError:
        return []  # the filter then offers no works; the queue still shows


def _branches() -> dict[str, str]:
    try:
        data = public_call("GET", "/accounts/branches") or {}
    except ApiError:
        return {}
    return {b["code"]: b.get("name") or b["code"] for b in data.get("branches", [])}


def _staff() -> dict[str, str]:
    try:
        people = call("GET", "/operator/staff") or []
    except ApiError:
        return {}
    return {p["user_id"]: p.get("label") or p["user_id"] for p in people}


def _uploads() -> list[dict[str, str]]:
    """The chosen files as the API takes them (base64); an empty file input sends none."""
    files = []
    for item in request.files.getlist("files"):
        if not item or not item.filename:
            continue
        files.append({"filename": item.filename,
                      "content_base64": base64.b64encode(item.read()).decode()})
    return files


def _form_errors(exc: ApiError, aliases: dict[str, str], known: set[str]) -> FormErrors:
    """The API's errors by the form's fields; each file's error («attachments[0]…») belongs
    to the file input."""
    for name in exc.fields:
        if name.startswith("attachments"):
            aliases.setdefault(name, "files")
    return errors_from(exc, aliases, known)


# ---- the requests queue ---------------------------------------------------------------------

@bp.get("/operator")
@operator_required
def index() -> Any:
    """The section opens on the requests queue."""
    return redirect(url_for("operator.requests"))


@bp.get("/operator/requests")
@operator_required
def requests() -> Any:
    """The queue, oldest first, with filters by status, work, branch, dates and assignee."""
    shown = {name: (request.args.get(name) or "").strip()
             for name in ("status", "work", "branch", "date_from", "date_to", "assignee")}
    errors = FormErrors()
    query: dict[str, Any] = {k: shown[k] for k in ("status", "work", "branch", "assignee")}
    for name in ("date_from", "date_to"):
        if shown[name]:
            query[name] = _iso_date(shown[name])
            if query[name] is None:
                errors[name] = "Введите дату в формате дд.мм.гггг"
    cursor = request.args.get("cursor")
    result: dict[str, Any] = {"items": [], "next": None}
    if not errors:
        try:
            result = paging.fetch("/operator/requests", QUEUE_PAGE, cursor, **cleaned(query))
        except ApiError as exc:
            if exc.status not in (400, 422):
                raise
            errors = errors_from(exc, known=set(shown))
    branches = _branches()
    return render_template(
        "operator/requests.html", tab="requests", rows=result["items"], form=shown,
        errors=errors, branches=branches,
        work_options=[(w["code"], w["title"]) for w in _works()],
        status_options=[(code, label) for code, (label, _) in REQUEST_STATUSES.items()], staff=_staff(), me=_me(),
        statuses=REQUEST_STATUSES, assignees=ASSIGNEES, date_hint=DATE_HINT,
        pager=paging.links(result, cursor, "operator.requests"),
    ), 422 if errors or errors.general else 200


def _request_page(request_id: int, errors: FormErrors | None = None,
                  form: dict[str, str] | None = None, status: int = 200,
                  cursor: str | None = None) -> tuple[str, int]:
    item = call("GET", f"/operator/requests/{request_id}")
    item["messages"], chat = conversation.shown(
        item, f"/operator/requests/{request_id}/messages", cursor, "operator.request_view",
        request_id=request_id)
    when = item.get("scheduled_at")
    form = dict(form or {})
    if when and "date" not in form:  # rescheduling starts from the date set
        moment = datetime.fromisoformat(when).astimezone(_zone())
        form.update(date=moment.strftime("%d.%m.%Y"), time=moment.strftime("%H:%M"))
    return render_template(
        "operator/request.html", tab="requests", item=item, errors=shown(errors),
        form=form, staff=_staff(), me=_me(), branches=_branches(),
        statuses=REQUEST_STATUSES, authors=AUTHORS, is_open=item["status"] in OPEN,
        date_hint=DATE_HINT, chat=chat,
    ), status


@bp.get("/operator/requests/<int:request_id>")
@operator_required
def request_view(request_id: int) -> Any:
    """A request: what the customer asked, their files, the history and the conversation,
    and the steps its status allows; ``cursor``: a page of earlier messages («Ранее»)."""
    return _request_page(request_id, cursor=request.args.get("cursor"))


def _step(request_id: int, action: str, done: str, body: dict[str, Any] | None = None,
          form: dict[str, str] | None = None, aliases: dict[str, str] | None = None,
          known: set[str] | None = None) -> Any:
    """One step of the request; its page again, with what went wrong when it did not go."""
    try:
        call("POST", f"/operator/requests/{request_id}/{action}", json=body or {})
    except ApiError as exc:
        if exc.status not in (400, 409, 422):
            raise
        if exc.status == 409:  # the status does not allow it (any more): say so, fresh page
            flash(exc.message, "error")
            return redirect(url_for("operator.request_view", request_id=request_id))
        return _request_page(request_id, _form_errors(exc, dict(aliases or {}), known or set()),
                             form, 422)
    flash(done, "success")
    return redirect(url_for("operator.request_view", request_id=request_id))


@bp.post("/operator/requests/<int:request_id>/accept")
@operator_required
def accept(request_id: int) -> Any:
    """«Взять в работу»: new → accepted (and assigned to me if nobody has it)."""
    return _step(request_id, "accept", "Заявка принята в работу.")


@bp.post("/operator/requests/<int:request_id>/assign")
@operator_required
def assign(request_id: int) -> Any:
    """«Назначить»: the request to myself or another operator."""
    form = values("operator_id")
    return _step(request_id, "assign", "Исполнитель назначен.",
                 {"operator_id": form["operator_id"] or None}, form, known={"operator_id"})


@bp.post("/operator/requests/<int:request_id>/schedule")
@operator_required
def schedule(request_id: int) -> Any:
    """«Назначить дату»: the date and time of the works (again to move them)."""
    form = values("date", "time")
    errors = FormErrors()
    day = _iso_date(form["date"])
    clock = RU_TIME.match(form["time"])
    if not form["date"]:
        errors["date"] = "Введите дату работ"
    elif day is None:
        errors["date"] = "Введите дату в формате дд.мм.гггг"
    if not form["time"]:
        errors["time"] = "Введите время работ"
    elif not clock or int(clock.group(1)) > 23 or int(clock.group(2)) > 59:
        errors["time"] = "Введите время в формате ЧЧ:ММ, например 10:00"
    if errors:
        return _request_page(request_id, errors, form, 422)
    moment = datetime.fromisoformat(day).replace(  # type: ignore[arg-type]
        hour=int(clock.group(1)), minute=int(clock.group(2)), tzinfo=_zone())  # type: ignore
    return _step(request_id, "schedule", "Дата работ назначена, клиенту придёт уведомление.",
                 {"scheduled_at": moment.isoformat()}, form,
                 {"scheduled_at": "date"}, {"date", "time"})


@bp.post("/operator/requests/<int:request_id>/complete")
@operator_required
def complete(request_id: int) -> Any:
    """«Работы выполнены»: the request is closed as done."""
    return _step(request_id, "complete", "Заявка закрыта: работы выполнены.")


@bp.post("/operator/requests/<int:request_id>/reject")
@operator_required
def reject(request_id: int) -> Any:
    """«Отклонить»: with the reason the customer reads."""
    form = values("reason")
    return _step(request_id, "reject", "Заявка отклонена.", cleaned({"reason": form["reason"]}),
                 form, known={"reason"})


@bp.post("/operator/requests/<int:request_id>/reply")
@operator_required
def reply(request_id: int) -> Any:
    """«Ответить»: a message to the customer, with files."""
    form = values("text")
    body = cleaned({"text": form["text"], "attachments": _uploads() or None})
    try:
        call("POST", f"/operator/requests/{request_id}/messages", json=body,
             idempotency_key=form_key())
    except ApiError as exc:
        if exc.status not in (400, 409, 413, 422) and exc.status < 500:
            raise
        if exc.status >= 500:  # the form again, with its key: sending again replies once
            return _request_page(request_id, errors_from(exc, known=set()), form, exc.status)
        if exc.status == 409:
            flash(exc.message, "error")
            return redirect(url_for("operator.request_view", request_id=request_id))
        errors = _form_errors(exc, {}, {"text", "files"})
        return _request_page(request_id, errors, form, 413 if exc.status == 413 else 422)
    flash("Ответ отправлен клиенту.", "success")
    return redirect(url_for("operator.request_view", request_id=request_id) + "#conversation")


@bp.get("/operator/requests/<int:request_id>/attachments/<attachment_id>")
@operator_required
def attachment(request_id: int, attachment_id: str) -> Any:
    """A file of the conversation, as the API gives it."""
    return _file_answer(call("GET", f"/requests/{request_id}/attachments/{attachment_id}",
                             download=True))


# ---- documents for the tariff tiers ---------------------------------------------------------

@bp.get("/operator/documents")
@operator_required
def documents() -> Any:
    """Documents waiting for a decision (or of a status), oldest first, by branch, a page at
    a time."""
    form = {name: (request.args.get(name) or "").strip() for name in ("status", "branch")}
    cursor = request.args.get("cursor")
    errors = FormErrors()
    result: dict[str, Any] = {"items": [], "next": None, "total": 0}
    try:
        result = paging.fetch("/operator/documents", DOCUMENTS_PAGE, cursor, **cleaned(form))
    except ApiError as exc:
        if exc.status not in (400, 422):
            raise
        errors = errors_from(exc, known={"status", "branch"})
    return render_template(
        "operator/documents.html", tab="documents", rows=result["items"], form=form,
        errors=errors, branches=_branches(), statuses=DOCUMENT_STATUSES,
        status_options=[(code, label) for code, (label, _) in DOCUMENT_STATUSES.items()],
        total=result["total"], pager=paging.links(result, cursor, "operator.documents"),
    ), 422 if errors or errors.general else 200


def _document_page(document_id: int, errors: FormErrors | None = None,
                   form: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    doc = call("GET", f"/operator/documents/{document_id}")
    kinds = {t["code"]: t for t in public_call("GET", "/documents/types") or []}
    categories = [(code, TARIFFS.get(code, code))
                  for code in kinds.get(doc["doc_type"], {}).get("tariff_categories", [])]
    image = None
    if doc["status"] != "submitted" and doc["status"] != "withdrawn":
        # Opened already: show the file (a picture inline, a PDF to download).
        if (doc.get("content_type") or "").startswith("image/"):
            try:
                file = call("GET", f"/documents/{document_id}/file", download=True)
                image = (f"data:{file.content_type};base64,"
                         + base64.b64encode(file.content).decode())
            except ApiError as exc:
                if exc.status != 404:
                    raise
    return render_template(
        "operator/document.html", tab="documents", doc=doc, image=image,
        categories=categories, errors=errors or FormErrors(), form=form or {},
        statuses=DOCUMENT_STATUSES, tariffs=TARIFFS, branches=_branches(),
        undecided=doc["status"] in UNDECIDED,
    ), status


@bp.get("/operator/documents/<int:document_id>")
@operator_required
def document(document_id: int) -> Any:
    """A document: whose, which type, its status; once opened, the file and the decision."""
    return _document_page(document_id)


@bp.post("/operator/documents/<int:document_id>/open")
@operator_required
def open_document(document_id: int) -> Any:
    """«Открыть»: the API hands the file over and the document is now under review."""
    call("POST", f"/operator/documents/{document_id}/open", download=True)
    return redirect(url_for("operator.document", document_id=document_id))


@bp.get("/operator/documents/<int:document_id>/file")
@operator_required
def document_file(document_id: int) -> Any:
    """The document's file to download (a PDF, or the picture in full size)."""
    return _file_answer(call("GET", f"/documents/{document_id}/file", download=True))


@bp.post("/operator/documents/<int:document_id>/review")
@operator_required
def review(document_id: int) -> Any:
    """«Принять» (maybe with the account's new tariff category) or «Отклонить» with a
    reason."""
    form = values("decision", "tariff_category", "reason")
    decision = form["decision"] if form["decision"] in ("accept", "reject") else ""
    body = {"decision": decision or None}
    if decision == "accept":
        body["tariff_category"] = form["tariff_category"] or None
    else:
        body["reason"] = form["reason"] or None
    try:
        call("POST", f"/operator/documents/{document_id}/review", json=cleaned(body))
    except ApiError as exc:
        if exc.status not in (400, 409, 422):
            raise
        if exc.status == 409:
            flash(exc.message, "error")
            return redirect(url_for("operator.document", document_id=document_id))
        errors = errors_from(exc, known={"tariff_category", "reason"})
        return _document_page(document_id, errors, form, 422)
    flash("Документ принят." if decision == "accept" else "Документ отклонён, клиент увидит "
          "причину.", "success")
    return redirect(url_for("operator.documents"))
