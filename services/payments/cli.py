"""Administration commands of the payments service.

    python -m services.payments.cli key-rate --from 2026-12-19 --rate 16.00
    python -m services.payments.cli key-rate --show
    python -m services.payments.cli demo --account JSON [--reset]

``key-rate`` records a change of the Bank of Russia key rate in the table the penalties use
(KEY_RATES_FILE, or the table shipped with the service). The running services read the file
again when it changes. The exit code is 2 for a rate or date the table refuses.

``demo`` writes the demo account's year of bills and payments (``shared/demo.py``,
``services/payments/domain/demo.py``) into this service's database (PAYMENTS_DATABASE_URL),
directly, without the broker. ``--account`` is the JSON ``python -m services.accounts.cli
demo`` prints (``-``: from stdin). Running it again changes nothing; ``--reset`` first removes
the account's charges and payments. ``make demo-data`` and ``make demo-reset`` run it.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from decimal import Decimal, InvalidOperation

from services.payments.domain.key_rates import (DEFAULT_PATH, KeyRateError, load_key_rates,
                                                update_key_rate)
from shared import settings


def demo(account_json: str, reset: bool) -> int:
    """The ``demo`` command: the demo account's ledger, written directly to the database."""
    from services.payments.domain import demo as story
    from services.payments.service import MIGRATIONS
    from shared.demo_cli import demo_work, read_account

    account = read_account(account_json, "number", "branch", "meters")
    if account is None:
        return 2
    with demo_work("payments", MIGRATIONS) as work:
        removed = story.reset(work, account) if reset else 0
        made = story.load(work, account, work.config["TARIFFS_FILE"])
    print(f"demo ledger of account {account['number']}: "
          + (f"{removed} payments removed, " if reset else "")
          + ", ".join(f"{n} {what}" for what, n in made.items()) + " written")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.payments.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    rate = commands.add_parser("key-rate", help="show or update the key rate table")
    rate.add_argument("--from", dest="day", type=date.fromisoformat,
                      help="the day the new rate is in force from (YYYY-MM-DD)")
    rate.add_argument("--rate", help="percent per annum, e.g. 16.50")
    rate.add_argument("--show", action="store_true", help="print the last rows")
    story = commands.add_parser("demo", help="write the demo account's year of bills and payments")
    story.add_argument("--account", required=True,
                       help="JSON of `python -m services.accounts.cli demo`, or - for stdin")
    story.add_argument("--reset", action="store_true",
                       help="remove the account's charges and payments first")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.account, args.reset)
    path = settings.load()["KEY_RATES_FILE"] or DEFAULT_PATH
    if args.show or args.day is None:
        for day, value in load_key_rates(path).rows[-5:]:
            print(f"{day.isoformat()}  {value}%")
        return 0
    try:
        value = Decimal(args.rate or "")
    except InvalidOperation:
        print("error: --rate must be a percent, e.g. 16.50", file=sys.stderr)
        return 2
    try:
        table = update_key_rate(args.day, value, path)
    except (KeyRateError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"key rate {table.rate_on(args.day)}% from {args.day:%d.%m.%Y} recorded in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
