"""The catalogue of works (reference data): what a customer may order, whether it needs an
account, and its price where the supplier sets one. Seeded from ``catalogue.json`` by the
first migration; an admin edits it afterwards, without a release."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.requests.domain import forms
from services.requests.models import Work
from shared.errors import ValidationFailed
from shared.work import Work as Deps

SEED_FILE = Path(__file__).resolve().parent.parent / "catalogue.json"
CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def seed_rows(path: Path = SEED_FILE) -> list[dict[str, Any]]:
    """The shipped works as table rows, in their order."""
    works = json.loads(path.read_text(encoding="utf-8"))["works"]
    return [{"code": w["code"], "title": w["title"], "description": w["description"],
             "needs_account": w["needs_account"],
             "price": None if w["price"] is None else Decimal(str(w["price"])), "active": True,
             "position": (index + 1) * 10} for index, w in enumerate(works)]


def price_text(value: Any) -> str | None:
    """Money crosses JSON as a string ("1500.00"): a float would lose kopecks."""
    return None if value is None else f"{value:.2f}"


def work_view(work: Work, admin: bool = False) -> dict[str, Any]:
    view = {"code": work.code, "title": work.title, "description": work.description,
            "needs_account": work.needs_account, "price": price_text(work.price)}
    if admin:
        view.update(active=work.active, position=work.position,
                    updated_at=work.updated_at.isoformat() if work.updated_at else None)
    return view


def works(db: Session, include_inactive: bool = False) -> list[dict[str, Any]]:
    query = select(Work).order_by(Work.position, Work.code)
    if not include_inactive:
        query = query.where(Work.active.is_(True))
    return [work_view(w, admin=include_inactive) for w in db.scalars(query)]


def orderable(db: Session, code: str) -> Work:
    """The work a customer picked, if it is offered."""
    work = db.get(Work, code)
    if work is None or not work.active:
        raise ValidationFailed("Такой услуги нет в перечне, выберите из списка",
                               {"work": "unknown or not offered"})
    return work


def save(deps: Deps, code: object, data: dict[str, Any]) -> dict[str, Any]:
    """Create a work or change the fields sent (a new one needs at least its title)."""
    if not isinstance(code, str) or not CODE.match(code):
        raise ValidationFailed("Код услуги: латинские строчные буквы, цифры и _",
                       {"code": "2 to 40 of a-z, 0-9, _ starting with a letter"})
    values = forms.load(forms.WorkFields, data, "Проверьте поля услуги")
    work = deps.db.get(Work, code)
    if work is None:
        if not values.get("title"):
            raise ValidationFailed("У новой услуги должно быть название", {"title": "required"})
        work = Work(code=code, description="", needs_account=True, active=True, position=1000)
        deps.db.add(work)
    for name, value in values.items():
        if value is None and name != "price":  # only the price may be cleared
            raise ValidationFailed("Поле не может быть пустым", {name: "required"})
        setattr(work, name, value)
    work.updated_at = deps.now
    deps.db.commit()
    return work_view(work, admin=True)
