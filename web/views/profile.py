"""РАЗДЕЛ «ПРОФИЛЬ» (рис. 17–18): the side tabs «Основная анкета», «Расширенная анкета»,
«Личные предпочтения», «Контактная информация», «Параметры авторизации» and «Изменить фото»;
the page behind the link that confirms a new e-mail; the header's photo.

Every check (names in Cyrillic, СНИЛС, ИНН, dates, passwords, phones) is the API's; the page
only turns the API's answer into Russian words next to the field it concerns.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

from flask import (Blueprint, Response, flash, redirect, render_template, request, session,
                   url_for)

from web import session as web_session
from web.api import ApiError
from web.forms import FormErrors, checked, errors_from, values
from web.session import LoginRequired, call, login_required, public_call

bp = Blueprint("profile", __name__)
STATIC_AVATAR = Path(__file__).resolve().parent.parent / "static" / "avatar.svg"
PHOTO_MAX_MB = 5

# The side tabs, in the manual's order; «Изменить фото» comes last.
TABS = (
    ("basic", "profile.index", "Основная анкета"),
    ("extended", "profile.extended", "Расширенная анкета"),
    ("preferences", "profile.preferences", "Личные предпочтения"),
    ("contacts", "profile.contacts", "Контактная информация"),
    ("security", "profile.security", "Параметры авторизации"),
    ("photo", "profile.photo", "Изменить фото"),
)

GENDERS = [("male", "Мужской"), ("female", "Женский")]
# ISO 3166 codes the API takes, the commonest first; another stored code is shown as is.
CITIZENSHIPS = [("RU", "Российская Федерация"), ("AM", "Армения"), ("AZ", "Азербайджан"),
                ("BY", "Беларусь"), ("GE", "Грузия"), ("KZ", "Казахстан"),
                ("KG", "Киргизия"), ("MD", "Молдова"), ("TJ", "Таджикистан"),
                ("TM", "Туркмения"), ("UZ", "Узбекистан"), ("UA", "Украина"),
                ("AB", "Абхазия"), ("OS", "Южная Осетия")]

BASIC_FIELDS = ("last_name", "last_name_latin", "first_name", "first_name_latin", "gender",
                "middle_name", "nickname", "birth_date", "citizenship")
EXTENDED_FIELDS = ("birth_place", "snils", "inn", "household_size")
PREFERENCE_FIELDS = ("notify_sms", "notify_email", "reading_reminders")

# What to tell a person when the API refuses a field (its own details are for programmers).
_CYRILLIC = "должно содержать только русские буквы, пробел или дефис (до 60 знаков)"
_LATIN = "должно содержать только латинские буквы, пробел, дефис или апостроф (до 60 знаков)"
FIELD_MESSAGES: dict[str, str | Callable[[str], str]] = {
    "last_name": "Фамилия " + _CYRILLIC.replace("должно", "должна"),
    "first_name": "Имя " + _CYRILLIC,
    "middle_name": "Отчество " + _CYRILLIC,
    "last_name_latin": "Фамилия латиницей " + _LATIN.replace("должно", "должна"),
    "first_name_latin": "Имя латиницей " + _LATIN,
    "gender": "Выберите пол из списка",
    "nickname": "Псевдоним — не длиннее 40 знаков",
    "birth_date": lambda detail: (
        "Дата рождения должна быть в прошлом: возраст от 14 до 120 лет" if "age" in detail
        else "Введите дату рождения в формате ДД.ММ.ГГГГ, например 05.03.1980"),
    "citizenship": "Выберите гражданство из списка",
    "birth_place": "Место рождения — не длиннее 200 знаков",
    "snils": "Проверьте СНИЛС: 11 цифр, последние две — контрольное число, "
             "например 112-233-445 95",
    "inn": "Проверьте ИНН: 10 или 12 цифр с верными контрольными цифрами",
    "household_size": "Число проживающих — целое число от 1 до 30",
}


def shown_phone(phone: str | None) -> str:
    """``+79181234567`` → ``+7 918 123-45-67`` (as people write it)."""
    if phone and re.fullmatch(r"\+7\d{10}", phone):
        return f"+7 {phone[2:5]} {phone[5:8]}-{phone[8:10]}-{phone[10:]}"
    return phone or ""


def _tabs() -> list[tuple[str, str, str]]:
    return [(key, url_for(endpoint), label) for key, endpoint, label in TABS]


def _render(template: str, current: str, status: int = 200, **context: Any) -> tuple[str, int]:
    context.setdefault("errors", FormErrors())
    titles = {key: label for key, _, label in TABS}
    return render_template(template, tabs=_tabs(), current=current, tab_title=titles[current],
                           shown_phone=shown_phone, **context), status


def _profile() -> dict[str, Any]:
    return call("GET", "/profile")


def _field_errors(exc: ApiError, order: tuple[str, ...]) -> FormErrors:
    """The API's refusal of an anketa as a Russian message by each field, in the order the
    fields stand on the page (so the summary at the top reads top to bottom)."""
    found = errors_from(exc, known=set(order))
    errors = FormErrors()
    errors.general = found.general
    for name in sorted(found, key=order.index):
        wording = FIELD_MESSAGES.get(name)
        detail = exc.field_codes.get(name) or exc.fields.get(name, "")  # as the service said
        if callable(wording):
            errors[name] = wording(detail)
        elif wording and not re.search(r"[А-Яа-яЁё]", detail or ""):
            errors[name] = wording
        else:
            errors[name] = found[name]
    return errors


def _ru_to_iso(text: str) -> str:
    """``05.03.1980`` → ``1980-03-05``; anything else goes to the API as typed (it says
    what is wrong)."""
    try:
        return datetime.strptime(text, "%d.%m.%Y").date().isoformat()
    except ValueError:
        return text


def _iso_to_ru(value: str | None) -> str:
    try:
        return date.fromisoformat(value).strftime("%d.%m.%Y") if value else ""
    except ValueError:
        return value or ""


def _save_tab(tab: str, body: dict[str, Any], order: tuple[str, ...]) -> FormErrors | None:
    """PUT one anketa tab; None when saved, else the errors by field."""
    try:
        call("PUT", f"/profile/{tab}", json=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        return _field_errors(exc, order)
    return None


# ---- Основная анкета -----------------------------------------------------------------------

@bp.route("/profile", methods=["GET", "POST"])
@login_required
def index() -> Any:
    """Основная анкета: ФИО (and in Latin letters), пол, псевдоним, дата рождения,
    гражданство; the mobile phone as registered (changed under «Параметры авторизации»)."""
    profile = _profile()
    errors = FormErrors()
    form = dict(profile["basic"])
    form["birth_date"] = _iso_to_ru(form.get("birth_date"))
    if request.method == "POST":
        form = values(*BASIC_FIELDS)
        body: dict[str, Any] = {name: (form[name] or None) for name in BASIC_FIELDS}
        if body["birth_date"]:
            body["birth_date"] = _ru_to_iso(body["birth_date"])
        if body["citizenship"]:
            body["citizenship"] = body["citizenship"].upper()
        failed = _save_tab("basic", body, BASIC_FIELDS)
        if failed is None:
            flash("Основная анкета сохранена.", "success")
            return redirect(url_for("profile.index"))
        errors = failed
    citizenships = list(CITIZENSHIPS)
    if form.get("citizenship") and form["citizenship"] not in dict(citizenships):
        citizenships.append((form["citizenship"], form["citizenship"]))
    return _render("profile/basic.html", "basic", 422 if errors or errors.general else 200,
                   form=form, errors=errors, genders=GENDERS, citizenships=citizenships,
                   mobile_phone=profile["contacts"].get("mobile_phone"))


# ---- Расширенная анкета --------------------------------------------------------------------

@bp.route("/profile/extended", methods=["GET", "POST"])
@login_required
def extended() -> Any:
    """Расширенная анкета: место рождения, СНИЛС, ИНН, число проживающих."""
    errors = FormErrors()
    if request.method == "POST":
        form = values(*EXTENDED_FIELDS)
        body: dict[str, Any] = {name: (form[name] or None) for name in EXTENDED_FIELDS}
        if body["household_size"]:
            size = body["household_size"]
            body["household_size"] = int(size) if size.isdigit() else size
        if body["inn"]:
            body["inn"] = re.sub(r"\s", "", body["inn"])
        failed = _save_tab("extended", body, EXTENDED_FIELDS)
        if failed is None:
            flash("Расширенная анкета сохранена.", "success")
            return redirect(url_for("profile.extended"))
        errors = failed
    else:
        form = {k: ("" if v is None else v) for k, v in _profile()["extended"].items()}
        if len(form.get("snils") or "") == 11:  # shown as printed on the card
            s = form["snils"]
            form["snils"] = f"{s[:3]}-{s[3:6]}-{s[6:9]} {s[9:]}"
    return _render("profile/extended.html", "extended",
                   422 if errors or errors.general else 200, form=form, errors=errors)


# ---- Личные предпочтения -------------------------------------------------------------------

@bp.route("/profile/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> Any:
    """Личные предпочтения: how to be told of bills and news, reminders to send readings."""
    errors = FormErrors()
    if request.method == "POST":
        form = {name: checked(name) for name in PREFERENCE_FIELDS}
        failed = _save_tab("preferences", form, PREFERENCE_FIELDS)
        if failed is None:
            flash("Личные предпочтения сохранены.", "success")
            return redirect(url_for("profile.preferences"))
        errors = failed
    else:
        form = _profile()["preferences"]
    return _render("profile/preferences.html", "preferences",
                   422 if errors or errors.general else 200, form=form, errors=errors)


# ---- Контактная информация -----------------------------------------------------------------

def _phones(text: str) -> list[str]:
    """Numbers typed one per line or separated by commas or semicolons."""
    return [p.strip() for p in re.split(r"[,;\n]+", text) if p.strip()]


@bp.route("/profile/contacts", methods=["GET", "POST"])
@login_required
def contacts() -> Any:
    """Контактная информация: e-mail (a new one is confirmed by a link in a letter to it),
    extra phones, postal address."""
    contact = _profile()["contacts"]
    errors = FormErrors()
    form = {"email": contact.get("email") or "", "postal_address":
            contact.get("postal_address") or "",
            "extra_phones": ", ".join(contact.get("extra_phones") or [])}
    if request.method == "POST":
        form = values("email", "extra_phones", "postal_address")
        body: dict[str, Any] = {"extra_phones": _phones(form["extra_phones"])}
        # Only a changed address is sent: the API writes to it to have it confirmed.
        if form["email"] and form["email"].lower() not in (
                (contact.get("email") or "").lower(), (contact.get("pending_email") or "").lower()):
            body["email"] = form["email"]
        if form["postal_address"] or contact.get("postal_address"):
            body["postal_address"] = form["postal_address"]
        try:
            answer = call("PUT", "/profile/contacts", json=body)
        except ApiError as exc:
            if exc.status >= 500 or exc.status in (401, 403):
                raise
            errors = errors_from(exc, known={"email", "extra_phones", "postal_address"})
        else:
            flash("Контактная информация сохранена.", "success")
            if answer.get("message"):
                flash(answer["message"] + f": {body['email']}.", "info")
            return redirect(url_for("profile.contacts"))
    return _render("profile/contacts.html", "contacts", 422 if errors or errors.general else 200,
                   form=form, errors=errors, contact=contact)


def _confirm_link(kind: str, api_path: str, tab: str) -> Any:
    """The page of a link from a letter (``kind``: "contact" for the bills' address, "login"
    for the login address). Opening it confirms nothing (mail scanners open links): the page
    holds a button «Подтвердить адрес», pressed by profile.js at once; its POST asks the
    API. No session needed: the token is the proof."""
    token = (request.values.get("token") or "").strip()
    page = "profile/email_confirm.html"
    if request.method == "GET":
        return render_template(page, kind=kind, token=token, auto=bool(token))
    try:
        answer = public_call("POST", api_path, json={"token": token})
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return render_template(page, kind=kind, token="", auto=False,
                               failure=exc.message or "Ссылка недействительна"), exc.status
    flash(f"{answer.get('message', 'Адрес электронной почты подтверждён')}: "
          f"{answer.get('email', '')}.", "success")
    if web_session.signed_in():
        return redirect(url_for(tab))
    return redirect(url_for("profile.email_confirmed", kind=kind))


@bp.route("/profile/email/confirm", methods=["GET", "POST"])
def confirm_email() -> Any:
    """The link from the letter that confirms a new address for bills (Контактная
    информация)."""
    return _confirm_link("contact", "/profile/email/confirm", "profile.contacts")


@bp.route("/profile/login-email/confirm", methods=["GET", "POST"])
def confirm_login_email() -> Any:
    """The link from the letter to a new login address (Параметры авторизации)."""
    return _confirm_link("login", "/auth/email/change/confirm", "profile.security")


@bp.get("/profile/email/confirmed")
def email_confirmed() -> str:
    """Where a confirmation without a session lands: the message and the way in."""
    kind = "login" if request.args.get("kind") == "login" else "contact"
    return render_template("profile/email_confirm.html", kind=kind, token="", auto=False,
                           done=True)


# ---- Параметры авторизации -----------------------------------------------------------------

def _security(errors: FormErrors | None = None, form: dict[str, str] | None = None,
              status: int = 200) -> tuple[str, int]:
    me = call("GET", "/auth/me")
    # The address for letters is the profile's (confirmed under «Контактная информация»).
    contact_email = _profile()["contacts"].get("email") or me.get("email")
    return _render("profile/security.html", "security", status, me=me,
                   contact_email=contact_email,
                   errors=errors or FormErrors(), form=form or {})


@bp.get("/profile/security")
@login_required
def security() -> Any:
    """Параметры авторизации (рис. 18): «Изменить пароль»; «Мобильный телефон и электронный
    адрес»; the customer's data: «Выгрузить мои данные», «Удалить учётную запись»."""
    return _security()


@bp.post("/profile/security/password")
@login_required
def change_password() -> Any:
    """Старый пароль, новый дважды; other sessions end, this one stays."""
    body = {name: request.form.get(name, "") for name in
            ("old_password", "new_password", "new_password_confirmation")}
    try:
        call("POST", "/auth/password/change", json=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        errors = errors_from(exc, known=set(body))
        return _security(errors, status=422 if exc.status < 500 else exc.status)
    flash("Пароль изменён. На других устройствах войдите с новым паролем.", "success")
    return redirect(url_for("profile.security"))


@bp.post("/profile/security/email")
@login_required
def change_login_email() -> Any:
    """«E-mail для входа»: the new address and the current password; a link goes to the new
    address, and the login address changes only when it is followed."""
    form = values("new_email")
    body = {"new_email": form["new_email"], "password": request.form.get("email_password", "")}
    try:
        answer = call("POST", "/auth/email/change", json=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        errors = errors_from(exc, aliases={"password": "email_password"},
                             known={"new_email", "email_password"})
        return _security(errors, form, status=exc.status if exc.status == 429 else 422)
    flash(f"{answer['message']}. Письмо отправлено на {answer['email']}.", "info")
    return redirect(url_for("profile.security"))


@bp.post("/profile/security/phone")
@login_required
def change_phone() -> Any:
    """«Подтвердить через SMS»: a code goes to the new number."""
    form = values("new_phone")
    try:
        challenge = call("POST", "/auth/phone/change", json={"new_phone": form["new_phone"]})
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        errors = errors_from(exc, known={"new_phone"})
        if exc.status == 429:
            errors = FormErrors(new_phone=exc.message + (
                f" (повторить можно через {exc.retry_after} с)" if exc.retry_after else ""))
        return _security(errors, form, status=exc.status if exc.status == 429 else 422)
    session["phone_change"] = {"verification_id": challenge["verification_id"],
                               "phone": challenge.get("phone", ""),
                               "new_phone": form["new_phone"]}
    return redirect(url_for("profile.confirm_phone"))


@bp.route("/profile/security/phone/confirm", methods=["GET", "POST"])
@login_required
def confirm_phone() -> Any:
    """«Введите код из SMS» for the new number."""
    pending = session.get("phone_change")
    if not pending:
        return redirect(url_for("profile.security"))
    errors = FormErrors()
    if request.method == "POST":
        code = (request.form.get("code") or "").strip()
        try:
            call("POST", "/auth/phone/change/confirm",
                 json={"verification_id": pending["verification_id"], "code": code})
        except ApiError as exc:
            if exc.status >= 500 or exc.status in (401, 403):
                raise
            errors = errors_from(exc, aliases={"verification_id": "code", "new_phone": "code"},
                                 known={"code"})
            if exc.status in (404, 410):  # the code is spent or too old: start again
                session.pop("phone_change", None)
                flash(exc.message + ". Запросите новый код.", "error")
                return redirect(url_for("profile.security"))
        else:
            session.pop("phone_change", None)
            flash("Номер телефона изменён. Входите в личный кабинет с новым номером.", "success")
            return redirect(url_for("profile.security"))
    return _render("profile/phone_code.html", "security",
                   422 if errors or errors.general else 200, pending=pending, errors=errors)


@bp.get("/profile/security/export")
@login_required
def export() -> Response:
    """«Выгрузить мои данные»: what auth keeps (and the questionnaires) as one JSON file."""
    data = {"auth": call("GET", "/auth/me/export"), "profile": _profile()}
    name = f"nesk-moi-dannye-{date.today().isoformat()}.json"
    return Response(json.dumps(data, ensure_ascii=False, indent=2),
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/profile/security/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> Any:
    """«Удалить учётную запись»: what happens, then the password to confirm."""
    errors = FormErrors()
    if request.method == "POST":
        try:
            call("POST", "/auth/me/delete", json={"password": request.form.get("password", "")})
        except ApiError as exc:
            if exc.status >= 500 or exc.status in (401, 403):
                raise
            errors = errors_from(exc, known={"password"})
        else:
            session.clear()  # the API has ended every session already
            flash("Учётная запись удалена. Спасибо, что пользовались личным кабинетом.",
                  "success")
            return redirect(url_for("auth.login"))
    return _render("profile/delete.html", "security", 422 if errors or errors.general else 200,
                   errors=errors)


# ---- Изменить фото -------------------------------------------------------------------------

@bp.route("/profile/photo", methods=["GET", "POST"])
@login_required
def photo() -> Any:
    """«Изменить фото»: JPEG or PNG up to 5 MB; see it, replace it, delete it."""
    errors = FormErrors()
    if request.method == "POST":
        upload = request.files.get("photo")
        raw = upload.read() if upload and upload.filename else b""
        if not raw:
            errors = FormErrors(photo="Выберите фото: файл JPEG или PNG")
        else:
            try:
                call("PUT", "/profile/photo",
                     json={"image_base64": base64.b64encode(raw).decode()})
            except ApiError as exc:
                if exc.status >= 500 or exc.status in (401, 403):
                    raise
                errors = errors_from(exc, aliases={"image_base64": "photo"}, known={"photo"})
                if exc.status == 413 or (not errors and not errors.general):
                    errors = FormErrors(photo=f"Фото больше {PHOTO_MAX_MB} МБ")
            else:
                session["photo_version"] = int(time.time())  # the header shows the new one
                flash("Фото сохранено.", "success")
                return redirect(url_for("profile.photo"))
    has_photo = _profile().get("has_photo", False)
    return _render("profile/photo.html", "photo", 422 if errors or errors.general else 200,
                   errors=errors, has_photo=has_photo, max_mb=PHOTO_MAX_MB)


@bp.post("/profile/photo/delete")
@login_required
def delete_photo() -> Any:
    call("DELETE", "/profile/photo")
    session["photo_version"] = int(time.time())
    flash("Фото удалено.", "success")
    return redirect(url_for("profile.photo"))


@bp.get("/me/photo")
@login_required
def photo_image() -> Any:
    """The header's photo: the customer's own, or a neutral silhouette (never an error
    picture: the header must look whole whatever the API says)."""
    try:
        answer = call("GET", "/profile/photo")
        image = base64.b64decode(answer["image_base64"], validate=True)
    except (ApiError, LoginRequired, KeyError, TypeError, binascii.Error, ValueError):
        response = Response(STATIC_AVATAR.read_bytes(), mimetype="image/svg+xml")
    else:
        response = Response(image, mimetype=answer.get("content_type") or "image/jpeg")
    # A few minutes in the browser's own cache; a new photo changes the URL (?v=).
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
