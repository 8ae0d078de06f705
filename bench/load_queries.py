"""What one keyed reading submission costs readings alone: the SQL statements and transactions
it sends, and its CPU time, with no bus (``ReadingsService.submit`` called directly, its
Idempotency-Key wrapper included, on a temp SQLite file migrated as the service does).

    .venv/bin/python -m bench.load_queries [--n 300] [--profile]

It prints the statements of one submission (first words), their count, the transactions
(``BEGIN``), and CPU ms per submission over ``--n`` more (each on its own account and meter,
so each is a first reading); ``--profile`` adds cProfile's top functions by total time.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from services.readings.models import AccountGrant, IdempotencyKey, Meter, Outbox
from services.readings.service import MIGRATIONS, ReadingsService
from shared import settings
from shared.db import make_engine, migrate
from shared.idempotency import Idempotency, _Keyed

NOW = datetime(2026, 3, 20, 9, 30, tzinfo=timezone.utc)  # inside the reading window
USER = "u1"


class _Caller:
    user_id = USER

    def principal(self) -> "_Caller":
        return self


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_queries")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'readings.db'}"
    migrate(MIGRATIONS, url)
    engine = make_engine(url, 5, 5)
    Session = sessionmaker(bind=engine, expire_on_commit=False)
    with Session() as db:
        for i in range(args.n + 1):
            db.add(Meter(account_id=i, number=f"{i:010d}", branch="krasnodar", serial=f"S{i}",
                         zones=1, digits=6, installed_on=date(2020, 1, 1)))
            db.add(AccountGrant(user_id=USER, account_id=i, number=f"{i:010d}",
                                branch="krasnodar", role="holder", access="full", version=1,
                                revoked=False, changed_at=NOW))
        db.commit()
    config = settings.load(READING_WINDOW_START_DAY=15, READING_WINDOW_END_DAY=25)
    keys = Idempotency(IdempotencyKey)
    keys.ttl, keys.stale, keys.secret = timedelta(hours=24), timedelta(seconds=20), b"bench"
    keys.last_purge = NOW  # the hourly purge of expired keys is not per submission

    def submit(i: int) -> Any:
        service = ReadingsService.__new__(ReadingsService)
        service.db, service.config, service.request = Session(), config, _Caller()
        service.clock = SimpleNamespace(now=lambda: NOW)
        service.outbox = SimpleNamespace(model=Outbox)
        service.idempotency = _Keyed(keys, str(uuid.uuid4()), signed_in=True)
        try:
            return ReadingsService.submit(service, account_id=i, meter_serial=f"S{i}",
                                          values=[100 + i])
        finally:
            service.db.close()

    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_rest: statements.append(" ".join(sql.split()[:4])))
    submit(0)
    print("one submission:", *statements, sep="\n  ")
    print(f"{len(statements)} statements, "
          f"{sum(s.startswith('BEGIN') for s in statements)} transactions")
    profiler = cProfile.Profile() if args.profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    for i in range(1, args.n + 1):
        submit(i)
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    print(f"CPU ms per submission: {(time.process_time() - started) * 1000 / args.n:.2f}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
