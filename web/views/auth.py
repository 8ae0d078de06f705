"""Вход, Выход, Регистрация (по телефону и по e-mail), «Забыли пароль?» and the pages the
letters link to (confirm the address, set a new password).

The steps of a flow keep their state (verification id, registration token, masked phone)
in the signed session cookie, never in URLs. Every form that spends a captcha shows a new
picture when it comes back: the API spends a captcha on every try, right or wrong.
"""
from __future__ import annotations

import math
import re
import time
from typing import Any

from flask import (Blueprint, flash, redirect, render_template, request, session,
                   url_for)

from web import session as web_session
from web.api import ApiError
from web.forms import FormErrors, checked, cleaned, errors_from, form_key, values

bp = Blueprint("auth", __name__)

# Session keys of the flows in progress.
REG = "reg_phone"        # {verification_id, phone (masked), resend_at, registration_token}
REG_EMAIL = "reg_email"  # the address the confirmation letter went to
RESET = "reset_phone"    # {verification_id, phone (masked), resend_at}
RESET_EMAIL = "reset_email"

CONSENT_NEEDED = "Необходимо согласие на обработку персональных данных"
# The API's "required" is the same for every field; by a form's field, say what to type.
REQUIRED_TEXT = "Обязательное поле"
REQUIRED = {"phone": "Введите номер телефона", "email": "Введите адрес электронной почты",
            "code": "Введите код из SMS", "password": "Введите пароль",
            "password_confirmation": "Повторите пароль",
            "captcha": "Введите слово на картинке"}
CAPTCHA_ALIASES = {"captcha_answer": "captcha", "captcha_id": "captcha"}
TABS = ("phone", "email")


def safe_next(target: str | None) -> str:
    """Only a path of this site (never //host or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


def _tab() -> str:
    """The chosen tab, «По номеру телефона» unless «По электронной почте» was asked for."""
    return request.values.get("by") if request.values.get("by") in TABS else "phone"


def _wait(seconds: int) -> str:
    """A wait in words: seconds for a cooldown (the API counts them), minutes for a lock."""
    if seconds <= 120:
        return f"{seconds}\u00a0с"
    minutes = (seconds + 59) // 60
    return f"{minutes}\u00a0мин"


def _form_errors(exc: ApiError, known: set[str], aliases: dict[str, str] | None = None,
                 consent_asked: bool = False) -> FormErrors:
    """The API's refusal as form errors; a failure of the system itself goes to the error
    page (an SMS or letter that could not be sent names its field, so it stays here)."""
    if exc.status >= 500 and not exc.fields:
        raise exc
    errors = errors_from(exc, aliases={**CAPTCHA_ALIASES, **(aliases or {})}, known=known)
    _name_required(errors)
    if "consent" in errors or (consent_asked and not checked("consent") and not errors.general):
        # An empty consent is "" to the API (so it checks the passwords first); the box left
        # unchecked is told now too, not after the next try.
        errors["consent"] = CONSENT_NEEDED
    if exc.status == 429 and exc.retry_after:  # a cooldown: say how long
        for name in errors:
            errors[name] += f" (через {_wait(exc.retry_after)})"
    return errors


def _name_required(errors: FormErrors) -> FormErrors:
    """«Обязательное поле» thrice in the summary says nothing: name what to type."""
    for name, text in errors.items():
        if text == REQUIRED_TEXT and name in REQUIRED:
            errors[name] = REQUIRED[name]
    return errors


def _status(exc: ApiError) -> int:
    return exc.status if 400 <= exc.status < 500 else 422


def _new_captcha() -> dict[str, Any]:
    """A fresh picture: {captcha_id, image_png_base64, expires_in}."""
    return web_session.public_call("POST", "/auth/captcha")


def _captcha_fields() -> dict[str, str]:
    return {"captcha_id": request.form.get("captcha_id", ""),
            "captcha_answer": (request.form.get("captcha") or "").strip()}


def _seconds_left(flow: dict[str, Any]) -> int:
    return max(0, math.ceil(flow.get("resend_at", 0) - time.time()))


# ---- Вход, Выход ---------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Вход: tabs «По номеру телефона» and «По электронной почте», password, «Забыли пароль?»."""
    by = _tab()
    target = request.values.get("next")
    if request.method == "GET" and web_session.signed_in():
        return redirect(safe_next(target))
    errors, form, blocked = FormErrors(), {}, ""
    status = 200
    if request.method == "POST":
        form = values("phone", "email", "password")
        body = cleaned({by: form[by], "password": request.form.get("password", "")})
        try:
            tokens = web_session.public_call("POST", "/auth/login", json=body)
        except ApiError as exc:
            if exc.status >= 500:
                raise
            status = _status(exc)
            errors = _name_required(errors_from(exc, known={by, "password"}))
            if exc.status in (423, 429):  # locked or slowed down: no field is wrong
                errors, blocked = FormErrors(), exc.message.rstrip(".") + (
                    f". Повторить можно через {_wait(exc.retry_after)}." if exc.retry_after
                    else ".")
            elif exc.status == 401:  # never tell which of the two was wrong
                errors = FormErrors(password=exc.message)
        else:
            web_session.sign_in(tokens)
            return redirect(safe_next(target))
    return render_template("auth/login.html", by=by, form=form, errors=errors,
                           blocked=blocked, next=target or ""), status


@bp.post("/logout")
def logout() -> Any:
    """Выход: the session ends in auth too."""
    web_session.sign_out()
    flash("Вы вышли из личного кабинета.", "info")
    return redirect(url_for("auth.login"))


# ---- the captcha picture ---------------------------------------------------------------------

@bp.post("/captcha")
def captcha() -> Any:
    """«Обновить картинку» with JavaScript: htmx swaps in this fragment (a new picture and
    its id); without JavaScript the same button submits the form, which comes back with a
    new picture and the values typed so far."""
    return render_template("auth/_captcha.html", captcha=_new_captcha(), errors=FormErrors())


# ---- Регистрация ---------------------------------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    """Регистрация: by phone (phone and captcha → SMS code) or by e-mail (address, password
    twice, consent, captcha → a letter with a link)."""
    by = _tab()
    if request.method == "GET" and web_session.signed_in():
        return redirect(url_for("home.index"))
    errors, form, status = FormErrors(), {}, 200
    consent = _consent()
    if request.method == "POST":
        form = values("phone", "email")
        form["consent"] = "on" if checked("consent") else ""
        if not request.form.get("captcha_refresh"):
            try:
                if by == "phone":
                    return _register_phone(form)
                return _register_email(form, consent["version"])
            except ApiError as exc:
                errors = _form_errors(exc, known={by, "captcha", "password",
                                                  "password_confirmation", "consent"},
                                      aliases={"consent_version": "consent"},
                                      consent_asked=by == "email")
                status = _status(exc)
    return render_template("auth/register.html", by=by, form=form, errors=errors,
                           captcha=_new_captcha(), consent=consent), status


def _register_phone(form: dict[str, str]) -> Any:
    challenge = web_session.public_call("POST", "/auth/register/phone", json=cleaned(
        {"phone": form["phone"], **_captcha_fields()}))
    session[REG] = {"verification_id": challenge["verification_id"],
                    "phone": challenge.get("phone") or form["phone"],
                    "resend_at": time.time() + int(challenge.get("resend_in") or 0)}
    return redirect(url_for("auth.register_code"))


def _register_email(form: dict[str, str], consent_version: str) -> Any:
    answer = web_session.public_call("POST", "/auth/register/email", json={**cleaned({
        "email": form["email"], "password": request.form.get("password", ""),
        "password_confirmation": request.form.get("password_confirmation", ""),
        **_captcha_fields()}), "consent_version": consent_version if form["consent"] else ""})
    session[REG_EMAIL] = answer.get("email") or form["email"]
    return redirect(url_for("auth.register_email_sent"))


@bp.route("/register/code", methods=["GET", "POST"])
def register_code() -> Any:
    """«Введите код из SMS» (рис. 5): the code; a new one after the cooldown."""
    flow = session.get(REG)
    if not flow or not flow.get("verification_id"):
        return redirect(url_for("auth.register"))
    errors, status = FormErrors(), 200
    if request.method == "POST":
        try:
            proof = web_session.public_call("POST", "/auth/register/phone/verify", json=cleaned({
                "verification_id": flow["verification_id"],
                "code": (request.form.get("code") or "").strip()}))
        except ApiError as exc:
            if "verification_id" in exc.fields:  # the challenge is gone: start again
                return _restart(REG, exc.message, "auth.register")
            errors, status = _form_errors(exc, known={"code"}), _status(exc)
        else:
            session[REG] = {**flow, "registration_token": proof["registration_token"]}
            return redirect(url_for("auth.register_password"))
    return render_template("auth/code.html", flow=flow, errors=errors, wait=_seconds_left(flow),
                           resend_url=url_for("auth.register_resend")), status


@bp.post("/register/code/resend")
def register_resend() -> Any:
    """«Отправить код ещё раз» during registration."""
    return _resend(REG, "auth.register_code", "auth.register")


@bp.route("/register/password", methods=["GET", "POST"])
def register_password() -> Any:
    """Пароль и подтверждение пароля, согласие на обработку персональных данных (рис. 6)."""
    flow = session.get(REG)
    if not flow or not flow.get("registration_token"):
        return redirect(url_for("auth.register"))
    consent = _consent()
    errors, form, status = FormErrors(), {}, 200
    if request.method == "POST":
        form = {"consent": "on" if checked("consent") else ""}
        try:
            tokens = web_session.public_call("POST", "/auth/register/phone/complete",
                                             idempotency_key=form_key(), json={
                **cleaned({"registration_token": flow["registration_token"],
                           "password": request.form.get("password", ""),
                           "password_confirmation": request.form.get("password_confirmation",
                                                                     "")}),
                "consent_version": request.form.get("consent_version", consent["version"])
                if form["consent"] else ""})
        except ApiError as exc:
            if "registration_token" in exc.fields:  # spent or too late: start again
                return _restart(REG, exc.message, "auth.register")
            if exc.status == 409:  # registered meanwhile
                session.pop(REG, None)
                flash(exc.message + ". Войдите с паролем или восстановите его.", "error")
                return redirect(url_for("auth.login"))
            errors = _form_errors(exc, known={"password", "password_confirmation", "consent"},
                                  aliases={"consent_version": "consent"}, consent_asked=True)
            status = _status(exc)
        else:
            web_session.sign_in(tokens)  # clears the flow's state with the old session
            session["just_registered"] = True
            return redirect(url_for("auth.registered"))
    return render_template("auth/password.html", flow=flow, form=form, errors=errors,
                           consent=consent), status


@bp.get("/register/done")
def registered() -> Any:
    """«Вы успешно зарегистрировались» (рис. 7), with the way into the cabinet."""
    if not session.pop("just_registered", False) or not web_session.signed_in():
        return redirect(url_for("home.index"))
    return render_template("auth/registered.html")


@bp.get("/register/email/sent")
def register_email_sent() -> Any:
    """Рис. 9: registered; the letter with the confirmation link is on its way."""
    email = session.get(REG_EMAIL)
    if not email:
        return redirect(url_for("auth.register", by="email"))
    return render_template("auth/check_mail.html", email=email, purpose="register")


@bp.route("/register/email/confirm", methods=["GET", "POST"])
def register_email_confirm() -> Any:
    """The letter's link. GET only shows «Подтвердить адрес» (mail scanners open links;
    auth.js presses it for a person's browser); the POST confirms and signs in."""
    token = request.values.get("token", "")
    if request.method == "GET":
        if not token:
            return _link_invalid("Ссылка недействительна", "register", 400)
        return render_template("auth/confirm_email.html", token=token)
    try:
        tokens = web_session.public_call("POST", "/auth/register/email/confirm",
                                         json=cleaned({"token": token}),
                                         idempotency_key=form_key())
    except ApiError as exc:
        if exc.status >= 500:  # the button again, with its key: pressing it again is safe
            flash(exc.message, "error")
            return render_template("auth/confirm_email.html", token=token), exc.status
        return _link_invalid(exc.message, "register", exc.status,
                             registered=exc.status == 409)
    web_session.sign_in(tokens)
    flash("Адрес подтверждён. Добро пожаловать в личный кабинет!", "success")
    return redirect(url_for("home.index"))


@bp.get("/consent")
def consent() -> Any:
    """The text of the consent to the processing of personal data, as the API gives it (the
    very text auth records the acceptance of), with its date."""
    document = _consent()
    return render_template("auth/consent.html", consent=document,
                           blocks=consent_blocks(document.get("text") or ""))


def consent_blocks(text: str) -> list[tuple[str, str]]:
    """The consent's plain text as ("h2" | "p", text) blocks: paragraphs are separated by
    blank lines, and a one-line paragraph numbered «1. …» heads a section."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        one_line = "\n" not in paragraph.strip()
        paragraph = " ".join(paragraph.split())
        if paragraph:
            heading = one_line and re.fullmatch(r"\d{1,2}\.\s.{1,80}", paragraph)
            blocks.append(("h2" if heading else "p", paragraph))
    return blocks


def _consent() -> dict[str, Any]:
    """The current consent document and version (GET /auth/consent)."""
    return web_session.public_call("GET", "/auth/consent")


# ---- «Забыли пароль?» ----------------------------------------------------------------------

@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> Any:
    """«Забыли пароль?»: by SMS (phone and captcha → code and new password) or by e-mail
    (address and captcha → a letter with a link). The answer never tells whether the phone
    or address is registered."""
    by = _tab()
    errors, form, status = FormErrors(), {}, 200
    if request.method == "POST":
        form = values("phone", "email")
        if not request.form.get("captcha_refresh"):
            try:
                if by == "phone":
                    challenge = web_session.public_call(
                        "POST", "/auth/password/forgot/phone",
                        json=cleaned({"phone": form["phone"], **_captcha_fields()}))
                    session[RESET] = {
                        "verification_id": challenge["verification_id"],
                        "phone": challenge.get("phone") or form["phone"],
                        "resend_at": time.time() + int(challenge.get("resend_in") or 0)}
                    return redirect(url_for("auth.forgot_code"))
                web_session.public_call("POST", "/auth/password/forgot/email",
                                        json=cleaned({"email": form["email"],
                                                      **_captcha_fields()}))
                session[RESET_EMAIL] = form["email"]
                return redirect(url_for("auth.forgot_email_sent"))
            except ApiError as exc:
                errors, status = _form_errors(exc, known={by, "captcha"}), _status(exc)
    return render_template("auth/forgot.html", by=by, form=form, errors=errors,
                           captcha=_new_captcha()), status


@bp.route("/forgot/code", methods=["GET", "POST"])
def forgot_code() -> Any:
    """Recovery by SMS, step 2: the code and the new password twice."""
    flow = session.get(RESET)
    if not flow:
        return redirect(url_for("auth.forgot"))
    errors, form, status = FormErrors(), {}, 200
    if request.method == "POST":
        form = values("code")
        try:
            web_session.public_call("POST", "/auth/password/reset/phone", json=cleaned({
                "verification_id": flow["verification_id"], "code": form["code"],
                "password": request.form.get("password", ""),
                "password_confirmation": request.form.get("password_confirmation", "")}))
        except ApiError as exc:
            if "verification_id" in exc.fields:
                return _restart(RESET, exc.message, "auth.forgot")
            errors = _form_errors(exc, known={"code", "password", "password_confirmation"})
            status = _status(exc)
        else:
            session.pop(RESET, None)
            flash("Пароль изменён. Войдите с новым паролем.", "success")
            return redirect(url_for("auth.login", by="phone"))
    return render_template("auth/reset_code.html", flow=flow, form=form, errors=errors,
                           wait=_seconds_left(flow)), status


@bp.post("/forgot/code/resend")
def forgot_resend() -> Any:
    """«Отправить код ещё раз» during recovery."""
    return _resend(RESET, "auth.forgot_code", "auth.forgot")


@bp.get("/forgot/email/sent")
def forgot_email_sent() -> Any:
    """The same words whether or not the address is registered."""
    email = session.get(RESET_EMAIL)
    if not email:
        return redirect(url_for("auth.forgot", by="email"))
    return render_template("auth/check_mail.html", email=email, purpose="reset")


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password() -> Any:
    """The recovery letter's link: the new password twice (the token is spent only by the
    POST, so a mail scanner opening the link does no harm)."""
    token = request.values.get("token", "")
    if not token:
        return _link_invalid("Ссылка недействительна", "reset", 400)
    errors, status = FormErrors(), 200
    if request.method == "POST":
        try:
            web_session.public_call("POST", "/auth/password/reset/email", json=cleaned({
                "token": token, "password": request.form.get("password", ""),
                "password_confirmation": request.form.get("password_confirmation", "")}))
        except ApiError as exc:
            if "token" in exc.fields:
                if exc.status >= 500:
                    raise
                return _link_invalid(exc.message, "reset", exc.status)
            errors = _form_errors(exc, known={"password", "password_confirmation"})
            status = _status(exc)
        else:
            session.pop(RESET_EMAIL, None)
            flash("Пароль изменён. Войдите с новым паролем.", "success")
            return redirect(url_for("auth.login", by="email"))
    return render_template("auth/reset_password.html", token=token, errors=errors), status


# ---- shared steps ----------------------------------------------------------------------------

def _resend(key: str, back: str, start: str) -> Any:
    """A new SMS code for the flow under ``key``; the cooldown comes from the API."""
    flow = session.get(key)
    if not flow:
        return redirect(url_for(start))
    try:
        challenge = web_session.public_call("POST", "/auth/sms/resend",
                                            json={"verification_id": flow["verification_id"]})
    except ApiError as exc:
        if exc.status == 429:
            session[key] = {**flow, "resend_at": time.time() + (exc.retry_after or 0)}
            flash(exc.message if (exc.retry_after or 0) < 60 else
                  f"{exc.message}. Повторить можно через {_wait(exc.retry_after)}.", "error")
            return redirect(url_for(back))
        if exc.status >= 500 and not exc.fields:
            raise
        return _restart(key, exc.message, start)
    session[key] = {**flow, "resend_at": time.time() + int(challenge.get("resend_in") or 0)}
    flash("Новый код отправлен по SMS.", "success")
    return redirect(url_for(back))


def _restart(key: str, message: str, start: str) -> Any:
    """The flow's challenge is spent or gone: back to its first step, saying why."""
    session.pop(key, None)
    flash(message.rstrip(".") + ".", "error")
    return redirect(url_for(start))


def _link_invalid(message: str, purpose: str, status: int, registered: bool = False
                  ) -> tuple[str, int]:
    """A letter's link that is used, expired or broken: say so and offer the way on."""
    if not 400 <= status < 500:
        status = 400
    return render_template("auth/link_invalid.html", message=message, purpose=purpose,
                           registered=registered), status


@bp.app_template_global()
def countdown_text(seconds: int) -> str:
    """«Отправить код ещё раз можно через 42 с»: the words the page shows without JS."""
    return f"Отправить код ещё раз можно через {_wait(seconds)}."
