"""The gateway's public HTTP API as the web cabinet calls it: one pooled HTTP session per
process, JSON in and out, every error as an :class:`ApiError` carrying the API's Russian
message and its per-field details."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

_CYRILLIC = re.compile(r"[А-Яа-яЁё]")


@dataclass
class ApiError(Exception):
    """An answer of the API other than success (or no answer at all: status 503)."""

    status: int
    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    retry_after: int | None = None
    # the reason of each field as the service said it ("expired"), for the code to compare
    field_codes: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def field_messages(self) -> dict[str, str]:
        """A Russian message per named field: the field's own detail when the service wrote
        it for a person (Russian), else the error's message (which says more than the words
        the API gives a code such as "wrong")."""
        raised = {name: self.field_codes.get(name, detail) for name, detail in self.fields.items()}
        return {name: detail if _CYRILLIC.search(detail or "") else self.message
                for name, detail in raised.items()}


@dataclass
class Download:
    """A file the API answered with (a bill, a document, an attachment)."""

    content: bytes
    content_type: str
    disposition: str


class Api:
    """A thread-safe client of ``<GATEWAY_URL>/api/v1`` (requests' Session pools connections)."""

    def __init__(self, base_url: str, timeout: float, pool_size: int = 16) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.root = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def call(self, method: str, path: str, *, token: str | None = None,
             json: Any = None, params: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, download: bool = False,
             idempotency_key: str | None = None) -> Any:
        """One API call; the decoded JSON (None for 204), or a :class:`Download`. A creating
        POST sends its form's ``idempotency_key``: a retry then gets the first answer."""
        sent = dict(headers or {})
        if idempotency_key:
            sent["Idempotency-Key"] = idempotency_key
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            response = self.http.request(method, self.base + path, json=json, params=params,
                                         headers=sent, timeout=self.timeout)
        except requests.RequestException:
            raise ApiError(503, "service_unavailable",
                           "Сервис временно недоступен, попробуйте через минуту") from None
        if response.status_code >= 400:
            raise _error_of(response)
        if response.status_code == 204:
            return None
        if download:
            return Download(response.content, response.headers.get("Content-Type", ""),
                            response.headers.get("Content-Disposition", ""))
        return response.json()

    def ready(self) -> bool:
        """Whether the gateway answers at all (its liveness)."""
        try:
            return self.http.get(self.root + "/healthz", timeout=2).ok
        except requests.RequestException:
            return False


def _error_of(response: requests.Response) -> ApiError:
    try:
        body = response.json()["error"]
        retry = body.get("retry_after")
        return ApiError(response.status_code, str(body.get("code") or "error"),
                        str(body.get("message") or ""), dict(body.get("fields") or {}),
                        int(retry) if retry is not None else None,
                        dict(body.get("field_codes") or {}))
    except (ValueError, KeyError, TypeError, AttributeError):
        return ApiError(response.status_code, "error", _GENERIC.get(
            response.status_code, "Не удалось выполнить запрос, попробуйте ещё раз"))


_GENERIC = {
    404: "Не найдено",
    413: "Файл слишком большой",
    429: "Слишком много попыток, подождите немного",
    503: "Сервис временно недоступен, попробуйте через минуту",
}
