"""One way to page every list that grows (README «Списки»): the caller asks for ``limit``
items and gets ``{"items": [...], "next": cursor}``; it passes ``next`` back as ``cursor`` for
the following page, and ``next`` is null on the last one.

The cursor is opaque to clients: inside, it is the sort key of the last item given (keyset
paging), so an item added meanwhile neither repeats nor hides one on the next page.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Callable, Sequence, TypeVar

from shared.errors import ValidationFailed

LIMIT_DEFAULT, LIMIT_MAX = 20, 100
CURSOR_MAX = 512
T = TypeVar("T")


def limit_of(value: object, default: int = LIMIT_DEFAULT, maximum: int = LIMIT_MAX) -> int:
    """``limit`` as given (None: the default), 1..maximum, else ValidationFailed."""
    if value in (None, ""):
        return default
    try:
        limit = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValidationFailed("Неверный размер страницы",
                               {"limit": "Должно быть целым числом"}) from None
    if not 1 <= limit <= maximum:
        raise ValidationFailed(f"На странице от 1 до {maximum} записей",
                               {"limit": f"Должно быть от 1 до {maximum}"})
    return limit


def encode(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode(cursor: object, kinds: Sequence[type]) -> list[Any] | None:
    """The sort key inside a cursor this module made, its parts of types ``kinds`` (None:
    the first page); a cursor of another shape, or a forged one, is the caller's error, a
    400-family answer, never a 500."""
    if cursor in (None, ""):
        return None
    try:
        if not isinstance(cursor, str) or len(cursor) > CURSOR_MAX:
            raise ValueError
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(key, list) or len(key) != len(kinds) or not all(
                type(part) is kind for part, kind in zip(key, kinds)):
            raise ValueError
        if any(isinstance(part, int) and not -2**63 <= part < 2**63 for part in key):
            raise ValueError  # a database driver would overflow
        return key
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("Неверный курсор страницы: возьмите next из прошлого ответа",
                               {"cursor": "Неверный курсор"}) from None


def moment(part: str) -> datetime:
    """A cursor's time part (``isoformat()`` of an aware datetime), else the cursor error."""
    try:
        value = datetime.fromisoformat(part)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationFailed("Неверный курсор страницы: возьмите next из прошлого ответа",
                               {"cursor": "Неверный курсор"})
    return value


def page(rows: Sequence[T], limit: int, view: Callable[[T], Any],
         key: Callable[[T], Sequence[Any]]) -> dict[str, Any]:
    """``rows``: up to ``limit + 1`` in order (one more tells that a next page exists)."""
    shown = list(rows[:limit])
    more = len(rows) > limit
    return {"items": [view(row) for row in shown],
            "next": encode(key(shown[-1])) if more and shown else None}


def of_list(items: Sequence[T], cursor: object, limit: object, key: Callable[[T], Sequence[Any]],
            kinds: Sequence[type], view: Callable[[T], Any] = lambda item: item,
            newest_first: bool = False) -> dict[str, Any]:
    """A page of a short list computed whole in memory (a few hundred items at most),
    ``items`` already in order: ascending by ``key``, or descending if ``newest_first``.
    Keyset as in the database: the page starts after the cursor's key, wherever the list
    has grown meanwhile."""
    size = limit_of(limit)
    after = decode(cursor, kinds)
    if after is not None:
        items = [item for item in items
                 if (list(key(item)) < after if newest_first else list(key(item)) > after)]
    return page(items[:size + 1], size, view, key)
