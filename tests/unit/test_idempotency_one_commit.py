"""shared.idempotency's ``one_commit`` mode (readings' submit): the key lookup, the work, the
key row and its answer in one transaction with one commit; the guarantees of the default mode
hold (replay, refusal frees the key, a concurrent request's winner answers)."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.idempotency import idempotent, unwrap
from tests.unit.test_idempotency import NOW, Key, Note, Notes, count, provider
from tests.unit.test_idempotency import db, engine  # noqa: F401  (fixtures)


class OneCommit(Notes):
    """Leaves its writes uncommitted: the wrapper commits them with the key's answer."""

    @idempotent(one_commit=True)
    def add(self, text: str, commit_first: bool = False) -> dict[str, Any]:
        self.runs += 1
        if commit_first:  # e.g. readings learning an account's meters mid-way
            self.db.add(Note(text="first"))
            self.db.commit()
        if text == "refused":
            self.db.add(Note(text="not kept"))
            self.db.flush()
            raise NotFound("Нет такого", {"text": "unknown"})
        self.before_commit()  # (before its first write: SQLite has one writer)
        note = Note(text=text)
        self.db.add(note)
        self.db.flush()
        return {"id": note.id, "text": text}


@pytest.fixture
def statements(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        seen.append(sql.split()[0])

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", lambda _conn: seen.append("COMMIT"))
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_one_commit_stores_the_answer_with_the_work_and_replays_it(db, statements):
    keys = provider()
    keys.last_purge = NOW  # (the first call of a process also purges expired keys)
    first = OneCommit(db, keys, "k-1").add("one")
    assert unwrap(first) == ({"id": 1, "text": "one"}, False)
    assert statements.count("COMMIT") == 1 and "UPDATE" not in statements
    assert db.scalars(select(Key.answer)).one() is not None
    db.rollback()
    service = OneCommit(db, keys, "k-1")
    assert unwrap(service.add("one")) == ({"id": 1, "text": "one"}, True)
    assert service.runs == 0 and count(db, Note) == 1


def test_without_a_key_the_wrapper_commits_the_work(db):
    assert OneCommit(db, provider(), None).add("one") == {"id": 1, "text": "one"}
    assert count(db, Note) == 1 and count(db, Key) == 0


def test_a_refusal_commits_nothing_and_frees_the_key(db):
    keys = provider()
    with pytest.raises(NotFound):
        OneCommit(db, keys, "k-1").add("refused")
    assert count(db, Note) == 0 and count(db, Key) == 0
    assert unwrap(OneCommit(db, keys, "k-1").add("one"))[1] is False


def test_a_work_that_committed_earlier_still_keeps_its_answer(db):
    keys = provider()
    OneCommit(db, keys, "k-1").add("one", commit_first=True)
    assert db.scalars(select(Key.answer)).one() is not None
    db.rollback()
    assert unwrap(OneCommit(db, keys, "k-1").add("one", commit_first=True)) == (
        {"id": 2, "text": "one"}, True)
    assert count(db, Note) == 2


def test_a_concurrent_request_that_commits_first_wins(db, engine):
    """Both found the key free; the loser's commit fails on the key and it replays the winner's
    answer, stored by the winner's one commit."""
    keys = provider()
    with Session(engine, expire_on_commit=False) as other:
        winner, loser = OneCommit(other, keys, "k-1"), OneCommit(db, keys, "k-1")
        loser.before_commit = lambda: winner.add("one")
        assert unwrap(loser.add("one")) == ({"id": 1, "text": "one"}, True)
    assert count(db, Note) == 1 and (winner.runs, loser.runs) == (1, 1)
