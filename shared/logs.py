"""Structured JSON logs with a request id carried across RPC calls.

The gateway takes ``X-Request-ID`` (or makes one) and puts it in the nameko context
data of every RPC call; nameko forwards context data on nested calls, and
:class:`shared.dependencies.RequestContext` puts it into this module's
greenlet-/thread-local so every log line of that worker carries it.
"""
from __future__ import annotations

import logging
import re
import sys
import threading
import uuid

from pythonjsonlogger.json import JsonFormatter

_local = threading.local()  # greenlet-local once eventlet has monkey-patched threading


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_from(incoming: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a plausible id (it goes into every log
    line), else a new one."""
    return incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def set_request_id(request_id: str | None) -> None:
    _local.request_id = request_id


def get_request_id() -> str | None:
    return getattr(_local, "request_id", None)


class _ContextFilter(logging.Filter):
    def __init__(self, process_name: str) -> None:
        super().__init__()
        self.process_name = process_name

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.process_name
        record.request_id = get_request_id()
        return True


def configure(process_name: str, level: str = "INFO") -> None:
    """Send every log record to stderr as one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(process_name))
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # kombu/amqp are chatty at INFO about every reconnect attempt.
    for noisy in ("kombu", "amqp", "nameko", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # It logs a DomainError (an answer such as "wrong code") with a traceback; the gateway
    # already logs each request's status.
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)

