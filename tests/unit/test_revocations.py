"""The revocation list every service keeps: what it refuses, and for how long."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

import shared.context as context
from shared.context import Request, RequestContext, RevocationList
from shared.errors import Unauthorized
from shared.tokens import Principal

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
TTL = 660  # ACCESS_TOKEN_TTL 600 + 2 × LEEWAY


def principal(user: str = "u1", session: str = "s1") -> Principal:
    return Principal(user_id=user, role="customer", session_id=session, token_id="j")


def revoked(user: str = "u1", sessions: list[str] | None = None, at: Any = T0,
            deleted: bool = False) -> dict[str, Any]:
    return {"user_id": user, "session_ids": ["s1"] if sessions is None else sessions,
            "reason": "logout", "user_deleted": deleted, "revoked_at": at}


def test_a_revoked_session_is_refused_until_its_tokens_would_have_expired():
    revocations = RevocationList(TTL)
    revocations.add(revoked(), T0)
    assert revocations.revoked(principal(), T0 + timedelta(seconds=TTL - 1))
    assert not revocations.revoked(principal(session="s2"), T0)  # another session stays
    assert not revocations.revoked(principal(), T0 + timedelta(seconds=TTL))


def test_expired_entries_are_dropped_so_the_list_stays_small():
    revocations = RevocationList(TTL)
    revocations.add(revoked(sessions=["old"]), T0)
    revocations.add(revoked(sessions=["new"]), T0 + timedelta(seconds=TTL))  # prunes "old"
    assert len(revocations) == 1
    revocations.add(revoked(sessions=["stale"], at=T0), T0 + timedelta(seconds=TTL + 5))
    assert len(revocations) == 1  # a catch-up entry already past its horizon is not kept


def test_a_deleted_user_is_refused_in_every_session_and_iso_text_is_accepted():
    revocations = RevocationList(TTL)
    revocations.add(revoked(sessions=[], at=T0.isoformat(), deleted=True), T0)
    assert revocations.revoked(principal(session="any"), T0 + timedelta(seconds=1))
    assert not revocations.revoked(principal(user="u2", session="any"), T0)


def test_the_request_refuses_a_revoked_token(monkeypatch):
    revocations = RevocationList(TTL)
    revocations.add(revoked(at=datetime.now(timezone.utc)), datetime.now(timezone.utc))
    monkeypatch.setattr(context, "verify_access_token", lambda *a: principal())
    request = Request({"authorization": "token"}, None, "nesk-portal", revocations)
    with pytest.raises(Unauthorized) as refused:
        request.principal()
    assert refused.value.fields == {"authorization": "session ended"}
    assert Request({"authorization": "t"}, None, "nesk-portal").principal() == principal()


def test_the_catch_up_retries_until_auth_answers(monkeypatch):
    answers: list[Any] = [ConnectionError("auth down"), [revoked(at=datetime.now(timezone.utc))]]

    class FakeProxy:
        def __init__(self, config: Any, timeout: float) -> None:
            self.auth = SimpleNamespace(revocations_since=self.since)

        def since(self, seconds: float) -> Any:
            assert seconds == TTL
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        def __enter__(self) -> "FakeProxy":
            return self

        def __exit__(self, *exc: Any) -> None:
            return None

    monkeypatch.setattr(context, "ClusterRpcProxy", FakeProxy)
    provider = RequestContext()
    provider.container = SimpleNamespace(config={"ACCESS_TOKEN_TTL": 600, "VAR_DIR": "/nonexistent"})
    monkeypatch.setattr(context, "verification_key", lambda config: None)
    provider.setup()
    provider.catch_up(first_delay=0.01)
    assert answers == [] and provider.caught_up.wait(0) == 1
    assert provider.revocations.revoked(principal(), datetime.now(timezone.utc))
