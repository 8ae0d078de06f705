"""The gateway answers in Russian: every shape error by field, its own 404/405/413, and a
huge integer anywhere is a field error or a 404, never a 500 (no RPC is made for it)."""
from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from typing import Any, Iterator

import jwt
import pytest
from marshmallow import Schema, fields
from werkzeug.serving import make_server

from gateway.app import create_app
from gateway.messages import INT64_MAX
from gateway.routes import ROUTES
from gateway.schemas import Strict
from shared.tokens import ALGORITHM, signing_key
from tests.conftest import make_config

API = "/api/v1"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
HUGE = "99999999999999999999"


class FakeRpc:
    """Records the calls that got past the gateway's checks; answers an empty object."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, service: str, method: str, context: dict[str, Any], **kwargs: Any) -> Any:
        self.calls.append((service, method, kwargs))
        return {}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return make_config(tmp_path_factory.mktemp("var"), "amqp://guest:guest@127.0.0.1:1/")


@pytest.fixture
def rpc() -> FakeRpc:
    return FakeRpc()


@pytest.fixture
def client(config: dict[str, Any], rpc: FakeRpc) -> Any:
    return create_app(config, rpc=rpc).test_client()  # type: ignore[arg-type]


@pytest.fixture
def bearer(config: dict[str, Any]) -> dict[str, str]:
    now = int(time.time())
    token = jwt.encode({"sub": "user-1", "role": "customer", "sid": "s", "jti": uuid.uuid4().hex,
                        "typ": "access", "iss": config["JWT_ISSUER"], "iat": now,
                        "exp": now + 600}, signing_key(config), algorithm=ALGORITHM)
    return {"Authorization": f"Bearer {token}"}


def fields_of(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.json
    return response.json["error"]["fields"]


# ---- shape errors ----------------------------------------------------------------------

def test_missing_unknown_and_wrong_types_are_told_in_russian(client: Any, rpc: FakeRpc) -> None:
    response = client.post(f"{API}/auth/register/phone", json={"phone": 5, "x": 1})
    assert fields_of(response) == {"phone": "Должно быть строкой",
                                   "captcha_id": "Обязательное поле",
                                   "captcha_answer": "Обязательное поле",
                                   "x": "Неизвестное поле"}
    assert response.json["error"]["message"] == "Неверный формат запроса"
    nulls = client.post(f"{API}/auth/login", json={"password": None})
    assert fields_of(nulls) == {"password": "Поле не может быть пустым (null)"}
    assert rpc.calls == []


def test_lengths_ranges_choices_and_lists(client: Any, bearer: dict[str, str]) -> None:
    long = client.post(f"{API}/auth/login", json={"password": "x" * 300})
    assert fields_of(long) == {"password": "Не длиннее 256 символов"}
    limit = client.get(f"{API}/notices?limit=0", headers=bearer)
    assert fields_of(limit) == {"limit": "Должно быть от 1 до 100"}
    words = client.get(f"{API}/notices?limit=ten&unread_only=maybe", headers=bearer)
    assert fields_of(words) == {"limit": "Должно быть целым числом",
                                "unread_only": "Должно быть логическим значением (true или false)"}
    empty = client.post(f"{API}/payments", headers=bearer, json={
        "idempotency_key": "k", "items": []})
    assert fields_of(empty) == {"items": "Длина — от 1 до 20 элементов"}
    kind = client.post(f"{API}/payments", headers=bearer, json={
        "idempotency_key": "k", "items": [{"account_id": 1, "kind": "gift", "amount": "1"}]})
    assert fields_of(kind) == {"items": "Допустимые значения: electricity, penalty"}
    not_list = client.post(f"{API}/payments", headers=bearer, json={
        "idempotency_key": "k", "items": {"a": 1}})
    assert fields_of(not_list) == {"items": "Должно быть списком"}
    nested = client.post(f"{API}/requests", headers=bearer, json={
        "work": "w", "message": "m", "contact_phone": "1", "attachments": [{"x": 1}]})
    assert fields_of(nested) == {"attachments": "Обязательное поле; Неизвестное поле"}


def test_a_message_a_schema_wrote_itself_is_kept() -> None:
    class Own(Strict):
        name = fields.String(required=True, error_messages={"required": "Введите имя"})
        age = fields.Integer()

    errors = Own().validate({"age": "x"})
    assert errors == {"name": ["Введите имя"], "age": ["Должно быть целым числом"]}


def test_no_english_message_is_left_in_any_route_schema() -> None:
    def walk(field: fields.Field, where: str) -> Iterator[str]:
        for key, text in field.error_messages.items():
            if not CYRILLIC.search(text):
                yield f"{where}: {key} = {text!r}"
        for validator in field.validators:
            texts = [getattr(validator, name) for name in (
                "error", "message_min", "message_max", "message_all", "message_equal")
                if isinstance(getattr(validator, name, None), str)]
            if texts and not any(CYRILLIC.search(t) for t in texts):
                yield f"{where}: {type(validator).__name__} {texts}"
        inner = [getattr(field, "inner", None), getattr(field, "value_field", None)]
        for sub in [f for f in inner if isinstance(f, fields.Field)]:
            yield from walk(sub, where + "[]")
        if isinstance(field, fields.Nested):
            yield from schema_problems(field.schema, where + ".")

    def schema_problems(schema: Schema, prefix: str) -> Iterator[str]:
        for text in schema.error_messages.values():
            if not CYRILLIC.search(text):
                yield f"{prefix}: {text!r}"
        for name, field in schema.load_fields.items():
            yield from walk(field, prefix + name)

    problems = [p for route in ROUTES if route.schema
                for p in schema_problems(route.schema(), route.schema.__name__ + ".")]
    assert problems == []


def test_the_declared_fields_stay_as_written() -> None:
    class Plain(Strict):
        n = fields.Integer()

    Plain()
    declared = Plain._declared_fields["n"]
    assert declared.error_messages["invalid"] == "Not a valid integer." and not declared.validators
    # services' schemas are not gateway schemas: untouched
    assert "Not a valid integer." == fields.Integer().error_messages["invalid"]


# ---- huge integers -----------------------------------------------------------------------

def test_huge_integers_never_reach_a_service(client: Any, rpc: FakeRpc,
                                             bearer: dict[str, str]) -> None:
    in_path = client.get(f"{API}/accounts/{HUGE}", headers=bearer)
    assert in_path.status_code == 404
    assert in_path.json["error"]["message"] == "Такого адреса в API нет"
    edge = client.get(f"{API}/accounts/{INT64_MAX}", headers=bearer)
    assert edge.status_code == 200  # the largest 64-bit number still is a number
    rpc.calls.clear()
    in_query = client.get(f"{API}/payments/history?account_id={HUGE}", headers=bearer)
    assert fields_of(in_query) == {"account_id": "Слишком большое число"}
    negative = client.get(f"{API}/payments/history?account_id=-{HUGE}", headers=bearer)
    assert fields_of(negative) == {"account_id": "Слишком маленькое число"}
    in_body = client.post(f"{API}/payments", headers=bearer, json={
        "idempotency_key": "k",
        "items": [{"account_id": int(HUGE), "kind": "electricity", "amount": "1"}]})
    assert fields_of(in_body) == {"items": "Слишком большое число"}
    with_range = client.get(f"{API}/operator/requests?limit={HUGE}", headers=bearer)
    assert with_range.status_code == 403  # a customer: refused before the shape is looked at
    assert rpc.calls == []


# ---- the gateway's own HTTP errors -------------------------------------------------------

def test_unknown_route_wrong_method_and_large_body_are_russian(client: Any) -> None:
    missing = client.get(f"{API}/nothing-here")
    assert missing.status_code == 404 and missing.json["error"] == {
        "code": "not_found", "message": "Такого адреса в API нет",
        "request_id": missing.json["error"]["request_id"]}
    wrong = client.get(f"{API}/auth/login")
    assert wrong.status_code == 405
    assert wrong.json["error"]["message"] == "Этот метод для адреса не поддерживается"
    big = client.post(f"{API}/auth/login", data="x" * 70000, content_type="application/json")
    assert big.status_code == 413
    assert big.json["error"]["message"] == "Слишком большой запрос"
    not_json = client.post(f"{API}/auth/login", data="password=1")
    assert fields_of(not_json) == {"body": "Ожидается JSON-объект (Content-Type: application/json)"}


@pytest.fixture
def served(config: dict[str, Any]) -> Iterator[int]:
    """The gateway on a real socket (werkzeug's threaded server) for what a socket shows."""
    server = make_server("127.0.0.1", 0, create_app(config, rpc=FakeRpc()), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)


def test_a_client_still_sending_a_too_large_body_reads_the_413(served: int) -> None:
    body = b"x" * (3 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", served), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode())
        sock.sendall(body)  # the server reads it to the end instead of resetting the socket
        answer = b""
        while b"}" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, json_body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(json_body)["error"]["message"] == "Слишком большой запрос"
