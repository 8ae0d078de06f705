"""The conversation on a request's page (the customer's and the operator's): the latest
messages come with the request; «Ранее» steps back a page at a time through
``GET …/messages`` (README «Lists»), «Позже» forward, «К последним» back to the latest."""
from __future__ import annotations

from typing import Any

from flask import url_for

from web.api import ApiError
from web.session import call

PAGE = 20  # as many as the request itself carries


def shown(item: dict[str, Any], path: str, cursor: str | None, endpoint: str,
          **url_args: Any) -> tuple[list[dict[str, Any]], dict[str, str | None]]:
    """The messages to show (a page before or after the latest, when ``cursor`` is given)
    and the links around them; an old link's refused cursor shows the latest."""
    earlier, later = item.get("messages_earlier"), None
    messages = item["messages"]
    if cursor:
        try:
            page = call("GET", path, params={"limit": PAGE, "cursor": cursor})
        except ApiError as exc:
            if exc.status not in (400, 422) or "cursor" not in exc.fields:
                raise
            cursor = None
        else:
            messages, earlier, later = page["items"], page["earlier"], page["next"]

    def link(to: str | None) -> str | None:
        return url_for(endpoint, **url_args, cursor=to, _anchor="conversation") if to else None

    return messages, {"earlier": link(earlier), "later": link(later),
                      "latest": url_for(endpoint, **url_args, _anchor="conversation")
                      if cursor else None}
