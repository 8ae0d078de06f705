"""Idempotent creating requests: the same ``Idempotency-Key`` gets the first answer.

A client sends ``Idempotency-Key`` with a POST that creates something; the gateway passes it
in nameko context data, bound to the one RPC method the route calls (a nested call never
takes it). That method, decorated with :func:`idempotent`, then runs at most once per key:

- the key row (scope, method, key) joins the transaction of the work's first commit (an
  instance ``before_commit`` listener), so the key and the effect commit together, whatever
  the domain code's own commits are; a concurrent request with the same key fails on the
  primary key there and rolls back its work whole: 409 «ещё выполняется», or the winner's
  answer if it is already stored;
- after the work returns, its answer is stored on the row (a commit allowed past the
  deadline: it records work already committed in time, so a retry after a 503 finds it);
  a method marked ``one_commit`` leaves its writes uncommitted instead, and the key's
  lookup, the work, the key row and its answer go in one transaction with one commit (the
  row is inserted with its answer: no second transaction, no UPDATE);
- a later call with the same key and the same arguments returns the stored answer without
  running anything; other arguments → 422; a row without an answer → 409 (in progress, or,
  after ``2 × RPC_TIMEOUT``, a request that never finished: use a new key);
- an error (any: 4xx, 503, a bug) rolls back and frees the key, so only successes are
  stored and a refused request can be retried with the same key.

Scope: the signed-in user, or for an anonymous caller the fingerprint itself, so guessing a
key never reveals another's answer. The fingerprint is an HMAC (``SECRET_KEY``) of the
method and its arguments in canonical JSON; the stored answer is encrypted (Fernet) with a
key derived from the scope and the whole request, so a database dump exposes neither (auth's
answers hold tokens). Keys live ``IDEMPOTENCY_KEY_HOURS``; an expired one is free again, and
expired rows are deleted by the service every ``PURGE_EVERY`` after a stored answer.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import inspect
import json
import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from cryptography.fernet import Fernet, InvalidToken
from kombu.utils.json import dumps, loads
from nameko.extensions import DependencyProvider
from sqlalchemy import String, Text, delete, event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import UTCDateTime
from shared.deadlines import beyond_deadline
from shared.errors import Conflict, ValidationFailed

if TYPE_CHECKING:
    from shared.context import Request

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
CONTEXT_KEY = "idempotency_key"  # nameko context data, set by the gateway
CONTEXT_RPC = "idempotency_rpc"  # "service.method" the key is for
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as the gateway checks it
ANONYMOUS = "anonymous:"
PURGE_EVERY = timedelta(minutes=10)

IN_PROGRESS = "Запрос с этим ключом ещё выполняется, повторите позже"
DIFFERENT = ("Ключ Idempotency-Key уже использован с другим запросом; "
             "для нового запроса нужен новый ключ")
UNFINISHED = ("Запрос с этим ключом не был завершён: проверьте, выполнен ли он, "
              "и повторите с новым ключом")

T = TypeVar("T")


def valid_key(value: object) -> bool:
    """1–255 visible ASCII characters."""
    return isinstance(value, str) and KEY_PATTERN.fullmatch(value) is not None


def context_for(key: str, rpc: str) -> dict[str, str]:
    """The context data that asks ``rpc`` ("service.method") to run once per ``key``."""
    return {CONTEXT_KEY: key, CONTEXT_RPC: rpc}


def wrap(result: Any, replayed: bool) -> dict[str, Any]:
    """The answer of an idempotent call to the gateway: the result and whether it is a replay."""
    return {"idempotency": {"replayed": replayed}, "result": result}


def unwrap(answer: Any) -> tuple[Any, bool]:
    """(result, replayed) of an answer :func:`wrap` made; anything else is a first answer."""
    if isinstance(answer, dict) and set(answer) == {"idempotency", "result"}:
        return answer["result"], bool(answer["idempotency"].get("replayed"))
    return answer, False


class IdempotencyKeyMixin:
    """Columns of a service's ``idempotency_keys`` table:
    ``class IdempotencyKey(IdempotencyKeyMixin, ReadingsBase)``."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)  # user id or anonymous
    method: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(Text)  # Fernet token of the JSON answer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class _Claim:
    """Puts the key row into the work's first commit; remembers whether it committed."""

    def __init__(self, model: type[Any], values: dict[str, Any]) -> None:
        self.model = model
        self.values = values
        self.answer: str | None = None  # known before the commit: stored with the row
        self.inserted = False  # in the open transaction
        self.committed = False
        self.lost = False  # a concurrent request with the same key committed first

    def attach(self, session: Session) -> None:
        event.listen(session, "before_commit", self.before_commit)
        event.listen(session, "after_commit", self.after_commit)
        event.listen(session, "after_rollback", self.after_rollback)

    def detach(self, session: Session) -> None:
        for name, listener in (("before_commit", self.before_commit),
                               ("after_commit", self.after_commit),
                               ("after_rollback", self.after_rollback)):
            if event.contains(session, name, listener):
                event.remove(session, name, listener)

    def before_commit(self, session: Session) -> None:
        if self.inserted or self.committed or session.in_nested_transaction():
            return
        session.flush()  # the work's own rows first: their errors stay theirs
        session.add(self.model(**self.values, answer=self.answer))
        try:
            session.flush()
        except IntegrityError:
            self.lost = True
            raise Conflict(IN_PROGRESS, {HEADER: "in progress"}, 1) from None
        self.inserted = True

    def after_commit(self, session: Session) -> None:
        self.committed = self.committed or self.inserted

    def after_rollback(self, session: Session) -> None:
        self.inserted = False


class _Keyed:
    """One worker's idempotent call: what the gateway asked and the service's settings."""

    def __init__(self, provider: "Idempotency", key: str | None, signed_in: bool) -> None:
        self.provider = provider
        self.key = key
        self.signed_in = signed_in

    def run(self, db: Session, request: Request, now: datetime, method: str,
            arguments: dict[str, Any], work: Callable[[], T], one_commit: bool = False) -> Any:
        """``work()`` once for this key (see the module's docstring); its answer wrapped.
        ``one_commit``: the work leaves its writes to commit with the key row and answer."""
        p = self.provider
        canonical = json.dumps({"method": method, "arguments": arguments}, sort_keys=True,
                               separators=(",", ":"), ensure_ascii=False, default=str).encode()
        fingerprint = hmac.new(p.secret, canonical, hashlib.sha256).hexdigest()
        scope = request.principal().user_id if self.signed_in else ANONYMOUS + fingerprint
        secret = hmac.new(p.secret, b"answer\0" + scope.encode() + b"\0" + canonical,
                          hashlib.sha256).digest()
        cipher = Fernet(base64.urlsafe_b64encode(secret))
        values = {"scope": scope, "method": method, "key": self.key,
                  "fingerprint": fingerprint, "created_at": now}
        found, earlier = self._earlier(db, values, cipher, now, keep_open=one_commit)
        if found:
            return wrap(earlier, True)
        claim = _Claim(p.model, values)
        claim.attach(db)
        stored = False
        try:
            result = work()
            answer = cipher.encrypt(dumps(result).encode()).decode()
            if one_commit:
                stored = not claim.committed  # else an earlier commit of the work took the key
                claim.answer = answer
                db.commit()  # the work's writes and the key row with its answer, in time
        except BaseException:
            claim.detach(db)
            self._release(db, claim)
            if claim.lost:  # the winner may have stored its answer meanwhile
                found, earlier = self._earlier(db, values, cipher, now)
                if found:
                    return wrap(earlier, True)
            raise
        claim.detach(db)
        if not (one_commit and stored):
            self._store(db, claim, answer)
        self._purge(db, now)
        return wrap(result, False)

    def _row(self, db: Session, values: dict[str, Any]) -> Any:
        return db.get(self.provider.model, (values["scope"], values["method"], values["key"]))

    def _earlier(self, db: Session, values: dict[str, Any], cipher: Fernet, now: datetime,
                 keep_open: bool = False) -> tuple[bool, Any]:
        """(True, answer) for a stored answer of this request; (False, None) for a free key;
        422 for the key used with other arguments, 409 while (or if) it never finished.
        The read's transaction ends, unless ``keep_open`` and the key is free (the work goes
        on in it: one transaction, one connection checkout)."""
        p = self.provider
        free = False
        try:
            row = self._row(db, values)
            if row is not None and row.created_at <= now - p.ttl:
                db.delete(row)  # expired: the key is free again
                db.commit()
                row = None
            if row is None:
                free = True
                return False, None
            if not hmac.compare_digest(row.fingerprint, values["fingerprint"]):
                raise ValidationFailed(DIFFERENT, {HEADER: "used with a different request"})
            if row.answer is None:
                if row.created_at > now - p.stale:
                    raise Conflict(IN_PROGRESS, {HEADER: "in progress"}, 1)
                raise Conflict(UNFINISHED, {HEADER: "never finished: use a new key"})
            try:
                return True, loads(cipher.decrypt(row.answer.encode()))
            except InvalidToken:  # SECRET_KEY changed since: the answer cannot be read
                raise Conflict(UNFINISHED, {HEADER: "answer unreadable: use a new key"}) \
                    from None
        finally:
            if not (free and keep_open):
                db.rollback()  # end the read: no lock is held while the work calls others

    def _release(self, db: Session, claim: _Claim) -> None:
        """After a failed work: roll back and free the key its earlier commit may have taken."""
        try:
            db.rollback()
            if claim.committed:
                model = self.provider.model
                with beyond_deadline():
                    db.execute(delete(model).where(*self._pk(claim), model.answer.is_(None)))
                    db.commit()
        except Exception:  # the database is gone too: the row ends as "unfinished"
            log.warning("could not free an idempotency key", exc_info=True)
            db.rollback()

    def _pk(self, claim: _Claim) -> Iterable[Any]:
        model, values = self.provider.model, claim.values
        return (model.scope == values["scope"], model.method == values["method"],
                model.key == values["key"])

    def _store(self, db: Session, claim: _Claim, answer: str) -> None:
        """Keep the answer. Past the deadline too: the effect committed in time, and the
        retry that follows a 503 must find it."""
        model = self.provider.model
        with beyond_deadline():
            try:
                if claim.committed:
                    db.execute(update(model).where(*self._pk(claim)).values(answer=answer))
                else:  # the work committed nothing (and left nothing to commit)
                    db.rollback()
                    db.add(model(**claim.values, answer=answer))
                db.commit()
            except IntegrityError:  # a concurrent request took the key: it answers for it
                db.rollback()

    def _purge(self, db: Session, now: datetime) -> None:
        """Delete expired keys, at most every PURGE_EVERY per process."""
        p = self.provider
        if p.last_purge is not None and now - p.last_purge < PURGE_EVERY:
            return
        p.last_purge = now
        try:
            with beyond_deadline():
                db.execute(delete(p.model).where(p.model.created_at <= now - p.ttl))
                db.commit()
        except Exception:  # next time; an expired key is free anyway
            log.warning("purging expired idempotency keys failed", exc_info=True)
            db.rollback()


class Idempotency(DependencyProvider):
    """A service's idempotency keys: ``idempotency = Idempotency(IdempotencyKey)``; the
    methods to guard carry :func:`idempotent` under ``@rpc``."""

    def __init__(self, model: type[Any]) -> None:
        self.model = model
        self.last_purge: datetime | None = None

    def setup(self) -> None:
        config = self.container.config
        self.ttl = timedelta(hours=float(config.get("IDEMPOTENCY_KEY_HOURS", 24)))
        # A worker may run until the gateway's deadline; a row still unanswered well after
        # it belongs to a request that died (or whose answer was lost).
        self.stale = timedelta(seconds=2 * float(config.get("RPC_TIMEOUT", 10)))
        self.secret = str(config.get("SECRET_KEY", "")).encode()

    def get_dependency(self, worker_ctx: Any) -> _Keyed:
        data = worker_ctx.data
        key = data.get(CONTEXT_KEY)
        rpc = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        if data.get(CONTEXT_RPC) != rpc or not valid_key(key):
            key = None  # not asked, or asked of another method (context data is inherited)
        return _Keyed(self, key, bool(data.get("authorization")))


def idempotent(fn: Callable[..., T] | None = None, *, ignore: tuple[str, ...] = (),
               one_commit: bool = False) -> Any:
    """Run an RPC method once per ``Idempotency-Key`` (see the module's docstring). The
    service needs ``idempotency = Idempotency(Model)``, ``db``, ``clock`` and ``request``.
    ``ignore``: arguments left out of the fingerprint (a captcha, new on every try).
    ``one_commit``: the method leaves its last writes uncommitted and the wrapper commits
    them (with the key row and its answer when a key came); it is called inside the key
    lookup's transaction, so it must end it (``db.rollback()``) before calling another
    service, as it would its own."""

    def decorate(method: Callable[..., T]) -> Callable[..., Any]:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            keyed: _Keyed = self.idempotency
            if keyed.key is None:
                result = method(self, *args, **kwargs)
                if one_commit:
                    self.db.commit()
                return result
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = {name: value for name, value in list(bound.arguments.items())[1:]
                         if name not in ignore}
            return keyed.run(self.db, self.request, self.clock.now(), method.__name__,
                             arguments, lambda: method(self, *args, **kwargs), one_commit)

        wrapper.__signature__ = signature  # type: ignore[attr-defined]  # nameko checks calls
        wrapper.idempotent = True  # type: ignore[attr-defined]
        return wrapper

    return decorate(fn) if fn is not None else decorate


def create_table_v1(op: Any) -> None:
    """The table as each service's migration "idempotency_keys" creates it (Alembic's
    ``op``). Frozen: a later change of the mixin is a new function and new migrations."""
    import sqlalchemy as sa

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "method", "key"))
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"],
                    unique=False)


def drop_table_v1(op: Any) -> None:
    """Undoes :func:`create_table_v1`."""
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
