"""Telling the producer that an event was refused for good: ``<service>.event_rejected``.

:class:`shared.consumers.ReliableEventHandler` calls :func:`report` in the failed worker,
before it parks the message in the dead-letter queue, for a failure that is not transient
(see ``shared/contracts/rejections.py`` for what the event says and when it is not sent).
The event goes through the service's outbox in a transaction of its own (the handler's is
rolled back), so it is sent even if the broker is down at that moment.
"""
from __future__ import annotations

import logging
from typing import Any

from marshmallow import ValidationError

from shared.errors import DomainError
from shared.outbox import record_event

log = logging.getLogger(__name__)

MAX_TEXT = 500  # a reason or a field's message in the event: enough to act on, no dumps
# The reason's Russian part per domain error code (the service's own message follows it).
REFUSALS = {
    "not_found": "в реестре портала нет того, на что оно ссылается (лицевой счёт, счётчик)",
    "validation_failed": "значения не проходят проверки портала",
    "conflict": "оно противоречит тому, что уже есть в портале",
    "gone": "то, к чему оно относится, уже закрыто или снято",
}


def flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``{"payload.lines.0.zone": "..."}``."""
    if isinstance(messages, dict):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": "; ".join(messages)[:MAX_TEXT]}
    if isinstance(messages, (list, tuple)):
        return flatten(dict(enumerate(messages)), prefix)
    return {prefix or "_schema": str(messages)[:MAX_TEXT]}


def describe(exc: BaseException, producer: str, event_type: str) -> tuple[str, str, dict[str, str]]:
    """``(code, reason in Russian, fields)`` of a handler's non-transient failure."""
    if isinstance(exc, ValidationError):
        fields = flatten(exc.messages)
        return ("invalid_event",
                f"Событие не соответствует контракту {producer}.{event_type} "
                f"(docs/contracts/events/{producer}.{event_type}.json): "
                f"{', '.join(sorted(fields))}", fields)
    if isinstance(exc, DomainError):
        what = REFUSALS.get(exc.code, "его отклонили правила портала")
        return exc.code, f"Событие отклонено: {what} ({exc.message})"[:MAX_TEXT], dict(exc.fields)
    # A fault of ours, not of the event: no details leave the portal (they are in the log and
    # in the dead letter's headers); the event is applied once the fault is fixed and replayed.
    return ("internal_error", "Событие не обработано из-за ошибки портала; оно сохранено и будет "
                              "обработано повторно после исправления", {})


def report(service: Any, producer: str, event_type: str, body: Any, exc: BaseException,
           dead_letter_queue: str) -> None:
    """Record ``<service>.event_rejected`` in the service's outbox; never raises (a failure
    to report is logged: the message is parked all the same)."""
    try:
        code, reason, fields = describe(exc, producer, event_type)
        event_id = body.get("id") if isinstance(body, dict) else None
        now = service.clock.now()
        session = service.db
        session.rollback()  # the failed handler's changes (and its claim of the event id)
        record_event(session, service.outbox.model, service.name, "event_rejected", {
            "rejected_event_id": str(event_id)[:100] if event_id is not None else None,
            "producer": producer, "event_type": event_type, "code": code, "reason": reason,
            "fields": fields, "dead_letter_queue": dead_letter_queue,
            "rejected_at": now.isoformat()}, now)
        session.commit()
    except Exception:
        log.exception("could not record event_rejected; the message is parked without it",
                      extra={"queue": dead_letter_queue})
