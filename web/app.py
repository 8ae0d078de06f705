"""Flask app factory of the web cabinet: pages in Russian over the gateway's public API.

It holds no business rule and no data: every page asks the API (as any third-party front
end would) and shows its answer; the only state is the signed session cookie with the
customer's tokens (see :mod:`web.session`).
"""
from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, flash, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from shared import logs, metrics, settings
from web import filters, session as web_session
from web.api import Api, ApiError
from web.forms import form_key
from web.session import LoginRequired

log = logging.getLogger("web")

# Status pages of the cabinet, in the words a customer reads.
HTTP_MESSAGES = {
    400: "Запрос не удалось обработать. Обновите страницу и попробуйте ещё раз.",
    403: "Этот раздел вам недоступен.",
    404: "Такой страницы нет. Проверьте адрес или вернитесь на главную.",
    405: "Так эту страницу открыть нельзя. Вернитесь на главную.",
    413: "Файл слишком большой.",
    429: "Слишком много попыток, подождите немного.",
    500: "Что-то пошло не так. Мы уже разбираемся, попробуйте позже.",
    503: "Сервис временно недоступен, попробуйте через минуту.",
}
MAX_FORM_BYTES = 16 * 1024 * 1024  # a photo or a document of up to 10 MB with the form around it


def create_app(config: dict[str, Any] | None = None, api: Api | None = None) -> Flask:
    """The WSGI app. ``config`` defaults to the environment (shared.settings.load)."""
    config = settings.load() if config is None else config
    app = Flask(__name__)
    # The session cookie is signed with a key of its own, derived from SECRET_KEY.
    app.secret_key = hashlib.sha256(("web-session:" + config["SECRET_KEY"]).encode()).digest()
    app.config.update(
        SESSION_COOKIE_NAME="nesk_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config["NESK_ENV"] == "production",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=config["REFRESH_TOKEN_TTL"]),
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=config["NESK_ENV"] == "production",
        NESK=config,
    )
    app.extensions["api"] = api or Api(config["GATEWAY_URL"], config["WEB_API_TIMEOUT"],
                                       pool_size=config["WEB_THREADS"])
    CSRFProtect(app)
    filters.register(app)

    @app.before_request
    def _start() -> None:
        g.request_id = logs.request_id_from(request.headers.get("X-Request-ID"))
        g.started = time.perf_counter()
        logs.set_request_id(g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Links carry one-time tokens (reset, confirmation): never pass them on.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            "script-src 'self'; form-action 'self' https:; frame-ancestors 'none'")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "private, no-store")
        log.info("request", extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1)})
        logs.set_request_id(None)
        return response

    @app.errorhandler(LoginRequired)
    def _login(exc: LoginRequired) -> Response:
        if exc.expired:
            flash("Сеанс завершён, войдите снова.", "info")
        return redirect(url_for("auth.login", next=_back_here()))

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[str, int]:
        status = exc.status if exc.status in HTTP_MESSAGES or 400 <= exc.status < 500 else 503
        return render_template("error.html", status=status, message=exc.message
                               or HTTP_MESSAGES.get(status, HTTP_MESSAGES[500])), status

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        return render_template("error.html", status=400, message=(
            "Форма устарела: обновите страницу и отправьте её ещё раз.")), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int]:
        status = exc.code or 500
        return render_template("error.html", status=status, message=HTTP_MESSAGES.get(
            status, HTTP_MESSAGES[400 if status < 500 else 500])), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        log.exception("unhandled error")
        return render_template("error.html", status=500, message=HTTP_MESSAGES[500]), 500

    @app.get("/healthz")
    def healthz() -> Any:
        """Liveness of the web process (it holds no state of its own)."""
        return {"status": "ok"}

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"signed_in": web_session.signed_in(), "user_role": web_session.role(),
                "header": _header, "public_config": {
                    "min_password": config["PASSWORD_MIN_LENGTH"]}}

    app.jinja_env.globals["form_key"] = form_key  # creating forms' Idempotency-Key
    from web.views import register_blueprints
    register_blueprints(app)
    metrics.instrument_flask(app, "web", metrics.flask_endpoint)
    return app


def _header() -> dict[str, Any]:
    """The header's figures (balance to pay, unread notices), asked once per page."""
    if "header" not in g:
        g.header = {}
        if web_session.signed_in():
            try:
                g.header = web_session.call("GET", "/summary") or {}
            except ApiError:
                g.header = {}  # the page still shows; the header just lacks its figures
    return g.header


def _back_here() -> str:
    """Where to come back after logging in: this page for a GET, else the page the form
    was on (a POST cannot be repeated after a login)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("home.index")
