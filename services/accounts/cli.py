"""Administration commands of the accounts service.

    python -m services.accounts.cli import-registry FILE [--quiet] [--batch-size 5000]

``import-registry`` loads the whole account registry from a CSV file (format:
``services/accounts/registry_import.py``; a demo file is ``services/accounts/demo_registry.csv``)
into the service's database, with the service's settings (ACCOUNTS_DATABASE_URL,
ACCOUNTS_BRANCHES_FILE). Bad rows are reported on stderr as ``line N: field: reason`` and
skipped; the exit code is still 0. It is 2 when the file cannot be imported at all
(unreadable, not UTF-8, columns missing from the header).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.accounts.registry_import import RegistryFileError, import_registry
from shared import settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.accounts.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import-registry",
                               help="first load of the account registry from a CSV file")
    load.add_argument("file", type=Path, help="UTF-8 CSV, header row, ';' or ',' delimiter")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.add_argument("--batch-size", type=int, default=5000, help="rows per transaction")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    config = settings.load()
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
