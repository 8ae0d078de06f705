"""РАЗДЕЛ «УСЛУГИ» (рис. 22): the catalogue of works, «+ Заказать услугу», «Мои заявки» and a
request's page with the conversation with the operator (files by the paper-clip); and, at
the bottom, the notices."""
from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from web import conversation, paging
from web import session as web_session
from web.api import ApiError
from web.forms import FormErrors, cleaned, errors_from, form_key, shown, values
from web.session import login_required

bp = Blueprint("services", __name__)

# A request's life (services/requests/domain/lifecycle.py) in the customer's words.
REQUEST_STATUSES: dict[str, tuple[str, str]] = {
    "new": ("Новая", "info"),
    "accepted": ("Принята", "info"),
    "scheduled": ("Назначена дата работ", "warn"),
    "done": ("Выполнена", "ok"),
    "cancelled": ("Отменена", "neutral"),
    "rejected": ("Отклонена", "bad"),
}
OPEN = ("new", "accepted", "scheduled")
REQUESTS_PAGE = 20
ORDER_FIELDS = ("work", "account_id", "branch", "address", "message", "contact_phone",
                "preferred_time")
SAY_WHAT_TO_DO = {
    "work": "Выберите услугу", "message": "Введите текст сообщения",
    "contact_phone": "Введите контактный телефон", "branch": "Выберите филиал",
    "address": "Укажите адрес, где нужны работы",
    "text": "Введите текст сообщения или прикрепите файл",
}
FILE_TYPES = ".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"


def _status(code: str) -> tuple[str, str]:
    return REQUEST_STATUSES.get(code, (code, "neutral"))


def _tabs() -> list[tuple[str, str, str]]:
    return [("catalogue", url_for("services.index"), "Услуги"),
            ("requests", url_for("services.requests"), "Мои заявки")]


def _files(field: str = "files") -> list[dict[str, str]]:
    """The paper-clip's files as the API takes them: name and base64 content (the API
    checks the type by content and the size)."""
    picked: list[FileStorage] = [f for f in request.files.getlist(field) if f and f.filename]
    return [{"filename": f.filename or "файл",
             "content_base64": base64.b64encode(f.read()).decode("ascii")} for f in picked]


def _api_errors(exc: ApiError, known: set[str]) -> FormErrors:
    """The API's refusal by form field; ``attachments``, ``attachments[0]`` and
    ``attachments[0].content_base64`` all belong to the one file input «files»."""
    if exc.status == 401:
        raise exc
    if exc.status >= 500:  # the form again, with its key: sending again does it once
        return errors_from(exc, known=set())
    aliases = {name: "files" for name in exc.fields if name.startswith("attachments")}
    errors = errors_from(exc, aliases=aliases, known=known | {"files"})
    for name, text in list(errors.items()):
        # "Обязательное поле" says less than what to do: the GOV.UK way names the action.
        if name in SAY_WHAT_TO_DO and (exc.fields.get(name) in ("required", "Обязательное поле")
                                       or text == "Обязательное поле"):
            errors[name] = SAY_WHAT_TO_DO[name]
    return errors


@bp.get("/services")
@login_required
def index() -> str:
    """The catalogue (рис. 22): every work with what it needs, «+ Заказать услугу»."""
    works = web_session.call("GET", "/requests/catalogue") or []
    counts = _counts()
    return render_template("services/index.html", works=works, counts=counts,
                           tabs=_tabs(), current_tab="catalogue")


def _counts() -> dict[str, int]:
    try:
        return web_session.call("GET", "/requests/counts") or {}
    except ApiError:
        return {}  # the tab's badge only; the page still shows


@bp.route("/services/new", methods=["GET", "POST"])
@login_required
def order() -> Any:
    """«+ Заказать услугу»: the work, an account where the work needs one (else the branch
    and the address), the message, files, a contact phone and a preferred time."""
    works = web_session.call("GET", "/requests/catalogue") or []
    accounts = [a for a in (web_session.call("GET", "/accounts") or [])
                if a.get("access", "full") == "full"]
    branches = (web_session.call("GET", "/accounts/branches") or {}).get("branches", [])
    errors, form, had_files = FormErrors(), {}, False
    if request.method == "POST":
        form = values(*ORDER_FIELDS)
        files = _files()
        had_files = bool(files)
        body: dict[str, Any] = cleaned({
            "work": form["work"], "message": form["message"],
            "contact_phone": form["contact_phone"], "preferred_time": form["preferred_time"]})
        if form["account_id"]:
            try:
                body["account_id"] = int(form["account_id"])
            except ValueError:
                errors["account_id"] = "Выберите лицевой счёт из списка"
        else:  # no account: the place of the works instead (the API says when it is needed)
            body.update(cleaned({"branch": form["branch"], "address": form["address"]}))
        if files:
            body["attachments"] = files
        if not errors:
            try:
                created = web_session.call("POST", "/requests", json=body,
                                           idempotency_key=form_key())
            except ApiError as exc:
                errors = _api_errors(exc, set(ORDER_FIELDS))
            else:
                flash(f"Заявка № {created['id']} отправлена. Оператор ответит здесь, "
                      "в «Мои заявки».", "success")
                return redirect(url_for("services.requests"))
    else:
        form = {"work": request.args.get("work", ""), "contact_phone": _my_phone()}
        if len(accounts) == 1:
            form["account_id"] = str(accounts[0]["id"])
    chosen = next((w for w in works if w["code"] == form.get("work")), None)
    return render_template(
        "services/order.html", works=works, accounts=accounts, form=form,
        account_options=[(a["id"], " — ".join(filter(None, (a["number"], a.get("address")))))
                         for a in accounts],
        branch_options=[(b["code"], b["name"]) for b in branches],
        errors=errors, chosen=chosen, had_files=had_files and bool(errors),
        file_types=FILE_TYPES,
    ), (422 if errors or errors.general else 200)


def _my_phone() -> str:
    """The contact phone starts as the customer's own mobile (they may change it)."""
    try:
        profile = web_session.call("GET", "/profile") or {}
    except ApiError:
        return ""
    return (profile.get("contacts") or {}).get("mobile_phone") or ""


@bp.get("/services/requests")
@login_required
def requests() -> str:
    """«Мои заявки»: newest first, a page at a time, the status in Russian, unread replies
    marked."""
    cursor = request.args.get("cursor")
    answer = paging.fetch("/requests", REQUESTS_PAGE, cursor)
    for item in answer["items"]:
        item["status_text"], item["status_kind"] = _status(item["status"])
    return render_template("services/requests.html", requests=answer["items"], tabs=_tabs(),
                           current_tab="requests", counts=_counts(),
                           pager=paging.links(answer, cursor, "services.requests"))


@bp.get("/services/requests/<int:request_id>")
@login_required
def detail(request_id: int) -> str:
    """A request: what was ordered, its steps, the conversation (the latest messages, or
    the page ``cursor`` names), a reply and «Отменить»."""
    return _detail_page(request_id, cursor=request.args.get("cursor"))


def _detail_page(request_id: int, errors: FormErrors | None = None, form: dict | None = None,
                 cancel_errors: FormErrors | None = None, status: int = 200,
                 had_files: bool = False, cursor: str | None = None) -> Any:
    item = web_session.call("GET", f"/requests/{request_id}")
    item["messages"], chat = conversation.shown(item, f"/requests/{request_id}/messages",
                                                cursor, "services.detail",
                                                request_id=request_id)
    item["status_text"], item["status_kind"] = _status(item["status"])
    for step in item.get("history", []):
        step["status_text"] = _status(step["status"])[0]
    return render_template(
        "services/detail.html", item=item, errors=shown(errors), form=form or {},
        cancel_errors=cancel_errors or FormErrors(), open=item["status"] in OPEN,
        file_types=FILE_TYPES, had_files=had_files, chat=chat), status


@bp.post("/services/requests/<int:request_id>/messages")
@login_required
def reply(request_id: int) -> Any:
    """A message to the operator: text, files or both."""
    form = values("text")
    body: dict[str, Any] = cleaned({"text": form["text"]})
    files = _files()
    if files:
        body["attachments"] = files
    try:
        web_session.call("POST", f"/requests/{request_id}/messages", json=body,
                         idempotency_key=form_key())
    except ApiError as exc:
        if exc.status == 404:
            raise
        errors = _api_errors(exc, {"text"})
        return _detail_page(request_id, errors=errors, form=form, had_files=bool(files),
                            status=exc.status if 400 <= exc.status < 500 else 422)
    flash("Сообщение отправлено оператору.", "success")
    return redirect(url_for("services.detail", request_id=request_id, _anchor="conversation"))


@bp.post("/services/requests/<int:request_id>/cancel")
@login_required
def cancel(request_id: int) -> Any:
    """«Отменить заявку» while no date of works is set (the API says when it is too late)."""
    reason = (request.form.get("reason") or "").strip()
    try:
        web_session.call("POST", f"/requests/{request_id}/cancel",
                         json=cleaned({"reason": reason}))
    except ApiError as exc:
        if exc.status == 404:
            raise
        errors = errors_from(exc, known={"reason"})
        return _detail_page(request_id, cancel_errors=errors, form={"reason": reason},
                            status=exc.status if 400 <= exc.status < 500 else 422)
    flash("Заявка отменена.", "success")
    return redirect(url_for("services.detail", request_id=request_id))


@bp.get("/services/requests/<int:request_id>/files/<attachment_id>")
@login_required
def attachment(request_id: int, attachment_id: str) -> Response:
    """A file of the conversation, streamed from the API as it answered it."""
    if not attachment_id.replace("-", "").isalnum() or len(attachment_id) > 64:
        abort(404)
    file = web_session.call("GET", f"/requests/{request_id}/attachments/{attachment_id}",
                            download=True)
    response = Response(file.content, content_type=file.content_type or
                        "application/octet-stream")
    if file.disposition:
        response.headers["Content-Disposition"] = file.disposition
    # A file a customer uploaded is never run as a page of this site.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# ---- Уведомления (the «home» section's part of this module) ---------------------------------
# Imports are local so that this part and the rest of the module change independently.

@bp.get("/notices")
@login_required
def notices() -> str:
    """The notice feed, newest first, 20 a page («Ранее» goes on with the API's cursor)."""
    from flask import request

    from web.api import ApiError
    from web.session import call

    params: dict[str, object] = {"limit": 20}
    cursor = request.args.get("cursor", "")
    if cursor:
        params["cursor"] = cursor
    try:
        feed = call("GET", "/notices", params=params)
    except ApiError as exc:  # a stale or mangled cursor: the newest page instead
        if exc.status not in (400, 422) or not cursor:
            raise
        cursor, feed = "", call("GET", "/notices", params={"limit": 20})
    return render_template("home/notices.html", feed=feed, cursor=cursor or None)


@bp.post("/notices/<int:notice_id>/read")
@login_required
def notice_read(notice_id: int):  # type: ignore[no-untyped-def]
    """«Прочитано» on one notice; back to the same page of the feed."""
    from flask import redirect, request, url_for

    from web.api import ApiError
    from web.session import call

    try:
        call("POST", f"/notices/{notice_id}/read")
    except ApiError as exc:
        if exc.status != 404:  # already gone: nothing to mark
            raise
    cursor = request.form.get("cursor") or None
    return redirect(url_for("services.notices", cursor=cursor) + f"#notice-{notice_id}")


@bp.post("/notices/read-all")
@login_required
def notices_read_all():  # type: ignore[no-untyped-def]
    """«Отметить все прочитанными»."""
    from flask import flash, redirect, url_for

    from web.session import call

    call("POST", "/notices/read-all")
    flash("Все уведомления отмечены прочитанными.", "success")
    return redirect(url_for("services.notices"))
