"""Administration commands of the documents service.

    python -m services.documents.cli form-bills [--period YYYY-MM] [--quiet]

``form-bills`` forms the month's bill of every account whose customer takes bills by e-mail
(the copy of accounts' ``paperless_consent_changed`` kept by the service), stores each PDF
in the service's file store, and records one ``bill_formed`` event per customer in the
documents outbox, which the running service relays (accounts then e-mails the link). It asks
accounts, readings and payments over RPC (the services must be running) with the same
settings as they have (AMQP_URI, DOCUMENTS_DATABASE_URL, FILE_STORAGE...). Run again for the
same month, it announces only what changed. Accounts without a charge for the month are
skipped. Exit code 0, or 1 when some bill could not be formed (listed on stderr).
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping

from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from services.documents.domain import bills
from services.documents.domain.bill import DocumentError
from services.documents.models import FormedBill, Outbox, PaperlessSubscriber
from services.documents.service import MIGRATIONS
from shared import settings
from shared.clock import clock
from shared.db import make_engine, migrate
from shared.errors import DomainError, NotFound
from shared.outbox import record_event
from shared.storage import make_store


@dataclass
class Result:
    formed: int = 0     # bills rendered or found in the cache
    announced: int = 0  # bill_formed events recorded
    skipped: int = 0    # no charge for the month (or the account is gone)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.formed} bills formed, {self.announced} announced, {self.skipped} "
                f"without a charge, {len(self.failed)} failed")


def _announce(session: Session, card: Mapping[str, Any], bill: Any, key: str,
              subscriber: PaperlessSubscriber, period: str) -> bool:
    """One bill_formed for this customer, unless this very bill was announced already."""
    if session.scalar(select(FormedBill.id).where(
            FormedBill.number == subscriber.number, FormedBill.branch == subscriber.branch,
            FormedBill.period == period, FormedBill.user_id == subscriber.user_id,
            FormedBill.content_hash == key)):
        return False
    now = clock.now()
    session.add(FormedBill(number=subscriber.number, branch=subscriber.branch, period=period,
                           user_id=subscriber.user_id, content_hash=key, formed_at=now))
    record_event(session, Outbox, "documents", "bill_formed", {
        "account_id": card["account_id"], "number": card["number"], "branch": card["branch"],
        "period": period, "content_hash": key, "total_due": str(bill.total_due),
        "due_date": bill.due_date.isoformat(), "user_id": subscriber.user_id,
        "email": subscriber.email}, now)
    return True


def _sync_subscribers(session: Session, current: list[dict[str, Any]]) -> None:
    """Add consents the copy missed (given before documents kept it); events keep the rest."""
    for item in current:
        key = (item["user_id"], item["number"], item["branch"])
        if session.get(PaperlessSubscriber, key) is None:
            session.add(PaperlessSubscriber(user_id=item["user_id"], number=item["number"],
                                            branch=item["branch"], email=item["email"],
                                            changed_at=clock.now()))
    session.commit()


def form_bills(config: Mapping[str, Any], period: str, progress: bool = True) -> Result:
    """Form and announce the month's bills of every paperless account (see the module)."""
    bills.check_period(period)
    url = settings.database_url(config, "documents")
    if config.get("MIGRATE_ON_START", True):
        migrate(MIGRATIONS, url)
    engine = make_engine(url, pool_size=1)
    store = make_store(config, "documents")
    result = Result()
    try:
        timeout = float(config.get("RPC_TIMEOUT") or 10)
        with sessionmaker(bind=engine, expire_on_commit=False)() as session:
            with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"]}, timeout=timeout) as rpc:
                _sync_subscribers(session, rpc.accounts.paperless_subscribers())
            by_account: dict[tuple[str, str], list[PaperlessSubscriber]] = defaultdict(list)
            for row in session.scalars(select(PaperlessSubscriber).order_by(
                    PaperlessSubscriber.number, PaperlessSubscriber.branch)):
                by_account[(row.number, row.branch)].append(row)
            session.rollback()  # no transaction held while rendering
            with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"]}, timeout=timeout) as rpc:
                for (number, branch), subscribers in tqdm(
                        by_account.items(), desc=f"bills {period}", unit="bill",
                        disable=not progress):
                    try:
                        card, bill = bills.fetch(rpc.accounts, rpc.readings, rpc.payments,
                                                 number, branch, period)
                        key, _ = bills.cached_pdf(store, bill)
                    except NotFound:
                        result.skipped += 1
                        continue
                    except (DomainError, DocumentError, RemoteError) as exc:
                        result.failed.append(f"{branch}/{number}: {exc}")
                        continue
                    result.formed += 1
                    result.announced += sum(_announce(session, card, bill, key, s, period)
                                            for s in subscribers)
                    session.commit()
    finally:
        engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.documents.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    form = commands.add_parser("form-bills", help="form and announce a month's e-mailed bills")
    form.add_argument("--period", help="the billed month, YYYY-MM (default: the month that "
                                       "ended, for a monthly schedule)")
    form.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.period is None:
        today = clock.now().date()
        year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
        args.period = f"{year:04d}-{month:02d}"
    try:
        bills.check_period(args.period)
    except DomainError:
        parser.error("--period must be YYYY-MM")
    result = form_bills(settings.load(), args.period, progress=not args.quiet)
    for line in result.failed:
        print(f"failed: {line}", file=sys.stderr)
    print(f"{args.period}: {result.summary()}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
