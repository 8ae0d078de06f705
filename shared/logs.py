"""Structured JSON logs with a request id carried across RPC calls.

The gateway takes ``X-Request-ID`` (or makes one) and puts it in the nameko context
data of every RPC call; nameko forwards context data on nested calls, and
:class:`shared.dependencies.RequestContext` puts it into this module's
greenlet-/thread-local so every log line of that worker carries it;
:func:`shared.blocking.offload` carries it into eventlet's native pool threads. gunicorn's own
lines (startup, workers, access) go through the same handler (:func:`gunicorn_logconfig`).
"""
from __future__ import annotations

import logging
import re
import sys
import threading
import uuid
from datetime import datetime
from typing import Any

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


class _IsoJsonFormatter(JsonFormatter):
    """``ts`` in ISO 8601 with the zone offset (2026-05-04T12:30:01.250+03:00): logging's
    default has neither the ``T`` nor the zone, so lines from hosts in other zones mislead."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created).astimezone()
        return moment.isoformat(timespec="milliseconds")


def json_handler(process_name: str) -> logging.Handler:
    """A stderr handler writing each record as one JSON object with ``service`` and
    ``request_id``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(process_name))
    handler.setFormatter(_IsoJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
    ))
    return handler


def configure(process_name: str, level: str = "INFO") -> None:
    """Send every log record to stderr as one JSON object per line."""
    root = logging.getLogger()
    root.handlers[:] = [json_handler(process_name)]
    root.setLevel(level.upper())
    # kombu/amqp are chatty at INFO about every reconnect attempt, alembic about its plugins.
    for noisy in ("kombu", "amqp", "nameko", "twilio.http_client", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # It logs a DomainError (an answer such as "wrong code") with a traceback; the gateway
    # already logs each request's status.
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)


def gunicorn_logconfig(process_name: str, level: str = "INFO") -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its master's and workers' own lines (startup, worker
    boots and exits, the access log when enabled) as the same JSON lines, through the root
    logger's handler, which the app's :func:`configure` later replaces with an equal one."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"json": {"()": json_handler, "process_name": process_name}},
        "formatters": {},
        "root": {"level": level.upper(), "handlers": ["json"]},
        # No handlers of their own: they propagate to the root's (gunicorn's plain-text
        # handlers, set up before this dictionary is applied, are removed by it).
        "loggers": {"gunicorn.error": {"handlers": [], "propagate": True},
                    "gunicorn.access": {"handlers": [], "propagate": True}},
    }
