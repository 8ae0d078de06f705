"""The customer's session: the API's tokens kept in Flask's signed session cookie (HttpOnly,
SameSite=Lax, Secure in production), so no token ever reaches the browser's JavaScript.

The access token is renewed with the refresh token shortly before it expires, or once after
the API refused it; when that fails too the customer is sent to the login page and comes
back to where they were. Auth revokes a session whose refresh token is used twice, so a
token pair is renewed at most once per request and the new pair is stored at once.
"""
from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from typing import Any, Callable, TypeVar

import jwt
from flask import current_app, g, redirect, request, session, url_for

from web.api import Api, ApiError

RENEW_BEFORE = 30  # seconds before expiry when the access token is renewed ahead of a call
# Two requests of one browser may both find the token due (a page and an htmx poll). Auth
# treats a refresh token used twice as stolen and ends the session, so within a process the
# renewals of one refresh token are serialised and the second request takes the first one's
# new pair instead of renewing again.
_RENEWALS: dict[str, tuple[float, dict[str, Any]]] = {}
_RENEWAL_LOCKS: dict[str, threading.Lock] = {}
_RENEWALS_LOCK = threading.Lock()  # guards the two dicts, never held during a call
_RENEWAL_KEPT = 60.0  # seconds a renewal's result is handed to late requests of the same pair
F = TypeVar("F", bound=Callable[..., Any])


class LoginRequired(Exception):
    """No session, or one the API no longer accepts: go to the login page."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("login required")
        self.expired = expired


def api() -> Api:
    return current_app.extensions["api"]


def client_headers() -> dict[str, str]:
    """What the gateway should know of the person behind this request: their address
    (per-address limits) and the request id (one id in every service's log)."""
    headers = {"X-Forwarded-For": request.remote_addr or ""}
    if g.get("request_id"):
        headers["X-Request-ID"] = g.request_id
    return headers


def sign_in(tokens: dict[str, Any], renewal: bool = False) -> None:
    """Keep a token pair from login, registration or refresh as this browser's session.

    A login starts a clean session; a ``renewal`` keeps the rest of it (the CSRF token of
    a form already on the page, a flow's state)."""
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    if not renewal:
        session.clear()
    session.permanent = True
    session["auth"] = {"access": tokens["access_token"], "refresh": tokens["refresh_token"],
                       "exp": int(claims.get("exp", 0)), "role": claims.get("role", "customer"),
                       "user": claims.get("sub")}


def signed_in() -> bool:
    return "auth" in session


def role() -> str | None:
    return session["auth"]["role"] if signed_in() else None


def sign_out() -> None:
    """End the session here and in auth (a refused logout still forgets it here)."""
    if signed_in():
        try:
            call("POST", "/auth/logout")
        except (ApiError, LoginRequired):
            pass
    session.clear()


def _renew() -> None:
    auth = session.get("auth")
    if not auth or g.get("renewed"):
        raise LoginRequired(expired=True)
    g.renewed = True
    key = hashlib.sha256(auth["refresh"].encode()).hexdigest()
    with _RENEWALS_LOCK:
        now = time.monotonic()
        for old in [k for k, (at, _) in _RENEWALS.items() if now - at > _RENEWAL_KEPT]:
            del _RENEWALS[old]
            _RENEWAL_LOCKS.pop(old, None)
        lock = _RENEWAL_LOCKS.setdefault(key, threading.Lock())
    with lock:  # one renewal per refresh token at a time in this process
        done = _RENEWALS.get(key)
        if done is None:
            try:
                tokens = api().call("POST", "/auth/token/refresh",
                                    json={"refresh_token": auth["refresh"]},
                                    headers=client_headers())
            except ApiError as exc:
                with _RENEWALS_LOCK:
                    _RENEWAL_LOCKS.pop(key, None)
                if exc.status in (400, 401, 422):
                    session.clear()
                    raise LoginRequired(expired=True) from None
                raise
            with _RENEWALS_LOCK:
                _RENEWALS[key] = (time.monotonic(), tokens)
        else:
            tokens = done[1]
    sign_in(tokens, renewal=True)


def call(method: str, path: str, **kwargs: Any) -> Any:
    """An API call as the signed-in customer: renews the access token when it is about to
    expire or was refused, and raises :class:`LoginRequired` when the session is over."""
    auth = session.get("auth")
    if not auth:
        raise LoginRequired()
    if auth["exp"] - time.time() < RENEW_BEFORE:
        _renew()
    headers = {**client_headers(), **kwargs.pop("headers", {})}
    try:
        return api().call(method, path, token=session["auth"]["access"], headers=headers, **kwargs)
    except ApiError as exc:
        if exc.status != 401 or exc.field_codes.get("authorization") == "missing Bearer token":
            raise
    _renew()
    return api().call(method, path, token=session["auth"]["access"], headers=headers, **kwargs)


# A page's independent figures are asked at once: its time is then the slowest call, not
# the sum of them (the home page asks four to six).
_PARALLEL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="api-call")


def call_all(*requests: tuple[Any, ...]) -> list[Any]:
    """Several API calls at once as the signed-in customer, each ``(method, path)`` or
    ``(method, path, kwargs)``; per call its answer or the :class:`ApiError` it raised (the
    page decides what it can live without). The token is renewed once, before or after."""
    auth = session.get("auth")
    if not auth:
        raise LoginRequired()
    if auth["exp"] - time.time() < RENEW_BEFORE:
        _renew()
    headers, client = client_headers(), api()

    def run(batch: list[tuple[Any, ...]], token: str) -> list[Any]:
        def one(request_: tuple[Any, ...]) -> Any:
            method, path, *rest = request_
            try:
                return client.call(method, path, token=token, headers=headers,
                                   **(rest[0] if rest else {}))
            except ApiError as exc:
                return exc
        return list(_PARALLEL.map(one, batch))

    results = run(list(requests), session["auth"]["access"])
    refused = [i for i, r in enumerate(results) if isinstance(r, ApiError) and r.status == 401]
    if refused:
        _renew()
        for index, result in zip(refused, run([requests[i] for i in refused],
                                              session["auth"]["access"])):
            results[index] = result
            if isinstance(result, ApiError) and result.status == 401:
                raise LoginRequired(expired=True)
    return results


def public_call(method: str, path: str, **kwargs: Any) -> Any:
    """An API call that needs no session (registration, login, recovery, captcha)."""
    headers = {**client_headers(), **kwargs.pop("headers", {})}
    return api().call(method, path, headers=headers, **kwargs)


def login_required(view: F) -> F:
    """Pages of the cabinet: without a session, the login page, then back here."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not signed_in():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def operator_required(view: F) -> F:
    """Pages of the operators: the operator or admin role (the API checks it again)."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not signed_in():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if role() not in ("operator", "admin"):
            raise ApiError(403, "forbidden", "Раздел только для операторов")
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
