"""Who may act on which account, decided by each service alone (no RPC to accounts per call).

The ownership rule is accounts' (``Links.access``): not linked → NotFound, as if the account
did not exist; a read-only link asked for 'full' → Forbidden. Readings, payments, documents
and requests used to ask accounts (``check_access``) on every call, so accounts being down
took them down too. Now each keeps a copy of the grants user↔account in its own table
``account_grants``, fed by accounts' events and decided locally:

- ``account_linked`` / ``account_access_changed`` → the grant (upsert);
  ``account_unlinked`` → a tombstone (kept, so a late older "linked" cannot bring it back);
  ``auth.user_deleted`` → the user's rows go.
- Every event carries the grant's ``version`` (accounts counts the changes of one user's
  access to one account, ``grant_versions``). A state is replaced only by a higher version
  (a tombstone also by an equal one), in one conditional upsert: events may arrive in any
  order (retries, redeliveries) and twice, and the newest state stays.
- A grant not in the table, or a tombstone (a link made just now, whose event is still on
  its way; a link made again), is asked of accounts as before (``check_access``, at most
  ``OPTIONAL_CALL_TIMEOUT``) and the answer is remembered unless a newer state came meanwhile.
  If accounts cannot answer, the table is the answer (NotFound) once it is complete;
  before that, 503.
- The table is complete once the start-up load has listed every grant that accounts had
  (``accounts.grants_page``, paged, in the background, retried while accounts is down; once
  per database, recorded in ``account_grants_load``): links made before this service kept
  grants, or before its event queues existed.

A service uses it with::

    class ReadingsService(GrantsMixin, ServiceBase):
        grant_model = AccountGrant              # class AccountGrant(AccountGrantMixin, Base)
        grants_load_model = AccountGrantsLoad   # class AccountGrantsLoad(GrantsLoadMixin, Base)
        accounts = RpcProxy("accounts")
        ...
        access = self.allowed(account_id, "full")   # {"account_id", "number", "branch", ...}
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import Integer, String, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.clock import clock
from shared.consumers import reliable_event_handler
from shared.db import Database, UTCDateTime
from shared.errors import Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from shared.events import parse_envelope
from shared.service import OPTIONAL_CALL_TIMEOUT

log = logging.getLogger(__name__)

PAGE_SIZE = 500  # grants per page of the start-up load


class AccountGrantMixin:
    """Columns of a service's ``account_grants``: ``class AccountGrant(AccountGrantMixin, Base)``."""

    __tablename__ = "account_grants"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str] = mapped_column(String(32))
    role: Mapped[str | None] = mapped_column(String(10))  # holder | trusted; None: tombstone
    access: Mapped[str | None] = mapped_column(String(10))  # full | read; None: tombstone
    version: Mapped[int] = mapped_column(Integer)
    revoked: Mapped[bool] = mapped_column(default=False)  # unlinked: a tombstone
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GrantsLoadMixin:
    """Progress of the start-up load (one row): where it got to, and when it was complete."""

    __tablename__ = "account_grants_load"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    after_id: Mapped[int] = mapped_column(Integer, default=0)  # accounts' link id
    loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def create_tables_v1(op: Any) -> None:
    """The tables as each service's migration "account_grants" creates them (Alembic's
    ``op``). Frozen: a later change of the mixins is a new function and new migrations."""
    import sqlalchemy as sa

    op.create_table(
        "account_grants",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=True),
        sa.Column("access", sa.String(length=10), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "account_id"))
    op.create_table(
        "account_grants_load",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("after_id", sa.Integer(), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"))


def drop_tables_v1(op: Any) -> None:
    op.drop_table("account_grants_load")
    op.drop_table("account_grants")


# ---- the rule ----------------------------------------------------------------------------

def not_linked() -> NotFound:
    return NotFound("Лицевой счёт не найден", {"account_id": "not linked to you"})


def read_only() -> Forbidden:
    return Forbidden("У вас доступ только для просмотра этого счёта",
                     {"account_id": "read-only access"})


def require_account_id(account_id: object) -> int:
    if not isinstance(account_id, int) or isinstance(account_id, bool):
        raise ValidationFailed("Неверный лицевой счёт", {"account_id": "must be an integer"})
    return account_id


def decide(grant: Any, need: str) -> dict[str, Any]:
    """``grant`` (a row, or None) as accounts' check_access answers it, if it allows ``need``
    ('read' or 'full'); else NotFound or Forbidden as accounts raises them."""
    if grant is None or grant.revoked:
        raise not_linked()
    if need == "full" and grant.access != "full":
        raise read_only()
    return {"account_id": grant.account_id, "number": grant.number, "branch": grant.branch,
            "role": grant.role, "access": grant.access, "version": grant.version}


# ---- applying accounts' word -------------------------------------------------------------

def apply(db: Session, model: type[Any], grant: dict[str, Any], now: datetime,
          revoked: bool = False) -> None:
    """Record ``grant`` (an event's payload or check_access's answer, with ``user_id``) unless
    the table holds a newer state of it. One statement, so concurrent events cannot race."""
    values = {"user_id": grant["user_id"], "account_id": grant["account_id"],
              "number": grant["number"], "branch": grant["branch"],
              "role": None if revoked else grant["role"],
              "access": None if revoked else grant["access"],
              "version": int(grant.get("version") or 0), "revoked": revoked, "changed_at": now}
    insert = {"postgresql": postgresql_insert,
              "sqlite": sqlite_insert}[db.get_bind().dialect.name](model).values(**values)
    current = model.__table__.c.version
    # A tombstone wins a tie: versions before they were kept are all 0.
    newer = current <= insert.excluded.version if revoked else current < insert.excluded.version
    db.execute(insert.on_conflict_do_update(
        index_elements=["user_id", "account_id"],
        set_={k: v for k, v in values.items() if k not in ("user_id", "account_id")},
        where=newer))


def forget_user(db: Session, model: type[Any], user_id: str) -> None:
    """auth.user_deleted: the user's grants and tombstones go (152-ФЗ)."""
    db.execute(delete(model).where(model.user_id == user_id))


# ---- the start-up load -------------------------------------------------------------------

class GrantsLoader(DependencyProvider):
    """Fills the service's ``account_grants`` at start from ``accounts.grants_page``, in the
    background, retried with a doubling pause while accounts is down; once per database."""

    def setup(self) -> None:
        service = self.container.service_cls
        self.model, self.load_model = service.grant_model, service.grants_load_model
        self.database = next(dep for dep in self.container.dependencies
                             if isinstance(dep, Database))
        self.complete = False

    def start(self) -> None:
        self.container.spawn_managed_thread(self.load)

    def get_dependency(self, worker_ctx: Any) -> "GrantsLoader":
        return self

    def load(self, first_delay: float = 0.5, max_delay: float = 30) -> None:
        delay = first_delay
        while not self.complete:
            try:
                self.complete = self._load()
            except Exception as exc:  # accounts down or slow, the database away: later
                log.warning("grants: loading from accounts failed (%r); retrying in %.1f s",
                            exc, delay)
                eventlet.sleep(delay)
                delay = min(delay * 2, max_delay)

    def _load(self) -> bool:
        session = self.database.Session()
        try:
            state = session.get(self.load_model, 1)
            if state is None:
                state = self.load_model(id=1, after_id=0)
                session.add(state)
                session.commit()
            if state.loaded_at is not None:
                return True
            with ClusterRpcProxy(self.container.config, timeout=30) as cluster:
                while True:
                    session.commit()  # hold no transaction (no SQLite lock) across the call
                    page = cluster.accounts.grants_page(after_id=state.after_id, limit=PAGE_SIZE)
                    now = clock.now()
                    for grant in page["grants"]:
                        apply(session, self.model, grant, now)
                    if page["next_after_id"] is None:
                        state.loaded_at = now
                        session.commit()
                        log.info("grants: loaded from accounts")
                        return True
                    state.after_id = page["next_after_id"]
                    session.commit()
        finally:
            session.close()

    def is_complete(self, db: Session) -> bool:
        """Whether the table holds every grant (the load finished here or in another replica)."""
        if not self.complete:
            state = db.get(self.load_model, 1)
            self.complete = state is not None and state.loaded_at is not None
        return self.complete


# ---- the service's side ------------------------------------------------------------------

class GrantsMixin:
    """Event handlers and the ownership check for a service that decides alone (see the
    module's docstring). The service declares ``grant_model``, ``grants_load_model`` and
    ``accounts = RpcProxy("accounts")``."""

    grant_model: type
    grants_load_model: type
    grants_loader = GrantsLoader()
    db: Any
    request: Any
    accounts: Any

    def allowed(self, account_id: Any, need: str = "read") -> dict[str, Any]:
        """The caller's grant on ``account_id`` if it allows ``need`` ('read' or 'full'), in
        check_access's shape (with the account's ``tariff_category`` when accounts was asked
        now); NotFound or Forbidden as accounts answers. Call it before the worker writes
        anything: asking accounts ends the session's transaction."""
        user_id = self.request.principal().user_id
        account_id = require_account_id(account_id)
        grant = self.db.get(self.grant_model, (user_id, account_id))
        if grant is not None and not grant.revoked:
            return decide(grant, need)
        self.db.rollback()  # hold no transaction (on SQLite: the write lock) across the call
        try:
            with eventlet.Timeout(OPTIONAL_CALL_TIMEOUT):
                answer = self.accounts.check_access.call_async(
                    account_id=account_id, need="read").result()
        except (UnknownService, ServiceUnavailable, eventlet.Timeout):  # DeadlineExceeded too
            if grant is None and not self.grants_loader.is_complete(self.db):
                raise ServiceUnavailable("Сервис лицевых счетов недоступен, попробуйте позже",
                                         {"service": "accounts"}) from None
            raise not_linked() from None
        apply(self.db, self.grant_model, {**answer, "user_id": user_id}, clock.now())
        self.db.commit()
        grant = self.db.get(self.grant_model, (user_id, account_id), populate_existing=True)
        return {**decide(grant, need), "tariff_category": answer.get("tariff_category")}

    def _grant_event(self, body: dict[str, Any], revoked: bool) -> None:
        apply(self.db, self.grant_model, parse_envelope(body)["payload"], clock.now(), revoked)
        self.db.commit()

    # Applying an event twice changes nothing (the version guard), so these need no claim in
    # processed_events, which would also hide the event from the service's other handlers.
    @reliable_event_handler("accounts", "account_linked")
    def grant_linked(self, body: dict[str, Any]) -> None:
        self._grant_event(body, revoked=False)

    @reliable_event_handler("accounts", "account_access_changed")
    def grant_access_changed(self, body: dict[str, Any]) -> None:
        self._grant_event(body, revoked=False)

    @reliable_event_handler("accounts", "account_unlinked")
    def grant_unlinked(self, body: dict[str, Any]) -> None:
        self._grant_event(body, revoked=True)

    @reliable_event_handler("auth", "user_deleted")
    def grant_user_deleted(self, body: dict[str, Any]) -> None:
        forget_user(self.db, self.grant_model, parse_envelope(body)["payload"]["user_id"])
        self.db.commit()
