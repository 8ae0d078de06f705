"""What each service's ``demo`` command shares: the account JSON that ``python -m
services.accounts.cli demo`` prints, and a unit of work on the service's own database that
publishes nothing (the demo is written directly, without the broker)."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy.orm import Session

from shared import settings
from shared.clock import clock
from shared.db import make_engine, migrate
from shared.work import Work


def read_account(text: str, *needed: str) -> dict[str, Any] | None:
    """The account JSON (``-``: from stdin) with the keys this service needs; None (and a
    message on stderr) when it is not the accounts demo command's output."""
    try:
        account = json.loads(sys.stdin.read() if text == "-" else text)
        for key in needed:
            account[key]  # noqa: B018
        if "meters" in needed and not account["meters"]:
            raise IndexError("no meters")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        print(f"error: --account is not the accounts demo command's JSON: {exc}",
              file=sys.stderr)
        return None
    return account


def _no_events(event_type: str, payload: dict[str, Any]) -> None:
    raise RuntimeError(f"the demo publishes no events ({event_type})")


@contextmanager
def demo_work(service: str, migrations: Any) -> Iterator[Work]:
    """A unit of work on ``service``'s database (migrated first), closed afterwards."""
    config = settings.load()
    url = settings.database_url(config, service)
    migrate(migrations, url)
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine, expire_on_commit=False) as db:
            yield Work(db, config, clock.now(), _no_events)
    finally:
        engine.dispose()
