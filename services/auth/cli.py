"""Administration commands of the auth service.

    python -m services.auth.cli create-user --role admin --email admin@example.ru

The password is asked twice (or read as two lines from standard input). The command works on
the service's database directly (same settings as the service); the user_registered event
goes to the outbox and the running service publishes it.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from sqlalchemy.orm import Session

from services.auth.domain.flows import ROLES, AuthFlows, Deps
from services.auth.models import Outbox
from services.auth.service import MIGRATIONS
from shared import settings
from shared.clock import Clock
from shared.db import make_engine, migrate
from shared.errors import DomainError
from shared.outbox import record_event


def _password() -> tuple[str, str]:
    if sys.stdin.isatty():
        return getpass.getpass("Password: "), getpass.getpass("Repeat password: ")
    lines = sys.stdin.read().splitlines() + ["", ""]
    return lines[0], lines[1]


def create_user(config: dict[str, Any], role: str, phone: str | None, email: str | None,
                password: str, confirmation: str) -> dict[str, Any]:
    url = settings.database_url(config, "auth")
    migrate(MIGRATIONS, url)
    engine = make_engine(url, pool_size=1)
    now = Clock().now()
    with Session(engine) as db:
        flows = AuthFlows(Deps(
            db=db, config=config, now=now, notifier=None, signer=None, public_key=b"",
            client_ip="cli", record=lambda event_type, payload: record_event(
                db, Outbox, "auth", event_type, payload, now)))
        if password != confirmation:
            raise SystemExit("passwords do not match")
        return flows.create_staff_user(role, password, phone=phone, email=email)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.auth.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create an operator, admin or customer")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--phone")
    create.add_argument("--email")
    args = parser.parse_args(argv)
    config = settings.load()
    try:
        user = create_user(config, args.role, args.phone, args.email, *_password())
    except DomainError as exc:
        print(f"error: {exc.message} {exc.fields}", file=sys.stderr)
        return 1
    print(f"created {user['role']} {user['id']} ({user['email'] or user['phone']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
