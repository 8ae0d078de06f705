"""The conversation of a request, a page at a time (README «Lists»): oldest first, as it
reads. Pages go both ways: ``next`` to the later messages (the convention's cursor) and
``earlier`` to the ones before the page, since the request's page opens on the latest
messages and steps back from there («Ранее»).

A cursor holds a direction and a message id: ``["after", id]`` (what ``next`` gives) or
``["before", id]`` (what ``earlier`` gives); it is opaque to clients (shared/paging.py).
"""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from services.requests.domain.attachments import attachment_view
from services.requests.models import Message
from shared import paging
from shared.errors import ValidationFailed

IN_DETAIL = 20  # the latest messages a request's own answer carries
AFTER, BEFORE = "after", "before"


def message_view(m: Message, other: str) -> dict[str, Any]:
    """One message as its reader sees it: ``new`` when ``other`` wrote it and it is unread."""
    return {"id": m.id, "author": m.author_role, "text": m.text,
            "created_at": m.created_at.isoformat(),
            "read_at": m.read_at.isoformat() if m.read_at else None,
            "new": m.author_role == other and m.read_at is None,
            "attachments": [attachment_view(a) for a in m.attachments]}


def _rows(db: Session, request_id: int, size: int, direction: str = AFTER,
          id_: int | None = None) -> list[Message]:
    """Up to ``size`` messages after (or before) the message ``id_``, oldest first; without
    an id, the first (or the latest) ones."""
    query = select(Message).where(Message.request_id == request_id).options(
        selectinload(Message.attachments))
    if direction == BEFORE:
        if id_ is not None:
            query = query.where(Message.id < id_)
        return list(db.scalars(query.order_by(Message.id.desc()).limit(size)))[::-1]
    if id_ is not None:
        query = query.where(Message.id > id_)
    return list(db.scalars(query.order_by(Message.id).limit(size)))


def _beyond(db: Session, request_id: int, rows: Sequence[Message], direction: str
            ) -> str | None:
    """The cursor past the first (BEFORE) or the last (AFTER) of ``rows``, if a message is
    there."""
    if not rows:
        return None
    edge = rows[0] if direction == BEFORE else rows[-1]
    side = Message.id < edge.id if direction == BEFORE else Message.id > edge.id
    there = db.scalar(select(exists().where(Message.request_id == request_id, side)))
    return paging.encode([direction, edge.id]) if there else None


def page(db: Session, request_id: int, other: str, cursor: object, limit: object
         ) -> dict[str, Any]:
    """``{"items", "next", "earlier"}``: a page of the conversation as ``other``'s reader
    sees it."""
    size = paging.limit_of(limit)
    key = paging.decode(cursor, (str, int))
    if key is not None and key[0] not in (AFTER, BEFORE):
        raise ValidationFailed("Неверный курсор страницы: возьмите next из прошлого ответа",
                               {"cursor": "Неверный курсор"})
    rows = _rows(db, request_id, size, *(key or ()))
    return {"items": [message_view(m, other) for m in rows],
            "next": _beyond(db, request_id, rows, AFTER),
            "earlier": _beyond(db, request_id, rows, BEFORE)}


def latest(db: Session, request_id: int, other: str) -> dict[str, Any]:
    """The request's answer's part: the latest IN_DETAIL messages (oldest first among them)
    and ``messages_earlier``, the cursor of the page before them (null: none before)."""
    rows = _rows(db, request_id, IN_DETAIL, BEFORE)
    return {"messages": [message_view(m, other) for m in rows],
            "messages_earlier": _beyond(db, request_id, rows, BEFORE)}
