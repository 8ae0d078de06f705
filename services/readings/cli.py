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
import sys

from services.readings.domain import demo
from shared.demo_cli import demo_work, read_account


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.readings.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("demo", help="write the demo account's year of readings")
    load.add_argument("--account", required=True,
                      help="JSON of `python -m services.accounts.cli demo`, or - for stdin")
    load.add_argument("--reset", action="store_true",
                      help="remove the account's readings first, then write the demo's")
    args = parser.parse_args(argv)
    account = read_account(args.account, "account_id", "meters")
    if account is None:
        return 2
    from services.readings.service import MIGRATIONS

    with demo_work("readings", MIGRATIONS) as work:
        removed = demo.reset(work, account) if args.reset else 0
        written = demo.load(work, account)
    reset = f"{removed} readings removed, " if args.reset else ""
    print(f"demo readings of account {account.get('number')}: {reset}{written} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
