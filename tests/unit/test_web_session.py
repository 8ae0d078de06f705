"""The cabinet's session: tokens renewed transparently, once per refresh token, and a
refused renewal sends the customer to the login page (the API here is a recording fake of
the gateway's HTTP answers; the browser suite runs the real one)."""
from __future__ import annotations

import threading
import time
from typing import Any

import jwt
import pytest
from flask import Flask

from shared import settings
from web import session as web_session
from web.api import ApiError
from web.app import create_app


def token(exp_in: float, sub: str = "u1") -> str:
    return jwt.encode({"sub": sub, "role": "customer", "exp": int(time.time() + exp_in)}, "a-test-key-of-thirty-two-bytes!!",
                      algorithm="HS256")


class RecordingApi:
    """Answers like the gateway: refresh rotates the pair (a reused one is refused)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.used: set[str] = set()
        self.lock = threading.Lock()

    def call(self, method: str, path: str, *, token: str | None = None, json: Any = None,
             **_: Any) -> Any:
        with self.lock:
            self.calls.append((method, path))
        if path == "/auth/token/refresh":
            time.sleep(0.05)  # a real round trip: lets a second request arrive meanwhile
            with self.lock:
                if json["refresh_token"] in self.used:
                    raise ApiError(401, "unauthorized", "Сессия завершена",
                                   {"refresh_token": "reused: session revoked"})
                self.used.add(json["refresh_token"])
            return {"access_token": globals()["token"](600), "refresh_token": f"r{len(self.used)}"}
        if token is None:
            raise ApiError(401, "unauthorized", "Требуется вход")
        return {"ok": True}


@pytest.fixture
def app() -> Flask:
    config = settings.load({"NESK_ENV": "test", "SECRET_KEY": "s"})
    web_session._RENEWALS.clear()
    return create_app(config, api=RecordingApi())  # type: ignore[arg-type]


def test_a_token_about_to_expire_is_renewed_before_the_call(app: Flask) -> None:
    with app.test_request_context("/"):
        web_session.sign_in({"access_token": token(10), "refresh_token": "r0"})
        assert web_session.call("GET", "/summary") == {"ok": True}
        assert app.extensions["api"].calls == [("POST", "/auth/token/refresh"), ("GET", "/summary")]
        assert web_session.session["auth"]["refresh"] == "r1"


def test_two_requests_of_one_browser_renew_once_and_share_the_new_pair(app: Flask) -> None:
    results: list[str] = []

    def request() -> None:
        with app.test_request_context("/"):
            web_session.sign_in({"access_token": token(10), "refresh_token": "r0"})
            web_session.call("GET", "/summary")
            results.append(web_session.session["auth"]["refresh"])

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["r1", "r1"]
    assert app.extensions["api"].calls.count(("POST", "/auth/token/refresh")) == 1


def test_a_refused_renewal_ends_the_session_here(app: Flask) -> None:
    app.extensions["api"].used.add("r0")  # auth ended this session already
    with app.test_request_context("/"):
        web_session.sign_in({"access_token": token(10), "refresh_token": "r0"})
        with pytest.raises(web_session.LoginRequired):
            web_session.call("GET", "/summary")
        assert not web_session.signed_in()


def test_pages_need_a_session_and_come_back_after_login(app: Flask) -> None:
    response = app.test_client().get("/history?tab=all")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/history?tab%3Dall"
