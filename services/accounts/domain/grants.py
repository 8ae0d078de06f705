"""Versions of the grants user↔account, and the listing other services load theirs from.

Readings, payments, documents and requests keep a copy of who may act on which account
(shared/grants.py), fed by account_linked / account_access_changed / account_unlinked. Each
event carries the grant's version, counted here in the transaction of the change, so a copy
never lets an older event undo a newer one."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.accounts.models import Account, GrantVersion, Link
from shared.db import insert_if_absent

MAX_PAGE = 1000


def next_version(db: Session, user_id: str, account_id: int) -> int:
    """The version of this grant's change now being made (1 for the first change). The
    UPDATE locks the row on PostgreSQL, so two changes at once get two versions."""
    insert_if_absent(db, GrantVersion, user_id=user_id, account_id=account_id, version=0)
    return db.execute(update(GrantVersion)
                      .where(GrantVersion.user_id == user_id,
                             GrantVersion.account_id == account_id)
                      .values(version=GrantVersion.version + 1)
                      .returning(GrantVersion.version)).scalar_one()


def version_of(db: Session, user_id: str, account_id: int) -> int:
    """The grant's current version (0 for a link made before versions were kept)."""
    return db.scalar(select(GrantVersion.version).where(
        GrantVersion.user_id == user_id, GrantVersion.account_id == account_id)) or 0


def page(db: Session, after_id: object, limit: object) -> dict[str, Any]:
    """Every link with id above ``after_id``, ``limit`` at most, in the account_linked shape;
    ``next_after_id`` is where the next page starts (None after the last)."""
    after = after_id if isinstance(after_id, int) and not isinstance(after_id, bool) else 0
    size = min(max(limit, 1), MAX_PAGE) if isinstance(limit, int) else MAX_PAGE
    rows = db.execute(
        select(Link.id, Link.user_id, Link.account_id, Link.role, Link.access, Account.number,
               Account.branch, Account.tariff_category,
               func.coalesce(GrantVersion.version, 0))
        .join(Account, Account.id == Link.account_id)
        .outerjoin(GrantVersion, (GrantVersion.user_id == Link.user_id)
                   & (GrantVersion.account_id == Link.account_id))
        .where(Link.id > after).order_by(Link.id).limit(size)).all()
    grants = [{"user_id": user_id, "account_id": account_id, "number": number,
               "branch": branch, "role": role, "access": access, "version": version,
               "tariff_category": category}
              for _, user_id, account_id, role, access, number, branch, category, version
              in rows]
    return {"grants": grants, "next_after_id": rows[-1][0] if len(rows) == size else None}
