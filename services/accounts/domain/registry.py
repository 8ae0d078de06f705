"""The account registry as billing posts it: upsert and close accounts, install and remove
meters. Each change that other services care about is returned as an event to publish."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import Account, Meter

Events = list[tuple[str, dict[str, Any]]]


def find(db: Session, number: str, branch: str) -> Account | None:
    return db.scalar(select(Account).where(Account.number == number, Account.branch == branch))


def upsert_account(db: Session, data: dict[str, Any], now: datetime) -> Events:
    account = find(db, data["number"], data["branch"])
    if account is None:
        account = Account(number=data["number"], branch=data["branch"])
        db.add(account)
    for field in ("holder_name", "address", "contract_number", "contract_date", "gis_id",
                  "tariff_category"):
        setattr(account, field, data.get(field))
    account.closed_on = None
    account.updated_at = now
    return []


def close_account(db: Session, data: dict[str, Any], now: datetime) -> Events:
    account = find(db, data["number"], data["branch"])
    if account is not None:
        account.closed_on = data["closed_on"]
        account.updated_at = now
    return []


def meters_in_service(account: Account) -> list[dict[str, Any]]:
    """The account's meters as meter_registered payloads (for a service filling its copy)."""
    return [meter_event(account, m) for m in account.meters if m.removed_on is None]


def meter_event(account: Account, meter: Meter) -> dict[str, Any]:
    return {"account_id": account.id, "number": account.number, "branch": account.branch,
            "serial": meter.serial, "zones": meter.zones, "digits": meter.digits,
            "installed_on": meter.installed_on.isoformat(),
            "verification_due": meter.verification_due.isoformat()
            if meter.verification_due else None}


def install_meter(db: Session, data: dict[str, Any], now: datetime) -> Events:
    """Install (or correct) a meter; unknown accounts are ignored (billing posts them first)."""
    account = find(db, data["number"], data["branch"])
    if account is None:
        return []
    meter = db.scalar(select(Meter).where(Meter.account_id == account.id,
                                          Meter.serial == data["serial"]))
    if meter is None:
        meter = Meter(account=account, serial=data["serial"])
        db.add(meter)
    for field in ("zones", "digits", "installed_on", "verification_due"):
        setattr(meter, field, data.get(field))
    meter.removed_on = None
    account.updated_at = now
    db.flush()
    return [("meter_registered", meter_event(account, meter))]


def remove_meter(db: Session, data: dict[str, Any], now: datetime) -> Events:
    account = find(db, data["number"], data["branch"])
    meter = account and db.scalar(select(Meter).where(Meter.account_id == account.id,
                                                      Meter.serial == data["serial"]))
    if not meter or meter.removed_on is not None:
        return []
    meter.removed_on = data["removed_on"]
    account.updated_at = now
    return [("meter_unregistered", {"account_id": account.id, "serial": meter.serial,
                                    "removed_on": meter.removed_on.isoformat()})]


def bill_card(account: Account, reference: dict[str, Any]) -> dict[str, Any]:
    """What a bill prints about the account, its branch and the supplier (the documents
    service asks; ``reference`` is the branches file)."""
    branch = next((b for b in reference["branches"] if b["code"] == account.branch),
                  {"code": account.branch, "name": account.branch})
    return {"account_id": account.id, "number": account.number, "branch": account.branch,
            "holder_name": account.holder_name, "address": account.address,
            "gis_id": account.gis_id, "tariff_category": account.tariff_category,
            "closed_on": account.closed_on.isoformat() if account.closed_on else None,
            "branch_info": branch, "supplier": reference["supplier"]}


def document_reviewed(db: Session, data: dict[str, Any], now: datetime) -> Events:
    """documents.document_status_changed: a document accepted with a tariff category sets
    the account's category (payments prices by it from then on)."""
    if data["status"] != "accepted" or not data.get("tariff_category"):
        return []
    account = db.get(Account, data["account_id"])
    if account is None or account.tariff_category == data["tariff_category"]:
        return []
    account.tariff_category = data["tariff_category"]
    account.updated_at = now
    return [("account_category_changed", {
        "account_id": account.id, "number": account.number, "branch": account.branch,
        "tariff_category": account.tariff_category, "document_id": data["document_id"]})]
