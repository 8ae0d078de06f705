"""ПЕРЕДАЧА ПОКАЗАНИЙ (рис. 14–15): the form per meter and zone, «Проверить» (consumption,
charge estimate, a high-consumption warning to confirm), «Передать», a bill photo that fills
the form, and the quick submission without signing in (from the login page).

Every rule (window, less than previous, rollover, digits, plausibility) is the readings
service's: the pages only put the customer's numbers into the API's shape and show its answer
by the field it names (``values[1]`` → the second zone's input).
"""
from __future__ import annotations

import base64
import re
from typing import Any

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   session, url_for)
from werkzeug.exceptions import RequestEntityTooLarge

from web import paging
from web import session as web_session
from web.api import ApiError
from web.forms import FormErrors, checked, errors_from, form_key, renew_form_key, shown, values
from web.labels import (READING_REJECT_REASONS, READING_SOURCES, READING_STATUSES,
                        zone_labels)
from web.session import login_required

bp = Blueprint("readings", __name__)

# The bill's columns 1-эт, 2-эт, 3-эт as the meter's display names them (T1 is the day, or
# the peak on a three-zone meter; T2 is always the night).
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # the API's limit for a bill photo
PHOTO_REASONS = {
    "too_large": "Файл больше 10 МБ: сфотографируйте квитанцию ещё раз или уменьшите фото",
    "too_many_pixels": "Фото слишком большого разрешения: уменьшите его",
    "unsupported_type": "Это не фото: загрузите JPEG, PNG или HEIC",
    "unreadable": "Файл повреждён или это не фото: загрузите JPEG, PNG или HEIC",
}
QUICK_RESULT = "readings_quick"  # the session key of the quick submission's answer
CAPTCHA_ALIASES = {"captcha_answer": "captcha", "captcha_id": "captcha"}


# ---- helpers ---------------------------------------------------------------------------

def _value_aliases(zones: int = 3) -> dict[str, str]:
    """The API's ``values[i]`` (and ``values`` for the whole list) → the zone's input."""
    aliases = {f"values[{i}]": f"value_{i}" for i in range(zones)}
    aliases["values"] = "value_0"
    return aliases


def _accounts() -> list[dict[str, Any]]:
    return web_session.call("GET", "/accounts") or []


def _account(account_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The customer's account (404 page when it is not theirs) and all their accounts."""
    accounts = _accounts()
    for account in accounts:
        if account["id"] == account_id:
            return account, accounts
    raise ApiError(404, "not_found", "Такого лицевого счёта нет в вашем кабинете")


def _window() -> dict[str, Any] | None:
    """This month's (or the next) window for readings; None when the API cannot say."""
    try:
        return web_session.public_call("GET", "/readings/window")
    except ApiError:
        return None


def _meter(meters: list[dict[str, Any]], serial: str | None) -> dict[str, Any] | None:
    """The chosen meter (the first when none or an unknown one is asked for)."""
    for meter in meters:
        if meter["serial"] == serial:
            return meter
    return meters[0] if meters else None


def _typed(zones: int) -> list[str]:
    """The numbers as typed, one per zone, spaces dropped (``12 345`` is 12345)."""
    return [re.sub(r"\s+", "", request.values.get(f"value_{i}", "")) for i in range(zones)]


def _required(typed: list[str], labels: tuple[str, ...]) -> FormErrors:
    """An empty zone is named here, so the API's «целое число» is not the answer to it."""
    errors = FormErrors()
    for i, text in enumerate(typed):
        if not text:
            errors[f"value_{i}"] = (f"Введите показания «{labels[i]}»" if len(typed) > 1
                                    else "Введите показания счётчика")
    return errors


def _api_values(typed: list[str]) -> list[Any]:
    """Digits as numbers; anything else as typed, for the API to say what is wrong."""
    return [int(text) if text.isdigit() else text for text in typed]


def _form_errors(exc: ApiError, zones: int, extra: set[str] = frozenset()) -> FormErrors:
    """The API's refusal by zone input; a failure of the system itself → the error page."""
    if exc.status >= 500 and not exc.fields:
        raise exc
    known = {f"value_{i}" for i in range(zones)} | set(extra)
    errors = errors_from(exc, aliases={**_value_aliases(zones), **CAPTCHA_ALIASES},
                         known=known)
    if exc.status == 429 and exc.retry_after:
        errors.general = (errors.general or exc.message) + \
            f" (повторить можно через {max(1, exc.retry_after // 60)} мин)"
    return errors


def _status(exc: ApiError) -> int:
    return exc.status if 400 <= exc.status < 500 else 422


def _zone_rows(labels: tuple[str, ...], entered: list[Any], used: list[int] | None
               ) -> list[dict[str, Any]]:
    return [{"label": label, "value": entered[i] if i < len(entered) else None,
             "used": used[i] if used and i < len(used) else None}
            for i, label in enumerate(labels)]


def _page(account: dict[str, Any], accounts: list[dict[str, Any]], meters: list[dict[str, Any]],
          meter: dict[str, Any] | None, typed: list[str] | None = None,
          errors: FormErrors | None = None, photo: dict[str, Any] | None = None,
          photo_id: str = "", status: int = 200) -> tuple[str, int]:
    """The form of ПЕРЕДАЧА ПОКАЗАНИЙ for one meter of one account."""
    labels = zone_labels(meter["zones"]) if meter else ()
    return render_template(
        "readings/form.html", account=account, accounts=accounts, meters=meters, meter=meter,
        labels=labels, typed=typed or [""] * len(labels), errors=shown(errors),
        photo=photo, photo_id=photo_id, window=_window(), statuses=READING_STATUSES), status


# ---- choosing the account --------------------------------------------------------------

@bp.get("/readings")
@login_required
def index() -> Any:
    """«Передать показания»: straight to the form when there is one account, else a choice."""
    accounts = _accounts()
    if len(accounts) == 1 and not request.args.get("choose"):
        return redirect(url_for("readings.account", account_id=accounts[0]["id"]))
    return render_template("readings/choose.html", accounts=accounts)


@bp.get("/readings/<int:account_id>")
@login_required
def account(account_id: int) -> Any:
    """The form; ``?meter=`` picks a meter, ``value_N`` and ``photo_id`` come back from
    «Изменить» on the confirmation page."""
    acc, accounts = _account(account_id)
    meters = web_session.call("GET", f"/accounts/{account_id}/meters") or []
    meter = _meter(meters, request.args.get("meter"))
    typed = _typed(meter["zones"]) if meter else None
    return _page(acc, accounts, meters, meter, typed, photo_id=request.args.get("photo_id", ""))


# ---- «Проверить» and «Передать» ---------------------------------------------------------

def _posted(account_id: int) -> tuple[dict[str, Any], list[dict[str, Any]],
                                      list[dict[str, Any]], dict[str, Any]]:
    acc, accounts = _account(account_id)
    meters = web_session.call("GET", f"/accounts/{account_id}/meters") or []
    meter = _meter(meters, request.form.get("meter_serial"))
    if meter is None:
        abort(404)
    return acc, accounts, meters, meter


def _confirm_page(acc: dict[str, Any], meter: dict[str, Any], typed: list[str],
                  preview: dict[str, Any], photo_id: str, errors: FormErrors | None = None,
                  status: int = 200) -> tuple[str, int]:
    labels = zone_labels(meter["zones"])
    return render_template(
        "readings/confirm.html", account=acc, meter=meter, labels=labels, typed=typed,
        preview=preview, rows=_zone_rows(labels, preview["values"], preview["consumption"]),
        photo_id=photo_id, errors=shown(errors),
        back=url_for("readings.account", account_id=acc["id"], meter=meter["serial"],
                     photo_id=photo_id or None,
                     **{f"value_{i}": v for i, v in enumerate(typed)})), status


@bp.post("/readings/<int:account_id>/check")
@login_required
def check(account_id: int) -> Any:
    """«Проверить»: the confirmation page with consumption, estimate and warning."""
    acc, accounts, meters, meter = _posted(account_id)
    labels = zone_labels(meter["zones"])
    typed, photo_id = _typed(meter["zones"]), request.form.get("photo_id", "")
    errors = _required(typed, labels)
    if errors:
        return _page(acc, accounts, meters, meter, typed, errors, photo_id=photo_id, status=422)
    try:
        preview = web_session.call("POST", f"/accounts/{account_id}/readings/preview", json={
            "meter_serial": meter["serial"], "values": _api_values(typed)})
    except ApiError as exc:
        return _page(acc, accounts, meters, meter, typed, _form_errors(exc, meter["zones"]),
                     photo_id=photo_id, status=_status(exc))
    return _confirm_page(acc, meter, typed, preview, photo_id)


@bp.post("/readings/<int:account_id>/live")
@login_required
def live(account_id: int) -> str:
    """The preview under the form as the customer types (htmx): always 200, so htmx swaps
    it in; an error of the numbers is shown in the preview box."""
    meters = web_session.call("GET", f"/accounts/{account_id}/meters") or []
    meter = _meter(meters, request.form.get("meter_serial"))
    if meter is None:
        return ""
    labels = zone_labels(meter["zones"])
    typed = _typed(meter["zones"])
    if not all(typed):
        return render_template("readings/_live.html", preview=None, messages=None)
    try:
        preview = web_session.call("POST", f"/accounts/{account_id}/readings/preview", json={
            "meter_serial": meter["serial"], "values": _api_values(typed)})
    except ApiError as exc:
        if exc.status >= 500:
            return ""  # the customer can still press «Проверить»
        errors = errors_from(exc, aliases=_value_aliases(meter["zones"]))
        messages = [(f"{labels[int(name[6:])]}: " if len(labels) > 1 and name[6:].isdigit()
                     else "") + text for name, text in errors.items()]
        return render_template("readings/_live.html", preview=None,
                               messages=messages or [errors.general or exc.message])
    return render_template(
        "readings/_live.html", preview=preview, messages=None,
        rows=_zone_rows(labels, preview["values"], preview["consumption"]),
        confirmed=checked("confirm"))


@bp.post("/readings/<int:account_id>/send")
@login_required
def send(account_id: int) -> Any:
    """«Передать»: the reading is stored; the result page shows its status."""
    acc, accounts, meters, meter = _posted(account_id)
    labels = zone_labels(meter["zones"])
    typed, photo_id = _typed(meter["zones"]), request.form.get("photo_id", "")
    errors = _required(typed, labels)
    if errors:
        return _page(acc, accounts, meters, meter, typed, errors, photo_id=photo_id, status=422)
    body: dict[str, Any] = {"meter_serial": meter["serial"], "values": _api_values(typed),
                            "confirm": checked("confirm")}
    if photo_id:
        body["photo_id"] = photo_id
    try:
        sent = web_session.call("POST", f"/accounts/{account_id}/readings", json=body,
                                idempotency_key=form_key())
    except ApiError as exc:
        if exc.status >= 500:  # the form again, with its key: sending again stores it once
            return _page(acc, accounts, meters, meter, typed, errors_from(exc, known=set()),
                         photo_id=photo_id, status=exc.status)
        if "confirm" in exc.fields:
            # A consumption far above the usual: the confirmation page asks to confirm it.
            preview = web_session.call("POST", f"/accounts/{account_id}/readings/preview",
                                       json={"meter_serial": meter["serial"],
                                             "values": _api_values(typed)})
            errors = FormErrors(confirm="Подтвердите, что показания верны, или исправьте их")
            return _confirm_page(acc, meter, typed, preview, photo_id, errors, 422)
        if "photo_id" in exc.fields:  # the photo is gone or used: submit without it
            photo_id = ""
        return _page(acc, accounts, meters, meter, typed, _form_errors(exc, meter["zones"]),
                     photo_id=photo_id, status=_status(exc))
    flash("Показания переданы. Спасибо!", "success")
    return redirect(url_for("readings.sent", account_id=account_id, reading_id=sent["id"]))


@bp.get("/readings/<int:account_id>/sent/<int:reading_id>")
@login_required
def sent(account_id: int, reading_id: int) -> Any:
    """The submitted reading as the history keeps it: status, values, consumption."""
    acc, _ = _account(account_id)
    reading = paging.find(f"/accounts/{account_id}/readings", lambda r: r["id"] == reading_id)
    if reading is None:
        abort(404)
    return render_template(
        "readings/sent.html", account=acc, meter={"serial": reading["meter_serial"]},
        reading=reading,
        rows=_zone_rows(zone_labels(reading["zones"]), reading["values"], reading["consumption"]),
        total=sum(reading["consumption"]) if reading["consumption"] else None,
        status=READING_STATUSES.get(reading["status"], (reading["status"], "neutral")),
        reason=READING_REJECT_REASONS.get(reading.get("reason") or "", reading.get("reason")),
        source=READING_SOURCES.get(reading["source"], reading["source"]))


# ---- «Прикрепить фото квитанции» --------------------------------------------------------

def _photo_error(account_id: int, message: str, status: int) -> tuple[str, int]:
    acc, accounts = _account(account_id)
    meters = web_session.call("GET", f"/accounts/{account_id}/meters") or []
    meter = _meter(meters, request.args.get("meter"))
    return _page(acc, accounts, meters, meter, errors=FormErrors(photo=message), status=status)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Any:
    """A file above the cabinet's own limit: the message by the file field, not a bare 413."""
    account_id = (request.view_args or {}).get("account_id")
    if request.endpoint == "readings.photo" and account_id and web_session.signed_in():
        return _photo_error(account_id, PHOTO_REASONS["too_large"], 413)
    return render_template("error.html", status=413, message="Файл слишком большой."), 413


@bp.post("/readings/<int:account_id>/photo")
@login_required
def photo(account_id: int) -> Any:
    """The bill photo is handed to the API, which takes it at once as a job (202): the page
    of that job follows, «Распознаём фото…» until an OCR worker has read it."""
    upload = request.files.get("photo")
    raw = upload.read(MAX_PHOTO_BYTES + 1) if upload and upload.filename else b""
    if not raw:
        return _photo_error(account_id, "Выберите фото квитанции", 422)
    if len(raw) > MAX_PHOTO_BYTES:
        return _photo_error(account_id, PHOTO_REASONS["too_large"], 413)
    try:
        job = web_session.call("POST", f"/accounts/{account_id}/readings/photo", json={
            "image_base64": base64.b64encode(raw).decode("ascii")}, idempotency_key=form_key())
    except ApiError as exc:
        if exc.status >= 500:
            return _photo_error(account_id, exc.message, exc.status)
        reason = exc.field_codes.get("image_base64") or exc.fields.get("image_base64", "")
        message = PHOTO_REASONS.get(reason) or (PHOTO_REASONS["too_large"] if exc.status == 413
                                                else exc.message)
        return _photo_error(account_id, message, _status(exc))
    renew_form_key()  # another photo is another request
    return redirect(url_for("readings.photo_job", account_id=account_id, job_id=job["job_id"],
                            meter=request.args.get("meter") or None))


def _from_photo(read: dict[str, Any] | None, zones: int) -> dict[str, Any]:
    """One meter's values read off the photo → the form: only ``sure`` values prefilled;
    ``check`` ones offered as «Проверьте: …?»; the rest left to type."""
    values = list((read or {}).get("values") or [])
    typed, suggest, unsure = [], {}, []
    for i in range(zones):
        item = values[i] if i < len(values) else None
        value = str(item["value"]) if item and item.get("value") is not None else ""
        state = item["state"] if item else "not_found"
        typed.append(value if state == "sure" and value.isdigit() else "")
        if state == "check" and value.isdigit():
            suggest[i] = value
        elif state != "sure" or not value.isdigit():
            unsure.append(i)
    serial = (read or {}).get("serial") or {}
    return {"typed": typed, "suggest": suggest, "unsure": unsure, "serial": serial.get("value"),
            # the row may be matched to the meter with its number misread: say so
            "matches_meter": serial.get("state") == "sure"}


@bp.get("/readings/<int:account_id>/photo/<job_id>")
@login_required
def photo_job(account_id: int, job_id: str) -> Any:
    """The photo's job: «Распознаём фото…» (htmx asks again every second and reloads the page
    when it is read; without JavaScript «Обновить»), then the form filled from it, one block
    per meter of the account found on the photo."""
    try:
        job = web_session.call("GET", f"/accounts/{account_id}/readings/photo/{job_id}")
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return _photo_error(account_id, "Фото не найдено или больше не хранится: загрузите его "
                            "снова", 404)
    waiting = job["status"] in ("queued", "running")
    if request.headers.get("HX-Request"):
        if not waiting:
            response = Response("", 200)
            response.headers["HX-Refresh"] = "true"  # the whole page: the form, filled
            return response
        return render_template("readings/_photo_wait.html", account_id=account_id, job=job)
    acc, accounts = _account(account_id)
    meters = web_session.call("GET", f"/accounts/{account_id}/meters") or []
    if waiting:
        return render_template("readings/photo_wait.html", account=acc, job=job)
    if job["status"] == "failed":
        meter = _meter(meters, request.args.get("meter"))
        return _page(acc, accounts, meters, meter,
                     errors=FormErrors(photo=job["reason"] or "Не удалось распознать фото"),
                     status=422)
    result = job["result"] or {}
    read = {m["meter_serial"]: m for m in result.get("meters", []) if m.get("meter_serial")}
    ours = [m for m in meters if m["serial"] in read]
    meter = _meter(meters, request.args.get("meter") if not ours else
                   (request.args.get("meter") if request.args.get("meter") in read
                    else ours[0]["serial"]))
    if meter is None:
        return _page(acc, accounts, meters, meter)
    found = read.get(meter["serial"]) or next(iter(result.get("meters") or []), None)
    mine = _from_photo(found, meter["zones"])
    number = (result.get("account_number") or {}).get("value")
    report = {**mine, "matches_account": result.get("matches_account"), "number": number,
              "seconds": result.get("seconds"),
              # the other meters of the account on the same photo: a form block each
              "others": [{"meter": m, "labels": zone_labels(m["zones"]),
                          **_from_photo(read[m["serial"]], m["zones"])}
                         for m in ours if m["serial"] != meter["serial"]]}
    return _page(acc, accounts, meters, meter, mine["typed"], photo=report,
                 photo_id=job["photo_id"])


# ---- quick submission without signing in -----------------------------------------------

QUICK_FIELDS = ("number", "branch", "serial", "captcha")


def _branches() -> list[tuple[str, str]]:
    data = web_session.public_call("GET", "/accounts/branches") or {}
    return [(b["code"], b["name"]) for b in data.get("branches", [])]


def _quick_page(form: dict[str, str], typed: list[str], errors: FormErrors | None = None,
                status: int = 200) -> tuple[str, int]:
    return render_template(
        "readings/quick.html", form=form, typed=typed, errors=shown(errors),
        branches=_branches(), captcha=web_session.public_call("POST", "/auth/captcha"),
        labels=("Т1 — день (или однотарифный счётчик)", "Т2 — ночь", "Т3 — полупик"),
        window=_window()), status


@bp.get("/readings/quick")
def quick() -> Any:
    """Передать показания без входа: the account and meter from the bill, and a captcha."""
    return _quick_page({}, ["", "", ""])


@bp.post("/readings/quick")
def quick_send() -> Any:
    form = values(*QUICK_FIELDS)
    typed = [re.sub(r"\s+", "", request.form.get(f"value_{i}", "")) for i in range(3)]
    if request.form.get("captcha_refresh"):  # «Обновить картинку» without JavaScript
        return _quick_page(form, typed)
    # The serial as printed («100091150 2333»); its last 4 digits are the proof of the bill.
    serial = re.sub(r"[\s-]", "", form["serial"])
    errors = FormErrors()
    if not typed[0]:
        errors["value_0"] = "Введите показания счётчика"
    if typed[2] and not typed[1]:
        errors["value_1"] = "Введите показания «Т2 — ночь»"
    if errors:
        return _quick_page(form, typed, errors, 422)
    given = typed[:3 if typed[2] else 2 if typed[1] else 1]
    body = {"number": form["number"], "branch": form["branch"], "proof": serial[-4:],
            "meter_serial": serial, "values": _api_values(given), "confirm": checked("confirm"),
            "captcha_id": request.form.get("captcha_id", ""), "captcha_answer": form["captcha"]}
    try:
        sent = web_session.public_call("POST", "/readings/quick", json=body,
                                       idempotency_key=form_key())
    except ApiError as exc:
        # The proof and the serial are one field here: the serial as the bill prints it.
        errors = _form_errors(exc, 3, extra={"number", "branch", "serial", "captcha",
                                             "confirm", "proof", "meter_serial"})
        for api_field in ("proof", "meter_serial"):
            if api_field in errors:
                errors["serial"] = errors.pop(api_field)
        # A picture is spent on every try, so a new one comes with the form.
        return _quick_page(form, typed, errors, _status(exc))
    session[QUICK_RESULT] = {
        "number": form["number"], "serial": sent["meter_serial"], "period": sent["period"],
        "values": sent["values"], "consumption": sent["consumption"], "status": sent["status"]}
    flash("Показания переданы. Спасибо!", "success")
    return redirect(url_for("readings.quick_sent"))


@bp.get("/readings/quick/sent")
def quick_sent() -> Any:
    result = session.get(QUICK_RESULT)
    if not result:
        return redirect(url_for("readings.quick"))
    labels = zone_labels(len(result["values"]))
    return render_template(
        "readings/quick_sent.html", result=result,
        rows=_zone_rows(labels, result["values"], result["consumption"]),
        total=sum(result["consumption"]) if result["consumption"] else None,
        status=READING_STATUSES.get(result["status"], (result["status"], "neutral")))
