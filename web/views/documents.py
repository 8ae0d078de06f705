"""РАЗДЕЛ «ДОКУМЕНТЫ» (рис. 19–20): tabs «Квитанции» (each account's monthly bills as PDF, to
download or print) and «Документы для соц. нормы» (upload scans, see their status, withdraw).

The bill link `/documents/<account_id>/bills/<YYYY-MM>` is the one the e-mailed bills carry;
without a session it goes to the login page and back (login_required)."""
from __future__ import annotations

import base64
import re
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from web import paging
from web.api import ApiError, Download
from web.forms import FormErrors, errors_from, form_key, shown
from web.session import call, login_required

bp = Blueprint("documents", __name__)
FILE_MAX_MB = 5
RECENT_BILLS = 12  # a year of bills a page; older ones one click away
DOCUMENTS_PAGE = 20
STATUS_KINDS = {"submitted": "info", "under_review": "warn", "accepted": "ok",
                "rejected": "bad", "withdrawn": "neutral"}


def _tabs() -> list[tuple[str, str, str]]:
    return [("bills", url_for("documents.index"), "Квитанции"),
            ("social", url_for("documents.social"), "Документы для соц. нормы")]


def _accounts() -> list[dict[str, Any]]:
    return call("GET", "/accounts") or []


# ---- Квитанции -----------------------------------------------------------------------------

@bp.get("/documents")
@login_required
def index() -> str:
    """Квитанции: per account the months with a bill, a year at a time («Ранее» pages the
    account of ``account`` back with the API's cursor), «Скачать PDF» and «Печать»."""
    accounts = []
    for account in _accounts():
        cursor = _cursor_of(account["id"])
        try:
            answer = paging.fetch(f"/accounts/{account['id']}/bills", RECENT_BILLS, cursor)
            failure = None
        except ApiError as exc:  # one account's trouble must not hide the others
            if exc.status in (401,):
                raise
            answer, failure = {"items": [], "next": None}, exc.message
        accounts.append({**account, "bills": answer["items"], "failure": failure,
                         "pager": paging.links(answer, cursor, "documents.index",
                                               f"acc-{account['id']}", account=account["id"])})
    return render_template("documents/bills.html", tabs=_tabs(), current="bills",
                           accounts=accounts)


def _bill(account_id: int, period: str) -> Download:
    return call("GET", f"/accounts/{account_id}/bills/{period}", download=True)


@bp.get("/documents/<int:account_id>/bills/<period>")
@login_required
def bill(account_id: int, period: str) -> Response:
    """«Скачать PDF»: the bill as the API forms it, saved under the API's file name."""
    pdf = _bill(account_id, period)
    return Response(pdf.content, mimetype=pdf.content_type or "application/pdf",
                    headers={"Content-Disposition": pdf.disposition or
                             f'attachment; filename="bill-{period}.pdf"'})


@bp.get("/documents/<int:account_id>/bills/<period>/print")
@login_required
def bill_print(account_id: int, period: str) -> Response:
    """«Печать»: the same PDF shown in the browser's own viewer (a new tab), to print."""
    pdf = _bill(account_id, period)
    disposition = re.sub(r"^\s*attachment", "inline", pdf.disposition or "") or "inline"
    return Response(pdf.content, mimetype=pdf.content_type or "application/pdf",
                    headers={"Content-Disposition": disposition})


def _cursor_of(account_id: int) -> str | None:
    """The page asked for one account's list (``account`` and ``cursor``); the others
    show their first page."""
    return request.args.get("cursor") if request.args.get("account") == str(account_id) \
        else None


# ---- Документы для соц. нормы --------------------------------------------------------------

def _social(errors: FormErrors | None = None, form: dict[str, str] | None = None,
            status: int = 200, file_again: bool = False) -> tuple[str, int]:
    """The tab; ``file_again``: the form came back for another reason and a browser never
    keeps a chosen file, so the hint asks to choose it again."""
    types = call("GET", "/documents/types") or []
    accounts = []
    for account in _accounts():
        cursor = _cursor_of(account["id"])
        try:
            answer = paging.fetch(f"/accounts/{account['id']}/documents", DOCUMENTS_PAGE, cursor)
        except ApiError as exc:
            if exc.status == 401:
                raise
            answer = {"items": [], "next": None}
        accounts.append({**account, "documents": answer["items"],
                         "pager": paging.links(answer, cursor, "documents.social",
                                               f"docs-{account['id']}", account=account["id"])})
    return render_template("documents/social.html", tabs=_tabs(), current="social",
                           accounts=accounts, errors=shown(errors),
                           type_options=[(t["code"], t["title"]) for t in types],
                           account_options=[(a["id"], f"№ {a['number']}"
                                             + (f", {a['address']}" if a.get("address") else ""))
                                            for a in accounts],
                           form=form or {}, kinds=STATUS_KINDS, max_mb=FILE_MAX_MB,
                           types=types, file_again=file_again), status


@bp.get("/documents/social")
@login_required
def social() -> Any:
    """Документы для соц. нормы: the types, each account's documents and the upload form."""
    return _social(form={"account": request.args.get("account", "")})


@bp.post("/documents/social")
@login_required
def upload() -> Any:
    """Подать документ: account, type and file (multipart here, base64 to the API)."""
    form = {name: (request.form.get(name) or "").strip() for name in ("account", "doc_type")}
    errors = FormErrors()
    if not form["account"].isdigit():
        errors["account"] = "Выберите лицевой счёт"
    if not form["doc_type"]:
        errors["doc_type"] = "Выберите тип документа"
    upload_file = request.files.get("file")
    raw = upload_file.read() if upload_file and upload_file.filename else b""
    if not raw:
        errors["file"] = "Прикрепите файл: фото (JPEG, PNG) или PDF"
    if errors:
        return _social(errors, form, 422, file_again=bool(raw))
    try:
        call("POST", f"/accounts/{int(form['account'])}/documents", json={
            "doc_type": form["doc_type"], "filename": upload_file.filename,
            "content_base64": base64.b64encode(raw).decode()}, idempotency_key=form_key())
    except ApiError as exc:
        if exc.status == 401:
            raise
        errors = errors_from(exc, aliases={"content_base64": "file", "filename": "file",
                                           "account_id": "account"},
                             known={"account", "doc_type", "file"})
        if exc.status == 413:
            errors = FormErrors(file=f"Файл больше {FILE_MAX_MB} МБ")
        elif exc.status in (403, 404) and not errors:
            errors = FormErrors(account=exc.message or "Этот лицевой счёт вам недоступен")
        return _social(errors, form, 422 if exc.status < 500 else exc.status,
                       file_again="file" not in errors)
    flash("Документ подан. Мы сообщим, когда его рассмотрят.", "success")
    return redirect(url_for("documents.social", account=form["account"]))


@bp.post("/documents/<int:document_id>/withdraw")
@login_required
def withdraw(document_id: int) -> Any:
    """«Отозвать» a document nobody has decided on yet."""
    try:
        call("POST", f"/documents/{document_id}/withdraw")
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message or "Документ отозвать нельзя", "error")
    else:
        flash("Документ отозван.", "success")
    return redirect(url_for("documents.social"))
