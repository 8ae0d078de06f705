"""Pages of the section «Оплата» (ОПЛАТА ЗАДОЛЖЕННОСТИ И(ИЛИ) ПЕНИ, рис. 16): debt and
penalties of every account with what to pay by card or СБП (the СБП pages are in
web/views/sbp.py), the penalty explained, the card step (the sandbox's card form and 3-D
Secure, or the provider's own page), the result with its receipt, saved cards and automatic
payment. Every figure and rule comes from the API; these pages only ask and show."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import (Blueprint, current_app, flash, redirect, render_template, request,
                   session, url_for)
from werkzeug.wrappers import Response

from web.api import ApiError
from web.filters import period as period_name
from web.forms import FormErrors, checked, errors_from, values
from web.labels import RECEIPT_STATUSES
from web.session import call, login_required

bp = Blueprint("payments", __name__)

# The parts of an account's position a customer may pay, as the API calls them.
PARTS = (("debt", "electricity"), ("penalty", "penalty"))
SETTLED = ("succeeded", "failed", "canceled", "refunded", "partially_refunded")
# Why a provider refused, in the customer's words (the API gives a code, not a sentence).
FAILURES = {
    "card_declined": "Банк отклонил карту. Попробуйте другую карту или обратитесь в банк",
    "authentication_failed": "Неверный код подтверждения 3-D Secure",
    "authentication_required": "Банк требует подтверждения 3-D Secure: оплатите картой вручную",
    "insufficient_funds": "На карте недостаточно средств",
    "expired_card": "Срок действия карты истёк",
    "incorrect_cvc": "Неверный CVC",
    "processing_error": "Банк не смог провести платёж, попробуйте ещё раз",
    "canceled": "Платёж отменён",
    "canceled_by_customer": "Оплата отклонена в приложении банка",
}
KNOWN_CARD_FIELDS = {"card_number", "exp", "cvc", "cardholder"}
REFS_KEPT = 5  # the card pages of the last few payments know their payment


def failure_text(reason: str | None) -> str:
    return FAILURES.get(reason or "", "Банк не провёл платёж. Попробуйте другую карту")


def _dev() -> bool:
    """Test cards and codes are hinted everywhere but in production."""
    return current_app.config["NESK"]["NESK_ENV"] != "production"


def _amount(text: str) -> str:
    """What a person types («1 234,50 ₽») in the API's shape («1234.50»); the API judges it."""
    return re.sub(r"[\s\u00a0\u202f₽]", "", text or "").replace(",", ".")


def _account_names() -> dict[int, dict[str, Any]]:
    """Branch names and addresses of the customer's accounts (the debt list has codes only)."""
    try:
        accounts = call("GET", "/accounts") or []
    except ApiError:
        return {}  # the page still works with the numbers alone
    if isinstance(accounts, dict):
        accounts = accounts.get("accounts", [])
    return {a["id"]: a for a in accounts}


def _receipt_contact() -> str:
    """Where the 54-ФЗ receipt goes unless the customer says otherwise: their confirmed
    e-mail, else their mobile phone (payments keeps no contacts: the web asks the profile)."""
    try:
        contacts = (call("GET", "/profile") or {}).get("contacts") or {}
    except ApiError:
        return ""  # the customer types it, or pays without (the sandbox takes that)
    return contacts.get("email") or contacts.get("mobile_phone") or ""


def _cards() -> list[dict[str, Any]]:
    try:
        return call("GET", "/payments/cards") or []
    except ApiError:
        return []  # paying with a new card still works


# ---- /pay: what to pay -------------------------------------------------------------------

def _rows(position: dict[str, Any], form: dict[str, str] | None) -> list[dict[str, Any]]:
    """The accounts with their parts to pay, prefilled from the API or from the sent form."""
    names = _account_names()
    rows = []
    for account in position.get("accounts", []):
        aid = account["account_id"]
        info = names.get(aid, {})
        parts = []
        for part, kind in PARTS:
            due = Decimal(account["debt"] if part == "debt" else account["penalties"])
            if part == "penalty" and due <= 0:
                continue  # nothing accrued: nothing to pay
            name = f"{aid}_{part}"
            if form is None:
                value, on = (f"{due:.2f}" if due > 0 else ""), due > 0
            else:
                value, on = form.get(f"amount_{name}", ""), form.get(f"pay_{name}") == "on"
            parts.append({"part": part, "kind": kind, "name": name, "due": due,
                          "value": value, "checked": on})
        rows.append({**account, "branch_name": info.get("branch_name", account["branch"]),
                     "address": info.get("address"), "parts": parts})
    return rows


def _total(rows: list[dict[str, Any]]) -> Decimal:
    total = Decimal("0")
    for row in rows:
        for part in row["parts"]:
            if part["checked"]:
                try:
                    total += Decimal(_amount(part["value"]) or "0")
                except InvalidOperation:
                    pass  # shown by its field once sent
    return total


def _render_pay(position: dict[str, Any], form: dict[str, str] | None = None,
                errors: FormErrors | None = None, key: str | None = None,
                status: int = 200) -> tuple[str, int]:
    rows = _rows(position, form)
    cards = _cards()
    if form is None:
        form = {"receipt_contact": _receipt_contact()}
    return render_template(
        "payments/index.html", position=position, rows=rows, total=_total(rows), cards=cards,
        errors=errors if errors is not None else FormErrors(), form=form,
        # One key per rendered form: a double click (or the back button) pays once.
        idempotency_key=key or str(uuid.uuid4())), status


@bp.get("/payments")
@login_required
def legacy() -> Response:
    return redirect(url_for("payments.index"))


@bp.get("/pay")
@login_required
def index() -> tuple[str, int]:
    """ОПЛАТА ЗАДОЛЖЕННОСТИ И(ИЛИ) ПЕНИ: every account's debt and penalties."""
    return _render_pay(call("GET", "/payments/debt"))


@bp.post("/pay")
@login_required
def pay() -> Response | tuple[str, int]:
    """«Оплатить»: the checked parts as one payment; then the card step."""
    position = call("GET", "/payments/debt")
    form = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    key = form.get("idempotency_key") or str(uuid.uuid4())
    items, fields = [], []
    for account in position.get("accounts", []):
        for part, kind in PARTS:
            name = f"{account['account_id']}_{part}"
            if form.get(f"pay_{name}") == "on":
                items.append({"account_id": account["account_id"], "kind": kind,
                              "amount": _amount(form.get(f"amount_{name}", ""))})
                fields.append(f"amount_{name}")
    errors = FormErrors()
    if not items:
        errors.general = "Отметьте, что оплатить: задолженность или пени"
        return _render_pay(position, form, errors, key, 422)
    body: dict[str, Any] = {"idempotency_key": key, "items": items}
    card_ref = form.get("card_ref") or ""
    if form.get("method") == "sbp":
        body["method"] = "sbp"  # no card: a saved card or «сохранить карту» do not apply
    elif card_ref:
        body["card_ref"] = card_ref
    elif checked("save_card"):
        body["save_card"] = True
    contact = form.get("receipt_contact") or ""
    if contact:  # one field for either: an e-mail has its «@»
        body["receipt_email" if "@" in contact else "receipt_phone"] = contact
    try:
        payment = call("POST", "/payments", json=body, idempotency_key=key)
    except ApiError as exc:
        if exc.status not in (400, 404, 409, 422) and exc.status < 500:
            raise
        # items[0].amount (the service) or items.0.amount: the amount field of that line.
        aliases = {"receipt_email": "receipt_contact", "receipt_phone": "receipt_contact"}
        for api_field in exc.fields:
            match = re.match(r"^items[.\[](\d+)\]?(?:\.\w+)?$", api_field)
            if match and int(match.group(1)) < len(fields):
                aliases[api_field] = fields[int(match.group(1))]
        errors = errors_from(exc, aliases,
                             known=set(fields) | {"card_ref", "method", "receipt_contact"})
        if "idempotency_key" in exc.fields or "Idempotency-Key" in exc.fields:
            key = None  # that key paid something else: this form gets a new one
        return _render_pay(position, form, errors, key, exc.status if exc.status != 404 else 422)
    return _after_start(payment)


def remember_ref(ref: str, payment_id: str) -> None:
    """The card page (and the sandbox's СБП «bank app») is addressed by the provider's
    reference: keep which payment it is."""
    kept = dict(session.get("pay_refs") or {})
    kept.pop(ref, None)
    kept[ref] = payment_id
    session["pay_refs"] = dict(list(kept.items())[-REFS_KEPT:])


def _after_start(payment: dict[str, Any]) -> Response:
    if payment.get("method") == "sbp" and payment["status"] not in SETTLED:
        if payment.get("provider") == "sandbox" and payment.get("sbp_url"):
            remember_ref(payment["sbp_url"].rstrip("/").split("/")[-1], payment["id"])
        return redirect(url_for("sbp.wait", payment_id=payment["id"]))
    action = payment.get("action") or {}
    url = action.get("confirmation_url")
    if payment["status"] in ("requires_action", "created") and url:
        remember_ref(url.rstrip("/").split("/")[-1], payment["id"])
        # The sandbox's form is our /pay/card/<ref>; Stripe's is its own page: go there.
        return redirect(url)
    return redirect(url_for("payments.result", payment_id=payment["id"]))


# ---- the penalty explained ---------------------------------------------------------------

def _day(text: str) -> date | None:
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _timeline(charge: dict[str, Any]) -> list[dict[str, Any]]:
    """A charge's overdue days in order: the grace days, the accruing lines, the moratoria."""
    steps: list[dict[str, Any]] = []
    due = date.fromisoformat(charge["due_date"])
    accrues = date.fromisoformat(charge["accrues_from"])
    if accrues > due + timedelta(days=1):
        steps.append({"kind": "grace", "date_from": (due + timedelta(days=1)).isoformat(),
                      "date_to": (accrues - timedelta(days=1)).isoformat(),
                      "days": (accrues - due).days - 1})
    steps += [{"kind": "line", **line} for line in charge["lines"]]
    steps += [{"kind": "excluded", **x} for x in charge["excluded"]]
    return sorted(steps, key=lambda s: s["date_from"])


@bp.get("/pay/penalties/<int:account_id>")
@login_required
def penalties(account_id: int) -> tuple[str, int]:
    """How the penalty was computed, day range by day range; and «если оплатить <date>»."""
    errors = FormErrors()
    pay_on = (request.args.get("pay_on") or "").strip()
    params = {}
    if pay_on:
        day = _day(pay_on)
        if day is None:
            errors["pay_on"] = "Введите дату в формате ДД.ММ.ГГГГ, например 20.12.2026"
        else:
            params["pay_on"] = day.isoformat()
    try:
        details = call("GET", f"/accounts/{account_id}/penalties", params=params)
    except ApiError as exc:
        if exc.status not in (400, 422) or not params:
            raise
        errors = errors_from(exc, known={"pay_on"})
        details = call("GET", f"/accounts/{account_id}/penalties")
    charges = [{**c, "steps": _timeline(c)} for c in details["charges"]]
    return render_template("payments/penalties.html", account_id=account_id, details=details,
                           charges=charges, pay_on=pay_on, errors=errors), \
        422 if errors else 200


# ---- the card step (the sandbox's form; Stripe has its own page) --------------------------

def payment_of_ref(ref: str) -> dict[str, Any] | None:
    payment_id = (session.get("pay_refs") or {}).get(ref)
    if not payment_id:
        return None
    try:
        return call("GET", f"/payments/{payment_id}")
    except ApiError:
        return None


def _render_card(ref: str, payment: dict[str, Any] | None, form: dict[str, str] | None = None,
                 errors: FormErrors | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("payments/card.html", ref=ref, payment=payment, form=form or {},
                           errors=errors if errors is not None else FormErrors(), dev=_dev()), status


@bp.get("/pay/card/<ref>")
@login_required
def card(ref: str) -> Response | tuple[str, int]:
    """The sandbox's card form: number, expiry, CVC, cardholder."""
    payment = payment_of_ref(ref)
    if payment and payment["status"] in ("succeeded", "refunded", "partially_refunded"):
        return redirect(url_for("payments.result", payment_id=payment["id"]))
    errors = FormErrors()
    if payment and payment["status"] == "failed":
        errors["card_number"] = failure_text(payment.get("failure_reason"))
    return _render_card(ref, payment, errors=errors)


@bp.post("/pay/card/<ref>")
@login_required
def card_submit(ref: str) -> Response | tuple[str, int]:
    form = values("card_number", "exp", "cvc", "cardholder")
    errors = FormErrors()
    if not form["card_number"]:
        errors["card_number"] = "Введите номер карты — 16 цифр с лицевой стороны"
    match = re.fullmatch(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})", form["exp"])
    if not match:
        errors["exp"] = "Введите срок действия как на карте: ММ/ГГ, например 12/30"
    if not form["cvc"]:
        errors["cvc"] = "Введите CVC — три цифры с обратной стороны карты"
    if errors:
        return _render_card(ref, payment_of_ref(ref), form, errors, 422)
    assert match is not None
    try:
        payment = call("POST", f"/payments/sandbox/{ref}", json={
            "card_number": form["card_number"], "exp_month": int(match.group(1)),
            "exp_year": int(match.group(2)), "cvc": form["cvc"]})
    except ApiError as exc:
        if exc.status == 409:  # paid already, or no longer taking a card
            known = payment_of_ref(ref)
            flash(exc.message or "Этот платёж уже не принимает карту", "warning")
            return redirect(url_for("payments.result", payment_id=known["id"]) if known
                            else url_for("payments.index"))
        if exc.status not in (400, 422):
            raise
        errors = errors_from(exc, {"exp_month": "exp", "exp_year": "exp"},
                             known=KNOWN_CARD_FIELDS)
        return _render_card(ref, payment_of_ref(ref), form, errors, exc.status)
    remember_ref(ref, payment["id"])
    if payment["status"] == "requires_action" and \
            (payment.get("action") or {}).get("next_action") == "3ds":
        return redirect(url_for("payments.three_ds", ref=ref))
    if payment["status"] == "failed":
        errors["card_number"] = failure_text(payment.get("failure_reason"))
        return _render_card(ref, payment, {**form, "card_number": ""}, errors, 422)
    return redirect(url_for("payments.result", payment_id=payment["id"]))


@bp.route("/pay/card/<ref>/3ds", methods=("GET", "POST"))
@login_required
def three_ds(ref: str) -> Response | tuple[str, int]:
    """The bank's 3-D Secure step: the code from the bank's SMS."""
    payment = payment_of_ref(ref)
    errors = FormErrors()
    if request.method == "POST":
        code = (request.form.get("code") or "").strip()
        if not code:
            errors["code"] = "Введите код подтверждения из SMS банка"
        else:
            try:
                payment = call("POST", f"/payments/sandbox/{ref}/3ds", json={"code": code})
            except ApiError as exc:
                if exc.status != 409:
                    raise
                flash("Подтверждение уже не ждёт кода: введите данные карты ещё раз", "warning")
                return redirect(url_for("payments.card", ref=ref))
            if payment["status"] == "failed":
                # The bank closes the step after a wrong code: the card is entered again.
                flash(failure_text(payment.get("failure_reason"))
                      + ": платёж не прошёл. Введите данные карты ещё раз", "error")
                return redirect(url_for("payments.card", ref=ref))
            return redirect(url_for("payments.result", payment_id=payment["id"]))
    return render_template("payments/three_ds.html", ref=ref, payment=payment, errors=errors,
                           dev=_dev()), 422 if errors else 200


# ---- the result --------------------------------------------------------------------------

@bp.get("/pay/result/<payment_id>")
@login_required
def result(payment_id: str) -> Response | tuple[str, int] | str:
    """«Платёж прошёл» / «Отклонён: причина» / «Ожидает подтверждения» (polled with htmx)."""
    payment = call("GET", f"/payments/{payment_id}")
    settled = payment["status"] in SETTLED
    if request.headers.get("HX-Request"):
        if settled:
            # The whole page again: the header's balance changes with the payment.
            response = Response("", 200)
            response.headers["HX-Refresh"] = "true"
            return response
        return render_template("payments/_status.html", payment=payment,
                               failure=failure_text(payment.get("failure_reason")))
    return render_template("payments/result.html", payment=payment, settled=settled,
                           failure=failure_text(payment.get("failure_reason"))), 200


# ---- saved cards and automatic payment -----------------------------------------------------

@bp.get("/pay/cards")
@login_required
def cards() -> tuple[str, int]:
    """Сохранённые карты и автоплатёж по каждому счёту."""
    autopays = {a["account_id"]: a for a in call("GET", "/payments/autopay") or []}
    position = call("GET", "/payments/debt")
    names = _account_names()
    accounts = [{**a, "branch_name": names.get(a["account_id"], {}).get("branch_name",
                                                                         a["branch"]),
                 "autopay": autopays.get(a["account_id"])}
                for a in position.get("accounts", [])]
    return render_template("payments/cards.html", cards=_cards(), accounts=accounts,
                           errors=FormErrors()), 200


@bp.post("/pay/cards/<card_ref>/delete")
@login_required
def delete_card(card_ref: str) -> Response:
    call("DELETE", f"/payments/cards/{card_ref}")
    flash("Карта удалена. Автоплатежи по ней отключены.", "success")
    return redirect(url_for("payments.cards"))


@bp.post("/pay/autopay/<int:account_id>")
@login_required
def set_autopay(account_id: int) -> Response:
    """Подключить (or change the card of) the account's automatic payment."""
    card_ref = (request.form.get("card_ref") or "").strip()
    if not card_ref:
        flash("Выберите карту для автоплатежа", "error")
        return redirect(url_for("payments.cards"))
    try:
        call("PUT", f"/accounts/{account_id}/autopay", json={"card_ref": card_ref})
    except ApiError as exc:
        if exc.status not in (400, 403, 404):
            raise
        flash(exc.message, "error")
        return redirect(url_for("payments.cards"))
    flash("Автоплатёж подключён: счёт будет оплачиваться картой за несколько дней до срока.",
          "success")
    return redirect(url_for("payments.cards"))


@bp.post("/pay/autopay/<int:account_id>/off")
@login_required
def cancel_autopay(account_id: int) -> Response:
    try:
        call("DELETE", f"/accounts/{account_id}/autopay")
    except ApiError as exc:
        if exc.status not in (403, 404, 409):
            raise
        flash(exc.message, "error")
        return redirect(url_for("payments.cards"))
    flash("Автоплатёж отключён.", "success")
    return redirect(url_for("payments.cards"))


# ---- words for the penalty page ----------------------------------------------------------

@bp.app_template_filter("percent")
def percent(value: Any) -> str:
    """``"9.50"`` → ``9,5 %`` (a no-break space before the sign)."""
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    return f"{number:f}".replace(".", ",") + "\u00a0%"


@bp.app_template_filter("days_word")
def days_word(count: Any) -> str:
    """день / дня / дней for a number of days."""
    n = abs(int(count))
    if n % 10 == 1 and n % 100 != 11:
        return "день"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "дня"
    return "дней"


# ---- the receipt ---------------------------------------------------------------------------

@bp.app_template_filter("receipt_state")
def receipt_state(status: Any) -> tuple[str, str]:
    """A receipt's status as «Чек: …» says it, with its badge's colour."""
    return RECEIPT_STATUSES.get(str(status), ("состояние неизвестно", "neutral"))


@bp.app_template_filter("receipt_item")
def receipt_item(item: dict[str, Any]) -> str:
    """A line of the receipt: its own description, or what it pays for."""
    if item.get("description"):
        return str(item["description"])
    what = "Пени" if item.get("kind") == "penalty" else "Электроэнергия"
    when = f" за {period_name(item['period'])}" if item.get("period") else ""
    number = f", л/с {item['number']}" if item.get("number") else ""
    return what + when + number
