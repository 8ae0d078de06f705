"""«Заключить договор»: a customer without an account asks for a supply contract.

Stored here and announced by an event until the requests service takes such requests over.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete

from services.accounts.domain import branches
from shared.work import Work as Deps
from services.accounts.models import ContractRequest
from shared.errors import ValidationFailed
from shared.identities import normalize_contact_phone


def _text(value: object, field: str, label: str, max_length: int, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(f"Заполните поле «{label}»", {field: "required"})
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"Поле «{label}» — текст", {field: "must be a string"})
    if len(value.strip()) > max_length:
        raise ValidationFailed(f"Поле «{label}» длиннее {max_length} символов",
                               {field: f"longer than {max_length}"})
    return value.strip()


def request_contract(deps: Deps, user_id: str, branch: object, full_name: object,
                     address: object, phone: object = None, comment: object = None
                     ) -> dict[str, Any]:
    branch = branches.check(branch, deps.config.get("ACCOUNTS_BRANCHES_FILE", ""))
    request = ContractRequest(
        id=str(uuid.uuid4()), user_id=user_id, branch=branch,
        full_name=_text(full_name, "full_name", "ФИО", 200),
        address=_text(address, "address", "Адрес", 500),
        phone=normalize_contact_phone(phone) if phone else None,
        comment=_text(comment, "comment", "Комментарий", 2000, required=False),
        created_at=deps.now, status="new")
    deps.db.add(request)
    view = {"request_id": request.id, "user_id": user_id, "branch": branch,
            "full_name": request.full_name, "address": request.address, "phone": request.phone,
            "comment": request.comment}
    deps.record("contract_requested", view)
    deps.db.commit()
    return {**view, "status": request.status, "created_at": request.created_at.isoformat(),
            "message": "Заявка на заключение договора принята"}


def forget(db: Any, user_id: str) -> None:
    """152-ФЗ deletion: the user's contract requests (name, address, phone) go too."""
    db.execute(delete(ContractRequest).where(ContractRequest.user_id == user_id))
