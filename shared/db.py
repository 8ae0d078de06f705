"""A database per service: SQLAlchemy 2 engine, session per worker, Alembic at start.

SQLite file under $VAR_DIR by default; PostgreSQL (psycopg2, cooperative under eventlet)
when the service's ``<NAME>_DATABASE_URL`` is set.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from nameko.extensions import DependencyProvider
from sqlalchemy import BigInteger, DateTime, Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from shared import settings

log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite too (which stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Money(TypeDecorator):
    """Rubles as ``Decimal``, stored as whole kopecks (SQLite has no exact decimal type)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        kopecks = Decimal(value) * 100
        if kopecks != kopecks.to_integral_value():
            raise ValueError(f"{value} is not a whole number of kopecks")
        return int(kopecks)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


def make_engine(url: str, pool_size: int = 10, max_overflow: int | None = None) -> Engine:
    """An engine keeping ``pool_size`` connections and opening up to ``max_overflow`` more
    at a peak (default: as many again)."""
    overflow = pool_size if max_overflow is None else max_overflow
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pool: dict[str, Any] = {"pool_size": pool_size, "max_overflow": overflow}
        else:  # one in-memory database lives only as long as its one connection
            pool = {"poolclass": StaticPool}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **pool)
        _serialize_sqlite_transactions(engine)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=overflow)
    _ping_idle_connections(engine)
    return engine


PING_AFTER_IDLE = 5.0  # seconds a pooled PostgreSQL connection may rest before it is pinged


def _ping_idle_connections(engine: Engine, idle: float = PING_AFTER_IDLE) -> None:
    """Ping a pooled connection at checkout only if it rested ``idle`` seconds or more.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: one round trip per transaction,
    5 % of readings' Python CPU per submission on PostgreSQL. A connection used a moment ago
    is alive but for a fault just then; that fault (a terminated backend, a restart) fails
    the first statement instead, which SQLAlchemy reports as a disconnect and answers by
    recycling every pooled connection as old as the fault, and the worker answers 503
    (shared.deadlines). A connection that rested (a quiet night, a proxy's idle timeout) is
    still pinged first, and replaced silently if dead.
    """

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info["nesk_used"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _rested_from(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["nesk_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("nesk_used", 0.0) < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)  # what pool_pre_ping runs
        except Exception as exc:  # dead: the pool drops it and checks out another
            raise DisconnectionError(repr(exc)) from exc


def _serialize_sqlite_transactions(engine: Engine) -> None:
    """One transaction at a time per process on a SQLite file, waited for cooperatively.

    SQLite has one writer. Its busy wait is a blocking C call: under eventlet it would freeze
    the whole process, including the greenlet holding the lock (a deadlock until the timeout),
    and a read transaction that later writes fails outright if another wrote meanwhile. So a
    (green) lock is taken when a transaction begins and released when it ends, and the
    transaction begins IMMEDIATE (the write lock up front, for other processes such as the
    admin command). PostgreSQL needs none of this.
    """
    lock = threading.Lock()  # green once eventlet has patched threading

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the events below issue BEGIN themselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers in other processes don't block
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if not lock.acquire(timeout=60):
            raise TimeoutError("SQLite database busy for 60 s")
        conn.info["nesk_lock"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if conn.info.pop("nesk_lock", False):  # a rollback event may have released it
                lock.release()
            raise

    def _end(conn: Any) -> None:
        if conn.info.pop("nesk_lock", False):
            lock.release()

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)


def dialect_insert(session: Session, model: type) -> Any:
    """The INSERT of the session's database (PostgreSQL's or SQLite's), with ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect](model)


def insert_if_absent(session: Session, model: type, **values: Any) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: two workers may create the same row at once."""
    session.execute(dialect_insert(session, model).values(**values).on_conflict_do_nothing())


# Alembic keeps its migration context in a module global: two services starting in one
# process (tests, or one runner with several services) must migrate one after the other.
_MIGRATING = threading.Lock()


def migrate(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Apply a service's Alembic migrations (``services/<name>/migrations``) to ``url``, then
    refresh the planner's statistics (:func:`analyze`): each start of a service does both."""
    with _MIGRATING:
        _migrate(migrations_dir, url, revision)
    if url.split("///", 1)[-1] not in ("", ":memory:"):  # (a new in-memory one: nothing to see)
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                analyze(conn)
        finally:
            engine.dispose()


def analyze(conn: Any, tables: tuple[str, ...] = ()) -> None:
    """Gather the query planner's statistics (``ANALYZE``) of ``tables`` (default: all), in
    the caller's transaction. SQLite gathers none by itself: without them it guesses, and
    e.g. looks a member's earlier readings up through the period index (every reading of
    the month) instead of the account's; ``analysis_limit`` keeps it to a sample, so it is
    quick on a large file too. PostgreSQL's autovacuum analyzes as tables change; this
    only makes it at once (after migrations and bulk loads)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        for table in tables or ("",):
            conn.exec_driver_sql(f"ANALYZE {table}".strip())
    else:
        conn.exec_driver_sql("ANALYZE " + ", ".join(tables))


def _migrate(migrations_dir: Path, url: str, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(cfg, revision)


def run_migrations_online(target_metadata: Any, service: str) -> None:
    """Body of every service's ``migrations/env.py``. The version table is named per service,
    so two services can never confuse their migration states."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together: one migrates, the others wait, then find it done.
            connection.execute(text("SELECT pg_advisory_lock(hashtext('alembic'))"))
            connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          version_table=f"alembic_version_{service}",
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


class Database(DependencyProvider):
    """One engine per container, one Session per worker (closed at teardown).

    The worker gets a ``sessionmaker``-made Session; it commits explicitly, so a change and
    its outbox events go in one transaction. Uncommitted work is rolled back at teardown.
    Nothing here raises out of a container hook: an exception from ``worker_teardown`` (or
    ``stop``/``kill``) would make nameko kill the whole container, so a database that dropped
    the connection (PostgreSQL terminated it, the server restarted) fails that worker only.
    """

    def __init__(self, service: str, migrations_dir: Path | None = None) -> None:
        self.service = service
        self.migrations_dir = migrations_dir
        self.sessions: dict[Any, Session] = {}

    def setup(self) -> None:
        config = self.container.config
        url = settings.database_url(config, self.service)
        if self.migrations_dir and config.get("MIGRATE_ON_START", True):
            migrate(self.migrations_dir, url)
        # The process's share of the server's connections (PostgreSQL: max_connections 100 by
        # default): a worker beyond it waits for a free connection (up to 30 s).
        self.engine = make_engine(url, pool_size=int(config.get("DB_POOL_SIZE", 5)),
                                  max_overflow=int(config.get("DB_MAX_OVERFLOW", 5)))
        self.Session = sessionmaker(bind=self.engine, expire_on_commit=False)

    def stop(self) -> None:
        self._dispose()

    def kill(self) -> None:
        self._dispose()

    def _dispose(self) -> None:
        try:
            self.engine.dispose()
        except Exception:  # connections already dead; the process is going anyway
            log.warning("closing the database pool failed", exc_info=True,
                        extra={"db_service": self.service})

    def get_dependency(self, worker_ctx: Any) -> Session:
        session = self.Session()  # connects lazily, at the first statement: nothing to fail
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx: Any) -> None:
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            release_session(session, self.service)


def release_session(session: Session, service: str = "") -> None:
    """Close a worker's session (rolling back what it left uncommitted) without raising.

    On a connection the server has terminated, the rollback inside ``close()`` fails: the
    error is logged and the session's connections are invalidated, so the pool drops them
    instead of handing a dead one to the next worker.
    """
    try:
        session.close()
    except Exception as exc:
        log.warning("closing a database session failed; its connection is discarded",
                    extra={"db_service": service, "error": repr(exc)})
        try:
            session.invalidate()
        except Exception:  # nothing more to release
            log.debug("invalidating the session failed too", exc_info=True)
