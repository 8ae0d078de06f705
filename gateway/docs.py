"""OpenAPI 3 document generated from the route table, and a Swagger UI page to browse it.

Swagger UI's files come from the swagger-ui-bundle package, so the page works offline.
"""
from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from gateway import schemas
from gateway.messages import INT64_MAX
from gateway.routes import ROUTES, Route
from shared import idempotency

ERROR_TEXT = {400: "Неверный формат запроса", 401: "Нет входа или токен недействителен",
              403: "Недостаточно прав", 404: "Не найдено", 409: "Конфликт состояния",
              410: "Ссылка или код истекли или использованы", 413: "Слишком большой запрос",
              422: "Значение поля нарушает правило", 423: "Вход временно заблокирован",
              429: "Слишком много попыток; см. retry_after", 503: "Сервис недоступен"}

PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>НЭСК ЛК — API</title>
<link rel="stylesheet" href="{base}/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{base}/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "{base}/openapi.json", dom_id: "#swagger-ui"}});</script>
</body></html>"""


# What a download route answers: the file itself (Content-Disposition: attachment).
DOWNLOAD_TYPES = ("application/pdf", "image/jpeg", "image/png")


def _success(route: Route) -> dict[str, Any]:
    if route.status == 204:
        return {"description": "OK"}
    if route.download:
        return {"description": "Файл (Content-Disposition: attachment; filename*=UTF-8'')",
                "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                            for kind in DOWNLOAD_TYPES}}
    body: dict[str, Any] = {"schema": route.response}
    if route.example is not None:
        body["example"] = route.example
    return {"description": "OK", "content": {"application/json": body}}


IDEMPOTENCY_KEY = {
    "in": "header", "name": idempotency.HEADER, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "Ключ повтора (например, UUID): запрос с тем же ключом и теми же данными "
                   "в течение IDEMPOTENCY_KEY_HOURS не выполняется заново, а получает первый "
                   "ответ с заголовком Idempotent-Replayed: true. Тот же ключ с другими "
                   "данными — 422; пока первый запрос выполняется — 409. Ответ с ошибкой не "
                   "запоминается: повтор с тем же ключом выполняется заново."}
REPLAYED = {"description": "true: это сохранённый первый ответ на запрос с тем же "
                           "Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}}


# OpenAPI links of the main resources: where the id a creating call answers is used next
# (clients and schemathesis' stateful run follow them). operationId → {link: (target, param)}
LINKS: dict[str, dict[str, tuple[str, str]]] = {
    "post_accounts": {
        "GetAccount": ("get_accounts_account_id", "account_id"),
        "GetDebt": ("get_accounts_account_id_debt", "account_id"),
        "GetMeters": ("get_accounts_account_id_meters", "account_id"),
        "GetReadings": ("get_accounts_account_id_readings", "account_id"),
        "SubmitReading": ("post_accounts_account_id_readings", "account_id"),
        "GetBills": ("get_accounts_account_id_bills", "account_id"),
        "GetDocuments": ("get_accounts_account_id_documents", "account_id"),
        "Unlink": ("delete_accounts_account_id", "account_id")},
    "post_payments": {"GetPayment": ("get_payments_payment_id", "payment_id")},
    "post_requests": {
        "GetRequest": ("get_requests_request_id", "request_id"),
        "PostMessage": ("post_requests_request_id_messages", "request_id"),
        "Cancel": ("post_requests_request_id_cancel", "request_id")},
    "post_accounts_account_id_documents": {
        "GetFile": ("get_documents_document_id_file", "document_id"),
        "Withdraw": ("post_documents_document_id_withdraw", "document_id")},
}


def _links(route: Route) -> dict[str, Any]:
    return {name: {"operationId": target, "parameters": {param: "$response.body#/id"}}
            for name, (target, param) in LINKS.get(route.endpoint, {}).items()}


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": route.summary, "tags": [route.tag], "operationId": route.endpoint,
        "responses": {str(route.status): _success(route)},
    }
    if route.body_arg:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"oneOf": list(route.body_one_of)}}}}
    elif route.schema is not None:
        if route.source == "query":
            operation["parameters"] = [{"in": "query", "schema": route.schema}]
        else:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": route.schema}}}
    if route.idempotent:
        operation["parameters"] = [*operation.get("parameters", []), IDEMPOTENCY_KEY]
        operation["responses"][str(route.status)]["headers"] = {
            idempotency.REPLAYED_HEADER: REPLAYED}
    if route.location:
        operation["responses"][str(route.status)].setdefault("headers", {})["Location"] = {
            "description": "Адрес, где узнать результат (он же poll_url в ответе)",
            "schema": {"type": "string"}}
    for status in sorted({*route.errors, 503} | ({413} if route.schema or route.body_arg
                                                  else set())
                         | ({400, 409, 422} if route.idempotent else set())):
        operation["responses"][str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {"application/json": {"schema": "ErrorBody"}}}
    if route.auth:
        operation["security"] = [{"bearerAuth": []}]
    if route.path_params:
        operation.setdefault("parameters", []).extend(
            {"in": "path", "name": name, "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX}
             if conv == "int" else {"type": "string"}}
            for name, conv in route.path_params)
    if _links(route):
        operation["responses"][str(route.status)]["links"] = _links(route)
    return operation


def build_spec(api_prefix: str) -> dict[str, Any]:
    spec = APISpec(title="НЭСК: личный кабинет — API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Every error is {\"error\": {\"code\", \"message\", "
                                        "\"fields\"}}; protected routes need "
                                        "`Authorization: Bearer <access_token>`."})
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                   "bearerFormat": "JWT"})
    spec.components.schema("ErrorBody", schema=schemas.ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(api_prefix + route.openapi_path, {})[route.method.lower()] = \
            _operation(route)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def register(app: Flask, api_prefix: str) -> None:
    document = build_spec(api_prefix)

    @app.get(f"{api_prefix}/openapi.json")
    def openapi() -> Response:
        return jsonify(document)

    @app.get(f"{api_prefix}/docs")
    def docs_page() -> Response:
        return Response(PAGE.format(base=api_prefix), mimetype="text/html")

    @app.get(f"{api_prefix}/docs/static/<path:filename>")
    def docs_static(filename: str) -> Response:
        return send_from_directory(swagger_ui_path, filename)
