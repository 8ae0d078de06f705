"""Administration commands of the accounts service.

    python -m services.accounts.cli import-registry FILE [--quiet] [--batch-size 5000]
    python -m services.accounts.cli demo


``import-registry`` loads the whole account registry from a CSV file (format:
``services/accounts/registry_import.py``; a demo file is ``services/accounts/demo_registry.csv``)
into the service's database, with the service's settings (ACCOUNTS_DATABASE_URL,
ACCOUNTS_BRANCHES_FILE). Bad rows are reported on stderr as ``line N: field: reason`` and
skipped; the exit code is still 0. It is 2 when the file cannot be imported at all
(unreadable, not UTF-8, columns missing from the header).

``demo`` prints the demo account 123456789 (Мостэнергосбыт, from the demo registry) as JSON:
its portal id, tariff category and meters in the shape of ``meter_registered`` events. The
readings and payments services' own ``demo`` commands take it (``--account``) to write the
account's year of history (``shared/demo.py``; ``make demo-data``). Exit code 2 when the
account is not in the registry (import ``demo_registry.csv`` first).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from services.accounts.domain import registry

from services.accounts.registry_import import RegistryFileError, import_registry
from shared import demo, settings
from shared.db import make_engine, migrate


def demo_account(url: str, number: str = demo.NUMBER, branch: str = demo.BRANCH
                 ) -> dict[str, Any] | None:
    """The demo account as the other services' demo commands take it, or None."""
    from services.accounts.service import MIGRATIONS

    migrate(MIGRATIONS, url)
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as db:
            account = registry.find(db, number, branch)
            if account is None:
                return None
            return {"account_id": account.id, "number": account.number,
                    "branch": account.branch, "tariff_category": account.tariff_category,
                    "meters": registry.meters_in_service(account)}
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.accounts.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import-registry",
                               help="first load of the account registry from a CSV file")
    load.add_argument("file", type=Path, help="UTF-8 CSV, header row, ';' or ',' delimiter")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.add_argument("--batch-size", type=int, default=5000, help="rows per transaction")
    commands.add_parser("demo", help="print the demo account 123456789 as JSON for the "
                                     "readings and payments demo commands")
    args = parser.parse_args(argv)
    config = settings.load()
    if args.command == "demo":
        account = demo_account(settings.database_url(config, "accounts"))
        if account is None:
            print(f"error: account {demo.NUMBER} ({demo.BRANCH}) is not in the registry: run "
                  "import-registry services/accounts/demo_registry.csv first", file=sys.stderr)
            return 2
        print(json.dumps(account, ensure_ascii=False))
        return 0
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    try:
        result = import_registry(args.file, settings.database_url(config, "accounts"),
                                 config.get("ACCOUNTS_BRANCHES_FILE", ""),
                                 batch_size=args.batch_size, progress=not args.quiet)
    except RegistryFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"imported {args.file}: {result.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
