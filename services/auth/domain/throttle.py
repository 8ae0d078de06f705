"""Failed logins slow down, then lock, the identity (known or not: no enumeration); and
too many from one client address close logins from it for a while (the per-address limit).

The per-identity lock alone lets anyone lock anyone out with LOGIN_LOCK_AFTER wrong passwords.
The per-address limit bounds what one address can do: LOGIN_PER_IP_LIMIT failures in
LOGIN_PER_IP_WINDOW, then 429; a failure beyond the limit (requests racing past the check)
does not count towards the identity's lock. So one address can lock at most
LOGIN_PER_IP_LIMIT / LOGIN_LOCK_AFTER customers per window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.auth.models import LoginAddressFailure, LoginThrottle
from shared.db import insert_if_absent
from shared.errors import Locked, TooManyRequests


@dataclass(frozen=True)
class Policy:
    slowdown_after: int
    lock_after: int
    lock_seconds: int
    per_ip_limit: int = 30
    per_ip_window: int = 3600

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Policy":
        return cls(config["LOGIN_SLOWDOWN_AFTER"], config["LOGIN_LOCK_AFTER"],
                   config["LOGIN_LOCK_SECONDS"], config["LOGIN_PER_IP_LIMIT"],
                   config["LOGIN_PER_IP_WINDOW"])


def _address_failures(session: Session, policy: Policy, client_ip: str, now: datetime
                      ) -> tuple[int, datetime | None]:
    """How many failures ``client_ip`` has within the window, and the oldest of them."""
    since = now - timedelta(seconds=policy.per_ip_window)
    count, oldest = session.execute(
        select(func.count(), func.min(LoginAddressFailure.failed_at)).where(
            LoginAddressFailure.client_ip == client_ip,
            LoginAddressFailure.failed_at > since)).one()
    return count, oldest


def check_address(session: Session, policy: Policy, client_ip: str, now: datetime) -> None:
    """Refuse (429) a login from an address with LOGIN_PER_IP_LIMIT failures in the window,
    until its oldest one leaves the window. Counted before the identity, so a refused attempt
    touches no identity's counters."""
    count, oldest = _address_failures(session, policy, client_ip, now)
    if count >= policy.per_ip_limit and oldest is not None:
        wait = (oldest + timedelta(seconds=policy.per_ip_window) - now).total_seconds()
        raise TooManyRequests(
            "Слишком много неудачных попыток входа с вашего адреса, попробуйте позже",
            {"password": "too many failures from this address"},
            retry_after=max(1, math.ceil(wait)))


def address_failed(session: Session, policy: Policy, client_ip: str, now: datetime) -> bool:
    """Record a failure from ``client_ip`` (pruning rows older than the window); True while
    the address is within its limit, i.e. when the failure may count towards the identity."""
    # Rows another transaction is pruning are skipped (SKIP LOCKED on PostgreSQL): two
    # concurrent failures never wait on, or deadlock over, the same old rows.
    stale = select(LoginAddressFailure.id).where(
        LoginAddressFailure.failed_at <= now - timedelta(seconds=policy.per_ip_window)
    ).limit(1000).with_for_update(skip_locked=True)
    session.execute(delete(LoginAddressFailure).where(LoginAddressFailure.id.in_(stale)))
    session.add(LoginAddressFailure(client_ip=client_ip, failed_at=now))
    session.flush()
    count, _ = _address_failures(session, policy, client_ip, now)
    return count <= policy.per_ip_limit


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
