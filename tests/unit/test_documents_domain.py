"""The documents service's rules as plain Python: the document types, a bill assembled from
the other services' answers and cached by content, and the life of a submitted document
(an in-memory database, the real file store in a temporary folder, events checked against
their contracts)."""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from services.documents.domain import bill_pdf, bills, document_types
from services.documents.domain.bill import BillError
from services.documents.domain.submissions import Submissions
from services.documents.models import DocumentsBase
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.events import make_envelope
from shared.storage import LocalDiskStore
from shared.work import Work
from tests.unit.test_requests_attachments import sample_image, sample_pdf

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
ACCOUNT = {"account_id": 7, "number": "123456789", "branch": "mostovskoy"}

SUPPLIER = {"name": "АО «НЭСК»", "inn": "2308091759", "kpp": "230801001",
            "site": "www.nesk.ru", "support_email": "contact@nesk.ru",
            "bank": {"account": "40702810030000003019", "bic": "040349602",
                     "bank_name": "Краснодарское отделение № 8619 ПАО Сбербанк",
                     "correspondent_account": "30101810100000000602", "note": "demo"}}
CARD = {"account_id": 7, "number": "123456789", "branch": "mostovskoy",
        "holder_name": "Петров Иван Сергеевич",
        "address": "х. Садовый, ул. Ореховая д.№99Б лит. А корп. 8 кв.35",
        "gis_id": "90BB144120-11", "tariff_category": "urban", "supplier": SUPPLIER,
        "branch_info": {"code": "mostovskoy", "name": "Мостэнергосбыт", "city": "Мостовской",
                        "address": "352570 г. Мостовской, ул. Аэродромная, д. 1",
                        "hours": "Пн-Чт с 8:00 до 17:00 (Пт 15:30)", "site": "www.nesk.ru",
                        "email": "moi-energobyt@nesk.ru", "phone": "5-90-25"}}
METERS = [{"serial": "1000911502333", "zones": 1,
           "initial": {"kind": "КО", "date": "2026-10-01", "values": [3007]},
           "final": {"kind": "ПА", "date": "2026-11-20", "values": [3200]},
           "consumption": [193]},
          {"serial": "555000111", "zones": 1, "initial": None,  # its first reading: no row
           "final": {"kind": "ПА", "date": "2026-11-20", "values": [10]}, "consumption": None}]
AMOUNTS = {"period": "2026-11", "charged": "1418.55", "debt_at_start": "250.00",
           "penalties": "12.40", "total_due": "1680.95", "due_date": "2026-12-15",
           "lines": [{"range": 1, "kwh": 193, "price": "7.35", "amount": "1418.55"}]}


# ---- document types ----------------------------------------------------------------------

def test_the_shipped_document_types_are_the_ones_the_design_lists():
    types = document_types.load()
    assert list(types) == ["application", "passport_copy", "ownership_document", "pd_consent",
                           "technical_passport", "large_family_certificate",
                           "category_certificate"]
    assert types["technical_passport"]["tariff_categories"] == ["electric_stove",
                                                                "electric_heating"]
    assert document_types.check("passport_copy")["title"] == "Копия паспорта"
    for bad, reason in (("visa", "unknown document type"), ("", "required"), (None, "required")):
        with pytest.raises(ValidationFailed) as refused:
            document_types.check(bad)
        assert refused.value.fields == {"doc_type": reason}


@pytest.mark.parametrize("types, message", [
    ([{"code": "a", "title": "A", "tariff_categories": []}] * 2, "twice"),
    ([{"code": "a", "title": "A", "tariff_categories": ["villa"]}], "unknown tariff"),
])
def test_a_broken_reference_file_fails_at_load(tmp_path, types, message):
    path = tmp_path / "types.json"
    path.write_text(json.dumps({"types": types}), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        document_types.load(str(path))


# ---- a bill from the services' answers ---------------------------------------------------

def test_a_bill_is_assembled_from_what_the_services_answered():
    bill = bills.assemble(CARD, METERS, AMOUNTS, "2026-11")
    assert (bill.account_number, bill.gis_id, bill.period) == ("123456789", "90BB144120-11",
                                                               "2026-11")
    assert bill.supplier.bank.bic == "040349602" and bill.supplier.kpp == "230801001"
    assert bill.branch.phone == "5-90-25" and bill.consumer.name == "Петров Иван Сергеевич"
    [row] = bill.meters  # the meter without an initial reading has no row
    assert row.serial == "100091150 2333"  # the last 4 digits apart, as on the sample bill
    assert (row.initial.kind, row.initial.taken_on, row.initial.values) == (
        "КО", date(2026, 10, 1), (3007,))
    assert (row.final.kind, row.final.values) == ("ПА", (3200,))
    [charge] = bill.charges
    assert (charge.zone, charge.consumption_kwh, charge.tariff, charge.amount) == (
        1, Decimal(193), Decimal("7.35"), Decimal("1418.55"))
    assert (bill.debt_at_start, bill.penalties, bill.total_due, bill.due_date) == (
        Decimal("250.00"), Decimal("12.40"), Decimal("1680.95"), date(2026, 12, 15))
    assert bill.debt_at_start + bill.charged + bill.penalties == bill.total_due
    assert bill.paid == Decimal(0)  # payments' answer without "paid": nothing paid since


def test_what_was_paid_since_the_month_began_comes_from_payments():
    bill = bills.assemble(CARD, METERS, {**AMOUNTS, "paid": "300.00", "total_due": "1380.95"},
                          "2026-11")
    assert bill.paid == Decimal("300.00")
    assert bill.debt_at_start + bill.charged + bill.penalties - bill.paid == bill.total_due


def test_a_charge_without_lines_prints_as_one_line_at_the_average_price():
    bill = bills.assemble(CARD, METERS, {**AMOUNTS, "lines": []}, "2026-11")
    [charge] = bill.charges
    assert (charge.consumption_kwh, charge.tariff, charge.amount) == (
        Decimal(193), Decimal("7.35"), Decimal("1418.55"))


def test_a_branch_without_contacts_shows_the_supplier_s_and_a_dash_for_no_gis_id():
    card = {**CARD, "gis_id": None, "branch_info": {"code": "anapa", "name": "Анапаэнергосбыт",
                                                    "city": "Анапа", "address": None,
                                                    "hours": None, "site": None,
                                                    "email": None, "phone": None}}
    bill = bills.assemble(card, METERS, AMOUNTS, "2026-11")
    branch = bill.branch
    assert (branch.address, branch.hours, branch.site, branch.email, branch.phone) == (
        "Анапа", "-", "www.nesk.ru", "contact@nesk.ru", "-")
    assert bill.gis_id == "-"


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "11.2026", None, 202611])
def test_a_period_is_a_month_written_yyyy_mm(period):
    with pytest.raises(ValidationFailed) as refused:
        bills.check_period(period)
    assert refused.value.fields == {"period": "YYYY-MM"}


def test_the_same_data_is_rendered_once_and_then_served_from_the_store(tmp_path):
    store = LocalDiskStore(tmp_path)
    rendered: list[Any] = []

    def render(bill):
        rendered.append(bill)
        return bill_pdf.render(bill)

    bill = bills.assemble(CARD, METERS, AMOUNTS, "2026-11")
    key, pdf = bills.cached_pdf(store, bill, render)
    again_key, again = bills.cached_pdf(store, bills.assemble(CARD, METERS, AMOUNTS, "2026-11"),
                                        render)
    assert (again_key, again) == (key, pdf) and len(rendered) == 1
    assert pdf.startswith(b"%PDF-") and store.get(key) == pdf
    paid = bills.assemble(CARD, METERS, {**AMOUNTS, "total_due": "1430.95",
                                         "debt_at_start": "0.00"}, "2026-11")
    other_key, _ = bills.cached_pdf(store, paid, render)
    assert other_key != key and len(rendered) == 2  # new data, new bill


# ---- the life of a submitted document ----------------------------------------------------

class World:
    def __init__(self, db: Session, store: LocalDiskStore) -> None:
        self.db, self.store = db, store
        self.events: list[dict[str, Any]] = []

    def docs(self, **config: Any) -> Submissions:
        record = lambda kind, payload: self.events.append(  # noqa: E731
            make_envelope("documents", kind, payload, NOW))  # checks the contract
        settings = {"DOCUMENT_MAX_BYTES": 10**6, "DOCUMENTS_PENDING_MAX": 3, **config}
        return Submissions(Work(db=self.db, config=settings, now=NOW, record=record),
                           self.store)

    def upload(self, data: bytes, doc_type: str = "technical_passport", name: str = "скан",
               **config: Any) -> dict[str, Any]:
        return self.docs(**config).upload("u1", ACCOUNT, doc_type, name,
                                          base64.b64encode(data).decode())

    def files(self) -> list[str]:
        return [p.name for p in self.store.root.rglob("*") if p.is_file()]


@pytest.fixture
def world(tmp_path):
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    DocumentsBase.metadata.create_all(engine)
    db = Session(engine, expire_on_commit=False)
    yield World(db, LocalDiskStore(tmp_path / "files"))
    db.close()
    engine.dispose()


def test_upload_open_and_accept_with_a_tariff_category(world):
    doc = world.upload(sample_pdf(), name="техпаспорт")
    assert (doc["status"], doc["status_label"], doc["filename"]) == (
        "submitted", "Подан", "техпаспорт.pdf")
    assert doc["doc_type_title"].startswith("Технический паспорт")
    submitted = world.events[-1]
    assert submitted["type"] == "document_submitted"
    assert submitted["payload"]["content_type"] == "application/pdf"

    docs = world.docs()
    opened = docs.open("op1", docs.get(doc["id"]))
    assert base64.b64decode(opened["content_base64"]) == sample_pdf()
    assert docs.get(doc["id"]).status == "under_review"
    accepted = docs.review("op1", docs.get(doc["id"]), "accept",
                           tariff_category="electric_stove")
    assert (accepted["status"], accepted["tariff_category"]) == ("accepted", "electric_stove")
    changed = world.events[-1]["payload"]
    assert (changed["old_status"], changed["status"], changed["tariff_category"],
            changed["actor_role"]) == ("under_review", "accepted", "electric_stove", "operator")
    again = pytest.raises(Conflict, docs.review, "op1", docs.get(doc["id"]), "reject",
                          reason="Нечитаемо")
    assert again.value.fields == {"status": "accepted"}


def test_review_rules_name_the_field(world):
    docs = world.docs()
    doc = docs.get(world.upload(sample_image("PNG"), doc_type="passport_copy")["id"])
    cases = [({"decision": "maybe"}, {"decision": "accept or reject"}),
             ({"decision": "reject"}, {"reason": "3 to 500 characters"}),
             ({"decision": "reject", "reason": "  "}, {"reason": "3 to 500 characters"}),
             ({"decision": "accept", "tariff_category": "villa"},
              {"tariff_category": "one of urban, rural, electric_stove, electric_heating"}),
             ({"decision": "accept", "tariff_category": "rural"},
              {"tariff_category": "not supported by passport_copy"}),
             ({"decision": "reject", "reason": "Нечитаемо", "tariff_category": "rural"},
              {"tariff_category": "only with accept"})]
    for arguments, fields in cases:
        with pytest.raises(ValidationFailed) as refused:
            docs.review("op1", doc, **arguments)
        assert refused.value.fields == fields, arguments
    rejected = docs.review("op1", doc, "reject", reason="Скан нечитаем")
    assert (rejected["status"], rejected["reason"]) == ("rejected", "Скан нечитаем")


def test_bad_files_and_too_many_waiting_are_refused(world):
    for data, reason in ((b"hello, I am a text file", "not JPEG, PNG or PDF"),
                         (sample_image("GIF"), "GIF is not JPEG, PNG or PDF"),
                         (sample_pdf(password="x"), "PDF is password-protected")):
        with pytest.raises(ValidationFailed) as refused:
            world.upload(data, name="scan.pdf")
        assert refused.value.fields == {"content_base64": reason}
    with pytest.raises(ValidationFailed) as big:
        world.upload(sample_pdf(), DOCUMENT_MAX_BYTES=100)
    assert big.value.fields == {"content_base64": "larger than 100 bytes"}
    for _ in range(3):
        world.upload(sample_image("JPEG"))
    with pytest.raises(ValidationFailed) as many:
        world.upload(sample_image("JPEG"))
    assert many.value.fields == {"account_id": "at most 3 documents awaiting review"}
    assert len(world.files()) == 3  # nothing stored for the refused ones


def test_withdrawal_erases_the_file_and_only_undecided_documents_go(world):
    docs = world.docs()
    doc = world.upload(sample_image("PNG"))
    assert len(world.files()) == 1
    withdrawn = docs.withdraw("u1", docs.get(doc["id"]))
    assert withdrawn["status"] == "withdrawn" and world.files() == []
    assert docs.of_account(7)["items"] == []  # gone from the customer's list
    with pytest.raises(NotFound):
        docs.file(docs.get(doc["id"]))
    decided = world.upload(sample_image("PNG"))
    docs.review("op1", docs.get(decided["id"]), "reject", reason="Не тот документ")
    with pytest.raises(Conflict):
        docs.withdraw("u1", docs.get(decided["id"]))
    assert [d["status"] for d in docs.of_account(7)["items"]] == ["rejected"]


def test_the_operators_list_filters_and_pages(world):
    docs = world.docs()
    ids = [world.upload(sample_image("PNG"))["id"] for _ in range(3)]
    docs.review("op1", docs.get(ids[0]), "reject", reason="Нечитаемо")
    waiting = docs.pending()
    assert [d["id"] for d in waiting["items"]] == ids[1:] and waiting["total"] == 2
    assert waiting["items"][0]["user_id"] == "u1" and waiting["next"] is None
    assert docs.pending(status="rejected")["total"] == 1
    assert docs.pending(branch="anapa")["total"] == 0
    first = docs.pending(limit=1)
    assert [d["id"] for d in first["items"]] == [ids[1]]
    assert [d["id"] for d in docs.pending(cursor=first["next"], limit=1)["items"]] == [ids[2]]
    with pytest.raises(ValidationFailed) as refused:
        docs.pending(status="lost")
    assert "status" in refused.value.fields


def test_a_deleted_user_s_documents_go_with_their_files(world):
    docs = world.docs()
    world.upload(sample_image("PNG"))
    keys = docs.user_deleted({"user_id": "u1"})
    world.db.commit()
    for key in keys:
        world.store.delete(key)
    assert docs.of_account(7)["items"] == [] and world.files() == []


def test_billing_lines_that_cannot_be_printed_are_a_bill_error_not_a_crash():
    for line in ({"zone": 1, "kwh": "много", "price": "7.35", "amount": "1.00"},
                 {"zone": 1, "kwh": 1, "price": "7.35"}, "1-эт: 1418.55"):
        with pytest.raises(BillError) as refused:
            bills.assemble(CARD, METERS, {**AMOUNTS, "lines": [line]}, "2026-11")
        assert refused.value.field == "charges"
