"""Paying by СБП (Система быстрых платежей): the page that waits for the bank, with the
bank's link as a big button on a phone and as a QR code on a computer, and the sandbox's
«bank app» that the link opens in development. The page learns the result by asking the
API for the payment (htmx every 2 s, or the «Проверить оплату» button without JavaScript)."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from web.api import ApiError
from web.qr import qr_svg
from web.session import call, login_required
from web.views.payments import SETTLED

bp = Blueprint("sbp", __name__)

# A phone's browser says so; a narrow window is handled by the page's CSS alone.
MOBILE_AGENT = re.compile(r"Mobi|Android|iPhone|iPad|iPod|Windows Phone|HarmonyOS", re.I)
QR_TITLE = "QR-код для оплаты через СБП"


def _payment(payment_id: str) -> dict[str, Any]:
    return call("GET", f"/payments/{payment_id}")


def _on_phone() -> bool:
    return bool(MOBILE_AGENT.search(request.headers.get("User-Agent", "")))


@bp.get("/pay/sbp/<payment_id>")
@login_required
def wait(payment_id: str) -> Response | tuple[str, int] | str:
    """Ждём подтверждения из приложения банка; a final payment goes to its result page."""
    payment = _payment(payment_id)
    if payment.get("method") != "sbp":
        return redirect(url_for("payments.result", payment_id=payment_id))
    done = url_for("payments.result", payment_id=payment_id)
    final = payment["status"] in SETTLED
    if request.headers.get("HX-Request"):
        if final:
            response = Response("", 200)
            response.headers["HX-Redirect"] = done
            return response
        return render_template("payments/_sbp_status.html", payment=payment)
    if final:
        return redirect(done)
    link = payment.get("sbp_url")
    return render_template("payments/sbp.html", payment=payment, link=link,
                           qr=qr_svg(link, QR_TITLE) if link else None,
                           phone=_on_phone()), 200


# ---- the sandbox's bank app ---------------------------------------------------------------

@bp.route("/payments/sandbox-sbp/<ref>", methods=("GET", "POST"))
@login_required
def sandbox(ref: str) -> Response | tuple[str, int]:
    """«Тестовый банк»: what the QR code or the link opens under the sandbox provider, where
    the customer approves or declines the payment as in their bank's app."""
    payment = _sandbox_payment(ref)
    if request.method == "POST":
        decision = request.form.get("decision")
        if decision not in ("approve", "decline"):
            abort(400)  # only the page's two buttons post here
        approve = decision == "approve"
        try:
            payment = call("POST", f"/payments/sandbox/{ref}/sbp", json={"approve": approve})
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise
            flash(exc.message or "Этот платёж уже не ждёт подтверждения", "warning")
            return redirect(url_for("payments.result", payment_id=payment["id"]))
        flash("Оплата подтверждена в приложении банка." if approve
              else "Вы отклонили оплату в приложении банка.",
              "success" if approve else "info")
        return redirect(url_for("payments.result", payment_id=payment["id"]))
    if payment["status"] in SETTLED:
        return redirect(url_for("payments.result", payment_id=payment["id"]))
    return render_template("payments/sandbox_sbp.html", ref=ref, payment=payment), 200


def _sandbox_payment(ref: str) -> dict[str, Any]:
    """The payer's payment behind the sandbox's reference, read by the API (so the page shows
    the amount on whichever device the QR code was scanned with); 404 for another provider's
    or another customer's."""
    try:
        payment = call("GET", f"/payments/sandbox/{ref}")
    except ApiError as exc:
        if exc.status != 404:
            raise
        abort(404)
    if payment.get("provider") != "sandbox":
        abort(404)
    return payment
