"""Administration commands of the readings service.

    python -m services.readings.cli demo --account JSON [--reset]

``demo`` writes the demo account's year of readings (``shared/demo.py``) into this service's
database (READINGS_DATABASE_URL), directly, without the broker. ``--account`` is the JSON
``python -m services.accounts.cli demo`` prints (or ``-`` to read it from stdin). Running it
again changes nothing; ``--reset`` first removes all the account's readings. ``make demo-data``
and ``make demo-reset`` run it.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sqlalchemy.orm import Session

from services.readings.domain import demo
from shared import settings
from shared.clock import clock
from shared.db import make_engine, migrate
from shared.work import Work


def _no_events(event_type: str, payload: dict[str, Any]) -> None:
    raise RuntimeError(f"the demo publishes no events ({event_type})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.readings.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("demo", help="write the demo account's year of readings")
    load.add_argument("--account", required=True,
                      help="JSON of `python -m services.accounts.cli demo`, or - for stdin")
    load.add_argument("--reset", action="store_true",
                      help="remove the account's readings first, then write the demo's")
    args = parser.parse_args(argv)
    try:
        account = json.loads(sys.stdin.read() if args.account == "-" else args.account)
        account["account_id"], account["meters"]  # noqa: B018 (the keys the demo needs)
    except (ValueError, KeyError, TypeError) as exc:
        print(f"error: --account is not the accounts demo command's JSON: {exc}",
              file=sys.stderr)
        return 2
    from services.readings.service import MIGRATIONS

    config = settings.load()
    url = settings.database_url(config, "readings")
    migrate(MIGRATIONS, url)
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine, expire_on_commit=False) as db:
            work = Work(db, config, clock.now(), _no_events)
            removed = demo.reset(work, account) if args.reset else 0
            written = demo.load(work, account)
    finally:
        engine.dispose()
    reset = f"{removed} readings removed, " if args.reset else ""
    print(f"demo readings of account {account.get('number')}: {reset}{written} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
