"""Failed logins slow down, then lock, the identity (known or not: no enumeration)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy.orm import Session

from services.auth.models import LoginThrottle
from shared.db import insert_if_absent
from shared.errors import Locked, TooManyRequests


@dataclass(frozen=True)
class Policy:
    slowdown_after: int
    lock_after: int
    lock_seconds: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Policy":
        return cls(config["LOGIN_SLOWDOWN_AFTER"], config["LOGIN_LOCK_AFTER"],
                   config["LOGIN_LOCK_SECONDS"])


def check(session: Session, policy: Policy, identity: str, now: datetime) -> LoginThrottle:
    """Refuse the attempt if the identity is locked or must still wait; else return its row."""
    insert_if_absent(session, LoginThrottle, identity=identity, failures=0)
    row = session.get(LoginThrottle, identity, with_for_update=True, populate_existing=True)
    if row.locked_until is not None:
        if row.locked_until > now:
            wait = math.ceil((row.locked_until - now).total_seconds())
            raise Locked("Вход временно заблокирован из-за неудачных попыток. Попробуйте позже "
                         "или восстановите пароль", {"password": "locked"}, retry_after=wait)
        row.failures, row.locked_until = 0, None  # the lock has run out: start afresh
    if row.failures >= policy.slowdown_after and row.last_failure_at is not None:
        delay = 2 ** (row.failures - policy.slowdown_after)
        wait = delay - (now - row.last_failure_at).total_seconds()
        if wait > 0:
            raise TooManyRequests("Слишком много попыток входа, подождите немного",
                                  {"password": "too many attempts"}, retry_after=math.ceil(wait))
    return row


def failed(row: LoginThrottle, policy: Policy, now: datetime) -> None:
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= policy.lock_after:
        row.locked_until = now + timedelta(seconds=policy.lock_seconds)


def succeeded(row: LoginThrottle) -> None:
    row.failures, row.last_failure_at, row.locked_until = 0, None, None
