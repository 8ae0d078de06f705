"""Administration commands of the payments service.

    python -m services.payments.cli key-rate --from 2026-12-19 --rate 16.00
    python -m services.payments.cli key-rate --show

``key-rate`` records a change of the Bank of Russia key rate in the table the penalties use
(KEY_RATES_FILE, or the table shipped with the service). The running services read the file
again when it changes. The exit code is 2 for a rate or date the table refuses.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from decimal import Decimal, InvalidOperation

from services.payments.domain.key_rates import (DEFAULT_PATH, KeyRateError, load_key_rates,
                                                update_key_rate)
from shared import settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.payments.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    rate = commands.add_parser("key-rate", help="show or update the key rate table")
    rate.add_argument("--from", dest="day", type=date.fromisoformat,
                      help="the day the new rate is in force from (YYYY-MM-DD)")
    rate.add_argument("--rate", help="percent per annum, e.g. 16.50")
    rate.add_argument("--show", action="store_true", help="print the last rows")
    args = parser.parse_args(argv)
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
