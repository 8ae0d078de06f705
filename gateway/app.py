"""Flask app factory of the gateway: authenticate, check the HTTP shape, call RPC, map errors."""
from __future__ import annotations

import base64
import io
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from flask import Flask, Response, g, jsonify, request, send_file
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from gateway import docs
from gateway.messages import HTTP_FALLBACK, HTTP_MESSAGES, INT64_MAX, field_details, nul_fields
from gateway.routes import ROUTES, SERVICES, Route
from gateway.readiness import Readiness
from gateway.rpc import RpcPool
from shared import idempotency, logs, metrics, settings
from shared.clock import clock
from shared.errors import BadRequest, DomainError, Forbidden, Unauthorized
from shared.tokens import verification_key, verify_access_token

log = logging.getLogger("gateway")

API = "/api/v1"
# After a 413 the rest of a body up to this size is read and dropped, so the client, still
# sending, gets the answer (a socket closed on unread data resets the connection); a
# larger one is not waited for: the connection is closed.
DRAIN_MAX = 64 * 1024 * 1024


class Int64Converter(IntegerConverter):
    """``<int:…>`` in a path: a number a 64-bit signed column holds, else no such route
    (404), never an OverflowError in a database driver."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)


def error_response(error: DomainError) -> Response:
    body = error.to_dict()
    body["request_id"] = g.get("request_id")
    response = jsonify({"error": body})
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Требуется вход в личный кабинет",
                           {"authorization": "missing Bearer token"})
    return token.strip()


def _request_data(route: Route) -> dict[str, Any]:
    if route.raw:  # a signature covers the exact bytes: the service checks them, not us
        headers = {k: v for k, v in request.headers.items() if "signature" in k.lower()}
        # The sender's address, for providers that sign nothing (ЮKassa: checked by address)
        headers["Remote-Addr"] = request.remote_addr or ""
        return {"body": base64.b64encode(request.get_data()).decode(), "headers": headers}
    if route.source == "query":
        raw: Any = request.args.to_dict()
    elif route.schema is None and not route.body_arg:
        raw = {}
    else:
        raw = request.get_json(silent=True)
        if not isinstance(raw, dict):
            raise BadRequest("Тело запроса должно быть JSON-объектом",
                             {"body": "Ожидается JSON-объект (Content-Type: application/json)"})
    if nul_fields(raw):
        raise BadRequest("Неверный формат запроса", nul_fields(raw))
    if route.body_arg:
        return {route.body_arg: raw}
    if route.schema is None:
        return {}
    try:
        return route.schema().load(raw)
    except ValidationError as exc:
        raise BadRequest("Неверный формат запроса", field_details(exc.normalized_messages()))


def _idempotency_context(route: Route) -> dict[str, str]:
    """The ``Idempotency-Key`` header of a creating route, for its RPC (none: no key)."""
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return {}
    if not idempotency.valid_key(key):
        raise BadRequest("Заголовок Idempotency-Key: от 1 до 255 видимых символов ASCII",
                         {idempotency.HEADER: "1 to 255 visible ASCII characters"})
    return idempotency.context_for(key, route.rpc)


def _drain_body() -> bool:
    """Read and drop what is left of a refused body (up to DRAIN_MAX), so the client that
    is still sending it reads the 413; False when it is too large to wait for."""
    length = request.content_length
    if length is not None and length > DRAIN_MAX:
        return False
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return True
    left = DRAIN_MAX if length is None else length
    try:
        while left > 0:
            chunk = stream.read(min(65536, left))
            if not chunk:
                return True
            left -= len(chunk)
    except (OSError, ValueError):  # the client went away: nothing more to answer
        return False
    return length is not None


def file_response(result: dict[str, Any]) -> Response:
    """A file a service returned as {filename, content_type, content_base64}: the bytes
    themselves, to save under the filename (RFC 6266: an ASCII fallback and filename*)."""
    response = send_file(io.BytesIO(base64.b64decode(result["content_base64"])),
                         mimetype=result["content_type"], as_attachment=True,
                         download_name=result["filename"])
    # Personal data: no shared cache keeps it; a browser must not guess another type.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def create_app(config: dict[str, Any] | None = None, rpc: RpcPool | None = None) -> Flask:
    """The WSGI app. ``config`` defaults to the environment (shared.settings.load)."""
    config = settings.load() if config is None else config
    app = Flask(__name__)
    app.url_map.converters["int"] = Int64Converter
    app.config["MAX_CONTENT_LENGTH"] = config["MAX_JSON_BYTES"]
    upload_limit = config["MAX_UPLOAD_BYTES"]
    if config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config["TRUSTED_PROXIES"])  # type: ignore
    public_key = verification_key(config)
    pool = rpc or RpcPool(config, size=config["GATEWAY_THREADS"], timeout=config["RPC_TIMEOUT"])
    app.extensions["rpc"] = pool

    @app.before_request
    def _start() -> None:
        g.request_id = logs.request_id_from(request.headers.get("X-Request-ID"))
        g.started = time.perf_counter()
        logs.set_request_id(g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        log.info("request", extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1)})
        logs.set_request_id(None)
        return response

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = jsonify({"error": {
            "code": (error.name or "error").lower().replace(" ", "_"),
            "message": HTTP_MESSAGES.get(status, HTTP_FALLBACK),
            "request_id": g.get("request_id")}})
        response.status_code = status
        if status == 413 and not _drain_body():
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        response = jsonify({"error": {"code": "internal_error",
                                      "message": "Внутренняя ошибка, мы уже разбираемся",
                                      "request_id": g.get("request_id")}})
        response.status_code = 500
        return response

    def context(token: str | None) -> dict[str, Any]:
        data = {"request_id": g.request_id, "client_ip": request.remote_addr or "unknown"}
        if token:
            data["authorization"] = token
        return data

    def view_for(route: Route) -> Callable[[], Any]:
        service, method = route.rpc.split(".", 1)

        def view(**path_args: Any) -> Any:
            token = None
            if route.auth:
                token = _bearer_token()
                principal = verify_access_token(token, public_key, config["JWT_ISSUER"],
                                                clock.now())
                if route.roles and principal.role not in route.roles:
                    raise Forbidden("Недостаточно прав", {"authorization": f"role {principal.role}"})
            if route.upload:
                request.max_content_length = upload_limit
            if nul_fields(path_args):  # a %00 in the URL
                raise BadRequest("Неверный адрес запроса", nul_fields(path_args))
            once = _idempotency_context(route) if route.idempotent else {}
            kwargs = {**_request_data(route), **path_args}  # e.g. account_id from the URL
            result = pool.call(service, method, {**context(token), **once}, **kwargs)
            if route.status == 204:
                return Response(status=204)
            if route.download:
                return file_response(result)
            headers: dict[str, str] = {}
            if once:  # the first answer again, said so
                result, replayed = idempotency.unwrap(result)
                if replayed:
                    headers[idempotency.REPLAYED_HEADER] = "true"
            if route.location:
                url = API + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.location).format(
                    **{**path_args, **result})
                result, headers["Location"] = {**result, "poll_url": url}, url
            return jsonify(result), route.status, headers

        view.__name__ = route.endpoint
        return view

    for route in ROUTES:
        app.add_url_rule(API + route.path, route.endpoint, view_for(route),
                         methods=[route.method])

    @app.get("/healthz")
    def healthz() -> Any:
        """Liveness: the process answers."""
        return jsonify({"status": "ok"})

    # One in-flight ping per service at most (Readiness never sends a second), so never starved.
    executor = ThreadPoolExecutor(max_workers=max(2, len(SERVICES)))
    readiness = Readiness(pool, config, SERVICES, executor)

    @app.get("/readyz")
    def readyz() -> Any:
        """Readiness: every service answers an RPC ping within READY_TIMEOUT (cached for
        READY_CACHE_SECONDS; pooled connections only, see gateway/readiness.py)."""
        body = readiness.check(context(None))
        return jsonify(body), 200 if not body["down"] else 503

    docs.register(app, API)
    # By route template, never the raw URL; GET /metrics stays out of the OpenAPI document.
    metrics.instrument_flask(app, "gateway", metrics.route_template)
    return app
