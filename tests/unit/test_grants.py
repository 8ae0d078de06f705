"""The local copy of the grants user↔account (shared/grants.py) and accounts' side of it:
whatever order accounts' events arrive in, the newest state stays, and the rule answers as
accounts' check_access does."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import StaticPool

from services.accounts.domain import grants as accounts_grants
from services.accounts.models import Account, AccountsBase, Link
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.events import make_envelope, parse_envelope
from shared.grants import AccountGrantMixin, apply, decide, forget_user, require_account_id

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class Grant(AccountGrantMixin, Base):
    pass


def _session(metadata: Any) -> Iterator[Session]:
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    metadata.create_all(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


@pytest.fixture
def grants_db() -> Iterator[Session]:
    yield from _session(Base.metadata)


@pytest.fixture
def accounts_db() -> Iterator[Session]:
    yield from _session(AccountsBase.metadata)


def grant(version: int, access: str = "full", user: str = "u1", account: int = 7,
          role: str = "holder") -> dict[str, Any]:
    return {"user_id": user, "account_id": account, "number": "123456789",
            "branch": "mostovskoy", "role": role, "access": access, "version": version}


def state(db: Session, user: str = "u1", account: int = 7) -> Grant | None:
    return db.get(Grant, (user, account), populate_existing=True)


def check(db: Session, need: str, user: str = "u1", account: int = 7) -> dict[str, Any]:
    return decide(state(db, user, account), need)


def test_a_linked_grant_answers_as_check_access(grants_db):
    apply(grants_db, Grant, grant(1), NOW)
    assert check(grants_db, "full") == {"account_id": 7, "number": "123456789",
                                        "branch": "mostovskoy", "role": "holder",
                                        "access": "full", "version": 1}


def test_read_only_access_is_forbidden_for_writes_and_a_stranger_is_not_found(grants_db):
    apply(grants_db, Grant, grant(1, access="read", role="trusted"), NOW)
    assert check(grants_db, "read")["access"] == "read"
    with pytest.raises(Forbidden) as refused:
        check(grants_db, "full")
    assert refused.value.fields == {"account_id": "read-only access"}
    with pytest.raises(NotFound) as missing:
        check(grants_db, "read", user="stranger")
    assert missing.value.fields == {"account_id": "not linked to you"}


def test_an_unlink_ends_access_and_a_late_older_link_does_not_bring_it_back(grants_db):
    apply(grants_db, Grant, grant(2), NOW, revoked=True)  # the unlink overtook the link
    apply(grants_db, Grant, grant(1), NOW)
    with pytest.raises(NotFound):
        check(grants_db, "read")
    apply(grants_db, Grant, grant(3), NOW)  # linked again later
    assert check(grants_db, "full")["version"] == 3


def test_a_late_older_access_change_does_not_undo_a_newer_one(grants_db):
    apply(grants_db, Grant, grant(1, access="full", role="trusted"), NOW)
    apply(grants_db, Grant, grant(3, access="read", role="trusted"), NOW)
    apply(grants_db, Grant, grant(2, access="full", role="trusted"), NOW)  # retried, late
    with pytest.raises(Forbidden):
        check(grants_db, "full")


def test_an_event_applied_twice_changes_nothing_twice(grants_db):
    apply(grants_db, Grant, grant(4, access="read"), NOW)
    apply(grants_db, Grant, grant(4, access="read"), NOW.replace(hour=12))
    row = state(grants_db)
    assert (row.version, row.access, row.changed_at) == (4, "read", NOW)


def test_events_from_before_versions_let_the_unlink_win(grants_db):
    """Links made before versions were kept are all version 0: a tombstone wins the tie."""
    apply(grants_db, Grant, grant(0), NOW)
    apply(grants_db, Grant, grant(0), NOW, revoked=True)
    apply(grants_db, Grant, grant(0), NOW)
    with pytest.raises(NotFound):
        check(grants_db, "read")


def test_a_deleted_users_grants_go_and_nobody_elses(grants_db):
    apply(grants_db, Grant, grant(1), NOW)
    apply(grants_db, Grant, grant(1, account=8), NOW, revoked=True)
    apply(grants_db, Grant, grant(1, user="u2"), NOW)
    forget_user(grants_db, Grant, "u1")
    assert grants_db.scalars(select(Grant.user_id)).all() == ["u2"]


@pytest.mark.parametrize("value", ["7", True, None, 7.0])
def test_an_account_id_must_be_an_integer(value):
    with pytest.raises(ValidationFailed):
        require_account_id(value)


def test_an_event_published_before_versions_reads_as_version_0():
    legacy = make_envelope("accounts", "account_unlinked", {
        "user_id": "u1", "account_id": 7, "number": "123456789", "branch": "mostovskoy"}, NOW)
    assert parse_envelope(legacy)["payload"]["version"] == 0


# ---- accounts' side ----------------------------------------------------------------------

def _links(db: Session, count: int) -> None:
    account = Account(number="123456789", branch="mostovskoy", holder_name="Петров И. С.",
                      address="ст. Мостовская", tariff_category="rural", updated_at=NOW)
    db.add(account)
    db.flush()
    for n in range(count):
        db.add(Link(user_id=f"user-{n}", account_id=account.id, role="holder", access="full",
                    created_at=NOW))
    db.flush()


def test_each_change_of_a_grant_gets_the_next_version(accounts_db):
    assert [accounts_grants.next_version(accounts_db, "u1", 7) for _ in range(3)] == [1, 2, 3]
    assert accounts_grants.next_version(accounts_db, "u2", 7) == 1
    assert accounts_grants.version_of(accounts_db, "u1", 7) == 3
    assert accounts_grants.version_of(accounts_db, "u3", 7) == 0


def test_the_listing_pages_through_every_link_with_its_version(accounts_db):
    _links(accounts_db, 5)
    accounts_grants.next_version(accounts_db, "user-3", 1)
    seen, after = [], 0
    while after is not None:
        page = accounts_grants.page(accounts_db, after, 2)
        seen += page["grants"]
        after = page["next_after_id"]
    assert [g["user_id"] for g in seen] == [f"user-{n}" for n in range(5)]
    assert [g["version"] for g in seen] == [0, 0, 0, 1, 0]
    assert seen[0] == {"user_id": "user-0", "account_id": 1, "number": "123456789",
                       "branch": "mostovskoy", "role": "holder", "access": "full",
                       "version": 0, "tariff_category": "rural"}


def test_a_listed_grant_is_a_valid_account_linked_payload(accounts_db):
    _links(accounts_db, 1)
    listed = accounts_grants.page(accounts_db, 0, 10)["grants"][0]
    assert make_envelope("accounts", "account_linked", listed, NOW)["payload"] == listed
