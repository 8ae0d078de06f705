"""The API's paged lists (README «Списки»: ``limit`` and ``cursor`` → ``{items, next}``) as
the cabinet shows them: a page of a list, the links to the next page and back to the first,
and the walk over pages when a view looks for one item."""
from __future__ import annotations

from typing import Any, Callable

from flask import request, url_for

from web.api import ApiError
from web.session import call

WALK_PAGES = 20  # a search over a list stops here: 20 pages of 100 items


def fetch(path: str, limit: int, cursor: str | None = None, **params: Any) -> dict[str, Any]:
    """One page of ``path``; a stale or mangled cursor (an old link) gives the first page."""
    query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
    try:
        return call("GET", path, params=query)
    except ApiError as exc:
        if cursor and exc.status in (400, 422) and "cursor" in exc.fields:
            return fetch(path, limit, None, **params)
        raise


def find(path: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The first item of the list at ``path`` that ``match``es, page after page."""
    cursor = None
    for _ in range(WALK_PAGES):
        answer = call("GET", path, params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        found = next((item for item in answer["items"] if match(item)), None)
        if found is not None or not answer["next"]:
            return found
        cursor = answer["next"]
    return None


def links(answer: dict[str, Any], cursor: str | None, endpoint: str, anchor: str | None = None,
          cursor_arg: str = "cursor", **keep: Any) -> dict[str, str | None] | None:
    """The pager under a list: ``first`` (back to the first page, when not on it) and
    ``next`` (the API's ``next``), each a link to ``endpoint`` keeping the page's other query
    arguments; None when the whole list fits one page."""
    if not cursor and not answer["next"]:
        return None
    base: dict[str, Any] = {k: v for k, v in request.args.items() if k != cursor_arg}
    base.update(keep)
    return {"first": url_for(endpoint, **base, _anchor=anchor) if cursor else None,
            "next": url_for(endpoint, **base, **{cursor_arg: answer["next"]}, _anchor=anchor)
            if answer["next"] else None}
