"""Transactional outbox: an event is a row written in the same transaction as the change,
then relayed to RabbitMQ with publisher confirms. If the broker is down the row stays
pending and a later pass sends it, so a committed change never loses its event and a
rolled-back change never emits one.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from sqlalchemy import Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import UTCDateTime
from shared.events import make_envelope

log = logging.getLogger(__name__)


class OutboxMixin:
    """Columns of a service's ``outbox`` table: ``class Outbox(OutboxMixin, AuthBase)``."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def record_event(session: Session, outbox_model: type, producer: str, event_type: str,
                 payload: dict[str, Any], now: datetime, version: int = 1) -> dict[str, Any]:
    """Add the event to ``session``; it is stored (and later sent) only if the caller commits."""
    envelope = make_envelope(producer, event_type, payload, now, version)
    session.add(outbox_model(event_id=envelope["id"], event_type=event_type,
                             body=json.dumps(envelope, ensure_ascii=False), created_at=now,
                             attempts=0))
    return envelope


class OutboxRelay:
    """Publishes pending outbox rows in order, one confirmed publish each."""

    def __init__(self, amqp_uri: str, producer: str, config: dict[str, Any] | None = None) -> None:
        exchange = get_event_exchange(producer, config or {})
        # retry=False: a down broker fails this pass fast; the rows wait for the next one.
        self.publisher = Publisher(amqp_uri, use_confirms=True, exchange=exchange,
                                   declare=[exchange], serializer="json", retry=False)

    def relay(self, session: Session, outbox_model: type, now: datetime, batch: int = 100) -> int:
        """Send up to ``batch`` pending events; return how many were confirmed by the broker."""
        query = (select(outbox_model.id, outbox_model.event_id, outbox_model.event_type,
                        outbox_model.body)
                 .where(outbox_model.published_at.is_(None)).order_by(outbox_model.id)
                 .limit(batch))
        # PostgreSQL: lock the rows while publishing, so replicas don't send them twice.
        # SQLite: hold nothing while talking to the broker (the whole file would be locked);
        # a crash between publish and mark may then send an event twice, which idempotent
        # consumers absorb.
        hold_rows = session.get_bind().dialect.name == "postgresql"
        if hold_rows:
            query = query.with_for_update(skip_locked=True)
        pending = session.execute(query).all()
        if not hold_rows:
            session.rollback()
        sent: list[int] = []
        failure: tuple[int, str] | None = None
        for row_id, event_id, event_type, body in pending:
            try:
                self.publisher.publish(json.loads(body), routing_key=event_type,
                                       message_id=event_id, type=event_type,
                                       content_encoding="utf-8")
            except Exception as exc:  # broker down, connection reset, no confirm...
                failure = (row_id, f"{type(exc).__name__}: {exc}"[:1000])
                log.warning("outbox relay failed; will retry",
                            extra={"event_id": event_id, "error": failure[1]})
                break  # keep the order: later rows wait behind this one
            sent.append(row_id)
        if sent:
            session.execute(update(outbox_model).where(outbox_model.id.in_(sent)).values(
                published_at=now, last_error=None, attempts=outbox_model.attempts + 1))
        if failure:
            session.execute(update(outbox_model).where(outbox_model.id == failure[0]).values(
                last_error=failure[1], attempts=outbox_model.attempts + 1))
        session.commit()
        return len(sent)
