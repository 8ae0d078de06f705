"""shared.idempotency without a broker: a decorated method on a real SQLite file runs once per
key, its key row commits with its first commit, errors free the key, and the web cabinet's
forms carry a key that web/api.py sends."""
from __future__ import annotations

import importlib
import inspect
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from sqlalchemy import Integer, String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from gateway.routes import ROUTES
from shared import deadlines, settings
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.idempotency import (ANONYMOUS, Idempotency, IdempotencyKeyMixin, _Keyed,
                                idempotent, unwrap, valid_key)
from web.api import Api, ApiError
from web.app import create_app

NOW = datetime(2026, 3, 20, 9, 30, tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


class Key(IdempotencyKeyMixin, Base):
    pass


class Principal:
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id


class Request:
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id

    def principal(self) -> Principal:
        return Principal(self.user_id)


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


def provider() -> Idempotency:
    keys = Idempotency(Key)
    keys.ttl, keys.stale, keys.secret = timedelta(hours=24), timedelta(seconds=20), b"pepper"
    return keys


class Notes:
    """A service-like object: what the decorator needs (db, clock, request, idempotency)."""

    def __init__(self, db: Session, keys: Idempotency, key: str | None, user: str | None = "u1",
                 clock: Clock | None = None) -> None:
        self.db, self.clock = db, clock or Clock()
        self.request = Request(user or "")
        self.idempotency = _Keyed(keys, key, signed_in=user is not None)
        self.runs = 0
        self.before_commit = lambda: None

    @idempotent
    def write(self, text: str, fail_after_commit: bool = False) -> dict[str, Any]:
        self.runs += 1
        if text == "refused":
            raise NotFound("Нет такого", {"text": "unknown"})
        note = Note(text=text)
        self.db.add(note)
        self.before_commit()
        self.db.commit()
        if fail_after_commit:
            raise ValidationFailed("После записи", {"text": "bad"})
        return {"id": note.id, "text": text}

    @idempotent(ignore=("captcha",))
    def quick(self, text: str, captcha: str) -> dict[str, Any]:
        return self.write.__wrapped__(self, text)


@pytest.fixture
def engine(tmp_path) -> Iterator[Any]:
    engine = create_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def count(db: Session, model: type) -> int:
    value = db.scalar(select(func.count()).select_from(model))
    db.rollback()
    return value


def test_the_same_key_runs_once_and_replays_the_first_answer(db):
    keys = provider()
    first = Notes(db, keys, "k-1").write("one")
    assert unwrap(first) == ({"id": 1, "text": "one"}, False)
    service = Notes(db, keys, "k-1")
    assert unwrap(service.write("one")) == ({"id": 1, "text": "one"}, True)
    assert service.runs == 0 and count(db, Note) == 1


def test_without_a_key_nothing_is_kept(db):
    keys = provider()
    assert Notes(db, keys, None).write("one") == {"id": 1, "text": "one"}
    assert Notes(db, keys, None).write("one") == {"id": 2, "text": "one"}
    assert count(db, Key) == 0


def test_the_same_key_with_other_arguments_is_refused(db):
    keys = provider()
    Notes(db, keys, "k-1").write("one")
    with pytest.raises(ValidationFailed) as refused:
        Notes(db, keys, "k-1").write("two")
    assert refused.value.fields == {"Idempotency-Key": "used with a different request"}
    assert count(db, Note) == 1


def test_users_and_methods_have_keys_of_their_own(db):
    keys = provider()
    Notes(db, keys, "k-1", user="u1").write("one")
    assert unwrap(Notes(db, keys, "k-1", user="u2").write("one"))[1] is False
    assert count(db, Note) == 2


def test_an_anonymous_caller_never_gets_anothers_answer(db):
    keys = provider()
    Notes(db, keys, "k-1", user=None).quick("one", captcha="a")
    # Same request, new captcha: the first answer; another request, same key: its own.
    assert unwrap(Notes(db, keys, "k-1", user=None).quick("one", captcha="b")) == (
        {"id": 1, "text": "one"}, True)
    assert unwrap(Notes(db, keys, "k-1", user=None).quick("two", captcha="c")) == (
        {"id": 2, "text": "two"}, False)
    scopes = db.scalars(select(Key.scope)).all()
    assert len(scopes) == 2 and all(s.startswith(ANONYMOUS) for s in scopes)


def test_an_error_frees_the_key_and_stores_nothing(db):
    keys = provider()
    with pytest.raises(NotFound):
        Notes(db, keys, "k-1").write("refused")
    with pytest.raises(ValidationFailed):  # the key row had committed with the note
        Notes(db, keys, "k-1").write("one", fail_after_commit=True)
    assert count(db, Key) == 0
    assert unwrap(Notes(db, keys, "k-1").write("one", fail_after_commit=False))[1] is False


def test_the_answer_is_stored_encrypted(db):
    Notes(db, provider(), "k-1").write("секрет")
    row = db.scalars(select(Key)).one()
    assert row.answer and "секрет" not in row.answer and "u1" == row.scope


def test_a_concurrent_request_that_commits_first_wins(db, engine):
    """Both found the key free; the one whose commit comes second rolls back its work whole."""
    keys = provider()
    loser = Notes(db, keys, "k-1")

    def the_other_commits_first() -> None:
        with Session(engine, expire_on_commit=False) as other:
            Notes(other, keys, "k-1").write("one")

    loser.before_commit = the_other_commits_first
    replay = loser.write("one")  # the winner's answer is there already
    assert unwrap(replay) == ({"id": 1, "text": "one"}, True)
    assert count(db, Note) == 1


def test_a_key_still_running_is_a_409(db, engine):
    keys = provider()
    with Session(engine, expire_on_commit=False) as other:
        other.add(Key(scope="u1", method="write", key="k-1", created_at=NOW,
                      fingerprint=_fingerprint(db, keys, "one")))
        other.commit()
    with pytest.raises(Conflict) as running:
        Notes(db, keys, "k-1").write("one")
    assert running.value.fields == {"Idempotency-Key": "in progress"}
    assert running.value.retry_after == 1
    late = Clock()
    late.at = NOW + timedelta(minutes=5)  # long past any deadline: it never finished
    with pytest.raises(Conflict) as unfinished:
        Notes(db, keys, "k-1", clock=late).write("one")
    assert "new key" in unfinished.value.fields["Idempotency-Key"]
    assert count(db, Note) == 0


def _fingerprint(db: Session, keys: Idempotency, text: str) -> str:
    """The fingerprint write(text) gets, read from a scratch run under another user."""
    Notes(db, keys, "probe", user="probe").write(text)
    fingerprint = db.scalar(select(Key.fingerprint).where(Key.scope == "probe"))
    db.query(Key).filter(Key.scope == "probe").delete()
    db.query(Note).delete()
    db.commit()
    return fingerprint


def test_an_expired_key_is_free_again_and_purged(db):
    keys = provider()
    Notes(db, keys, "k-1").write("one")
    later = Clock()
    later.at = NOW + timedelta(hours=25)
    assert unwrap(Notes(db, keys, "k-2", clock=later).write("two"))[1] is False
    assert db.scalars(select(Key.key)).all() == ["k-2"]  # k-1 purged
    assert unwrap(Notes(db, keys, "k-1", clock=later).write("one"))[1] is False


def test_the_answer_is_kept_when_the_work_ends_past_its_deadline(db):
    """The effect committed in time; storing its answer must not be refused by the deadline
    guard, or the retry after the gateway's 503 would find no answer."""
    service = Notes(db, provider(), "k-1")

    def deadline_passes() -> None:
        deadlines._worker.data = {deadlines.KEY: time.time() + 0.05}

    service.before_commit = deadline_passes
    original_commit = db.commit

    def commit_then_wait() -> None:
        original_commit()
        time.sleep(0.1)

    db.commit = commit_then_wait  # type: ignore[method-assign]
    try:
        service.write("one")
        db.add(Note(text="late"))
        with pytest.raises(deadlines.DeadlineExceeded):
            original_commit()  # anything else is refused now
        db.rollback()
    finally:
        deadlines._worker.data = None
        del db.commit
    row = db.scalars(select(Key)).one()
    assert row.answer is not None


def test_valid_keys():
    assert valid_key("a") and valid_key("~" * 255) and valid_key(str(uuid.uuid4()))
    assert not any(valid_key(k) for k in ("", "a" * 256, "a b", "ключ", None, 5))


def test_every_idempotent_route_calls_a_method_that_keeps_keys():
    """The gateway's flag without the service's decorator would promise what nobody keeps
    (and a decorated method no route flags is a flag forgotten)."""
    flagged: dict[str, bool] = {}
    for route in ROUTES:
        flagged[route.rpc] = flagged.get(route.rpc, False) or route.idempotent
        assert not route.idempotent or route.method == "POST", route.rpc
    for rpc, wanted in flagged.items():
        service, method = rpc.split(".")
        module = importlib.import_module(f"services.{service}.service")
        cls = next(c for _, c in inspect.getmembers(module, inspect.isclass)
                   if getattr(c, "name", None) == service)
        assert getattr(getattr(cls, method), "idempotent", False) == wanted, rpc


# ---- the web cabinet ------------------------------------------------------------------------

class QuickApi:
    """The gateway as the quick-reading page sees it; the reading fails with a 503 first."""

    def __init__(self) -> None:
        self.sent: list[str | None] = []

    def call(self, method: str, path: str, *, idempotency_key: str | None = None,
             **_: Any) -> Any:
        if path == "/accounts/branches":
            return {"branches": [{"code": "mostovskoy", "name": "Мостэнергосбыт"}]}
        if path == "/auth/captcha":
            return {"captcha_id": "c1", "image_png_base64": ""}
        if path == "/readings/window":
            return {"open": True, "start": "2026-03-15", "end": "2026-03-25"}
        assert (method, path) == ("POST", "/readings/quick")
        self.sent.append(idempotency_key)
        if len(self.sent) == 1:
            raise ApiError(503, "service_unavailable", "Сервис временно недоступен",
                           {"service": "readings"})
        return {"meter_serial": "1000911502333", "period": "2026-03", "values": [3100],
                "consumption": None, "status": "pending"}


def _hidden_key(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match, "the form has no Idempotency-Key"
    return match.group(1)


def test_a_form_keeps_its_key_after_a_503_and_the_cabinet_sends_it():
    fake = QuickApi()
    app = create_app(settings.load({"NESK_ENV": "test", "SECRET_KEY": "s"}), api=fake)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    key = _hidden_key(client.get("/readings/quick").get_data(as_text=True))
    assert str(uuid.UUID(key)) == key
    assert _hidden_key(client.get("/readings/quick").get_data(as_text=True)) != key
    form = {"idempotency_key": key, "number": "123456789", "branch": "mostovskoy",
            "serial": "100091150 2333", "value_0": "3100", "captcha_id": "c1", "captcha": "x"}
    failed = client.post("/readings/quick", data=form)
    assert failed.status_code != 200 and "временно недоступен" in failed.get_data(as_text=True)
    assert _hidden_key(failed.get_data(as_text=True)) == key  # the form again, same key
    assert client.post("/readings/quick", data=form).status_code == 302
    assert fake.sent == [key, key]


def test_the_api_client_sends_the_key_as_the_header():
    api = Api("http://gateway.invalid", timeout=1)
    seen: dict[str, Any] = {}

    class Answer:
        status_code = 201

        @staticmethod
        def json() -> dict[str, Any]:
            return {"id": 1}

    def request(method: str, url: str, **kwargs: Any) -> Answer:
        seen.update(kwargs["headers"])
        return Answer()

    api.http.request = request  # type: ignore[method-assign]
    assert api.call("POST", "/requests", json={}, idempotency_key="k-1") == {"id": 1}
    assert seen["Idempotency-Key"] == "k-1"
