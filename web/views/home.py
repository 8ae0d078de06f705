"""Главная: the customer's accounts with what to do next, «Добавить лицевой счёт»,
«Заключить договор» and an account's own page (details, paperless bills, trusted persons,
removal from the cabinet)."""
from __future__ import annotations

from typing import Any

from flask import (Blueprint, abort, flash, g, redirect, render_template, request, session,
                   url_for)
from werkzeug.wrappers import Response

from web.api import ApiError
from web.forms import FormErrors, checked, cleaned, errors_from, form_key, shown, values
from web.labels import READING_STATUSES
from web.session import call, call_all, login_required, public_call

bp = Blueprint("home", __name__)

TARIFFS = {"urban": "Городское население", "rural": "Сельское население",
           "electric_stove": "Дома с электроплитами",
           "electric_heating": "Дома с электроотоплением"}
ACCESS = {"full": "Полный доступ", "read": "Только просмотр"}
LINK_FIELDS = ("number", "branch", "proof")
CONTRACT_FIELDS = ("branch", "full_name", "address", "phone", "comment")
TRUST_FIELDS = ("phone", "email", "access")


def _optional(method: str, path: str, **kwargs: Any) -> Any:
    """A figure the page can live without: None when its service cannot answer now (the
    card still shows, with «нет данных» in its place)."""
    try:
        return call(method, path, **kwargs)
    except ApiError as exc:
        if exc.status in (401, 403):
            raise
        return None


def _branches() -> list[tuple[str, str]]:
    """(code, name) of the supplier's branches, for «Филиал»."""
    answer = public_call("GET", "/accounts/branches")
    return [(b["code"], b["name"]) for b in answer.get("branches", [])]


@bp.app_template_global()
def reading_status(status: str) -> tuple[str, str]:
    """A reading's status in words and its colour (see macros' ``ui.status``)."""
    return READING_STATUSES.get(status, (status, "neutral"))


# ---- Главная ------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index() -> str:
    """The balance and the next steps first; one API call for every account's debt."""
    accounts = call("GET", "/accounts") or []
    if not accounts:
        return render_template("home/index.html", accounts=[])
    # Everything else at once, the header's summary included.
    answers = call_all(("GET", "/payments/debt"), ("GET", "/readings/window"), ("GET", "/summary"),
                       *[("GET", f"/accounts/{a['id']}/meters") for a in accounts])
    for answer in answers:
        if isinstance(answer, ApiError) and answer.status in (401, 403):
            raise answer
    debt, window, summary, *meter_lists = [None if isinstance(a, ApiError) else a
                                           for a in answers]
    g.header = summary or {}
    debt = debt or {}
    debts = {row["account_id"]: row for row in debt.get("accounts", [])}
    if debt:
        # Payments learns of a new link by an event: an account linked a moment ago may not
        # be in the all-accounts answer yet, so ask its own statement (checked in accounts).
        for missing in (a["id"] for a in accounts if a["id"] not in debts):
            debts[missing] = _optional("GET", f"/accounts/{missing}/debt")
    # Meters have no "all accounts" call: one per account (a customer has a few).
    meters = {a["id"]: listed for a, listed in zip(accounts, meter_lists)}
    return render_template("home/index.html", accounts=accounts, debts=debts, total=debt,
                           window=window, meters=meters)


# ---- Добавить лицевой счёт ----------------------------------------------------------------

@bp.route("/accounts/add", methods=["GET", "POST"])
@login_required
def add_account() -> Any:
    """Рисунок 13: number, branch, the proof from the bill, paperless consent, «Отправить»."""
    branches = _branches()
    if request.method == "GET":
        return render_template("home/add.html", branches=branches, form={}, errors=FormErrors(),
                               paperless=False)
    form = values(*LINK_FIELDS)
    paperless = checked("paperless")
    try:
        account = call("POST", "/accounts", json=cleaned(form), idempotency_key=form_key())
    except ApiError as exc:
        if exc.status in (401, 403):
            raise  # a 503 comes back as the form, with its key: sending again links once
        errors = errors_from(exc, known=set(LINK_FIELDS))
        if exc.status == 429 and exc.retry_after:
            minutes = max(1, round(exc.retry_after / 60))
            errors["number"] = f"{exc.message} (осталось около {minutes} мин)"
        return render_template("home/add.html", branches=branches, form=form, errors=errors,
                               paperless=paperless), exc.status
    flash(f"Лицевой счёт № {account['number']} добавлен в личный кабинет.", "success")
    if paperless:
        # A separate step: a missing confirmed e-mail must not undo the linking itself.
        try:
            call("PUT", f"/accounts/{account['id']}/paperless", json={"paperless": True})
            flash("Счета по этому лицевому счёту будут приходить на электронную почту.",
                  "success")
        except ApiError as exc:
            if exc.status in (401, 403) or exc.status >= 500:
                raise
            flash(f"Согласие на счета по e-mail не сохранено: {exc.message}. "
                  "Его можно дать позже на странице лицевого счёта.", "warning")
    return redirect(url_for("home.index"))


# ---- Заключить договор --------------------------------------------------------------------

@bp.route("/contract", methods=["GET", "POST"])
@login_required
def contract() -> Any:
    """«Заключить договор»: a request for a supply contract from a customer without one."""
    branches = _branches()
    if request.method == "GET":
        return render_template("home/contract.html", branches=branches, form={},
                               errors=FormErrors())
    form = values(*CONTRACT_FIELDS)
    try:
        sent = call("POST", "/contract-requests", json=cleaned(form),
                    idempotency_key=form_key())
    except ApiError as exc:
        if exc.status in (401, 403):
            raise
        return render_template("home/contract.html", branches=branches, form=form,
                               errors=errors_from(exc, known=set(CONTRACT_FIELDS))), exc.status
    names = dict(branches)
    session["contract_sent"] = {"request_id": sent.get("request_id"),
                                "branch": names.get(sent.get("branch"), sent.get("branch")),
                                "full_name": sent.get("full_name"),
                                "address": sent.get("address"), "phone": sent.get("phone"),
                                "created_at": sent.get("created_at")}
    return redirect(url_for("home.contract_sent"))


@bp.get("/contract/sent")
@login_required
def contract_sent() -> Any:
    """The confirmation, once (a reload goes back to the form's start page)."""
    sent = session.pop("contract_sent", None)
    if not sent:
        return redirect(url_for("home.index"))
    return render_template("home/contract_sent.html", sent=sent)


# ---- the account's page -------------------------------------------------------------------

def _account(account_id: int) -> dict[str, Any]:
    """The caller's account; a stranger's (or a missing) id is the plain 404 page."""
    try:
        return call("GET", f"/accounts/{account_id}")
    except ApiError as exc:
        if exc.status in (404, 422):
            abort(404)
        raise


def _account_page(account: dict[str, Any], errors: FormErrors | None = None,
                  form: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("home/account.html", account=account, tariffs=TARIFFS,
                           access_names=ACCESS, errors=shown(errors),
                           form=form or {"access": "read"}), status


@bp.get("/accounts/<int:account_id>")
@login_required
def account(account_id: int) -> tuple[str, int]:
    return _account_page(_account(account_id))


@bp.post("/accounts/<int:account_id>/paperless")
@login_required
def paperless(account_id: int) -> Response:
    """The consent toggle: bills by e-mail (needs a confirmed e-mail) or on paper."""
    wanted = checked("paperless")
    try:
        call("PUT", f"/accounts/{account_id}/paperless", json={"paperless": wanted})
    except ApiError as exc:
        if exc.status == 404:
            abort(404)
        if exc.status == 401 or exc.status >= 500:
            raise
        flash(exc.message, "error")
    else:
        flash("Счета будут приходить на электронную почту." if wanted
              else "Счета будут приходить на бумаге.", "success")
    return redirect(url_for("home.account", account_id=account_id))


@bp.post("/accounts/<int:account_id>/trusted")
@login_required
def grant(account_id: int) -> Any:
    """Give a registered person (by phone or e-mail) access to the account."""
    form = values(*TRUST_FIELDS)
    try:
        call("POST", f"/accounts/{account_id}/trusted", json=cleaned(form),
             idempotency_key=form_key())
    except ApiError as exc:
        if exc.status == 404 and "account_id" in exc.fields:
            abort(404)
        if exc.status == 401:
            raise
        return _account_page(_account(account_id), errors_from(exc, known=set(TRUST_FIELDS)),
                             form, exc.status)
    flash("Доступ предоставлен.", "success")
    return redirect(url_for("home.account", account_id=account_id) + "#trusted")


@bp.post("/accounts/<int:account_id>/trusted/<user_id>/revoke")
@login_required
def revoke(account_id: int, user_id: str) -> Response:
    try:
        call("DELETE", f"/accounts/{account_id}/trusted/{user_id}")
    except ApiError as exc:
        if exc.status == 404 and "account_id" in exc.fields:
            abort(404)
        if exc.status == 401 or exc.status >= 500:
            raise
        flash(exc.message, "error")
    else:
        flash("Доступ отозван.", "success")
    return redirect(url_for("home.account", account_id=account_id) + "#trusted")


@bp.get("/accounts/<int:account_id>/remove")
@login_required
def remove_confirm(account_id: int) -> str:
    """«Убрать лицевой счёт из кабинета»: asked once more before it is done."""
    return render_template("home/remove.html", account=_account(account_id))


@bp.post("/accounts/<int:account_id>/remove")
@login_required
def remove(account_id: int) -> Response:
    account = _account(account_id)
    try:
        call("DELETE", f"/accounts/{account_id}")
    except ApiError as exc:
        if exc.status == 404:
            abort(404)
        raise
    flash(f"Лицевой счёт № {account['number']} убран из личного кабинета.", "success")
    return redirect(url_for("home.index"))
