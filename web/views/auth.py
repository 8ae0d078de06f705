"""Вход в личный кабинет, Выход (and, below, registration and recovery)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from web import session as web_session
from web.api import ApiError
from web.forms import FormErrors, cleaned, errors_from, values

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path of this site (never //host or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Вход: tabs «По номеру телефона» and «По электронной почте», password, «Забыли пароль?»."""
    by = request.values.get("by", "phone") if request.values.get("by") in ("phone", "email") else "phone"
    target = request.values.get("next")
    if request.method == "GET" and web_session.signed_in():
        return redirect(safe_next(target))
    errors, form = FormErrors(), {}
    if request.method == "POST":
        form = values("phone", "email", "password")
        body = cleaned({by: form[by], "password": request.form.get("password", "")})
        try:
            tokens = web_session.public_call("POST", "/auth/login", json=body)
        except ApiError as exc:
            if exc.status >= 500:
                raise
            errors = errors_from(exc, known={by, "password"})
            if exc.status in (423, 429):  # locked or slowed down: say so above the form
                errors = FormErrors()
                errors.general = exc.message + (
                    f" Повторить можно через {_wait(exc.retry_after)}." if exc.retry_after else "")
            elif exc.status == 401:  # never tell which of the two was wrong
                errors = FormErrors(password=exc.message)
        else:
            web_session.sign_in(tokens)
            return redirect(safe_next(target))
    status = 200 if not errors and not errors.general else 422
    return render_template("auth/login.html", by=by, form=form, errors=errors,
                           next=target or ""), status


@bp.post("/logout")
def logout() -> Any:
    """Выход: the session ends in auth too."""
    web_session.sign_out()
    flash("Вы вышли из личного кабинета.", "info")
    return redirect(url_for("auth.login"))


def _wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} с"
    minutes = (seconds + 59) // 60
    return f"{minutes} мин"


@bp.get("/register")
def register() -> str:
    return render_template("placeholder.html", title="Регистрация")


@bp.get("/forgot")
def forgot() -> str:
    return render_template("placeholder.html", title="Забыли пароль?")
