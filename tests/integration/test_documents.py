"""РАЗДЕЛ «ДОКУМЕНТЫ» through the gateway, on the real broker: a customer downloads the bill
of a month as a PDF (what it says, the QR code a bank's app reads), uploads documents for the
tariff tiers and withdraws one; an operator opens and accepts (the account's tariff category
changes in accounts and payments) or rejects; the monthly batch forms the e-mailed bills.
Nobody reaches another's bill or document, nor a customer the operators' side."""
from __future__ import annotations

import base64
import re
import subprocess
import sys as python
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pypdfium2 as pdfium
import zxingcpp
from sqlalchemy import create_engine, text

from services.documents.domain import payment_qr
from services.documents.domain.bill import MONTHS
from shared.contracts.__main__ import all_schemas
from tests.integration.helpers import (all_items, assert_paged, bearer, error, eventually,
                                       login, new_phone, register_by_email,
                                       register_by_phone, staff)
from tests.integration.test_accounts import link, post_account
from tests.integration.test_readings import month_day, move_to, submit
from tests.unit.test_requests_attachments import sample_image, sample_pdf

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[2]
LINES = [{"zone": 1, "kwh": 193, "price": "7.35", "amount": "1418.55"}]


def words(pdf: bytes) -> tuple[str, Any]:
    """The page's text (runs of spaces as one) and the page as a 150 dpi image."""
    document = pdfium.PdfDocument(pdf)
    page = document[0]
    shown = " ".join(page.get_textpage().get_text_range().replace("\u00a0", " ").split())
    image = page.render(scale=150 / 72, grayscale=True).to_pil()
    page.close()
    document.close()
    return shown, image


def relogin(sys, identity: dict[str, str]) -> dict[str, Any]:
    response = login(sys, **identity)
    assert response.status_code == 200, response.json
    return response.json


def customer_with_bill(sys, email: str | None = None) -> dict[str, Any]:
    """A customer whose account's meter was read in two months (3007, then 3200) and which
    billing charged 250.00 for the first month and 1418.55 for the second."""
    if email:
        tokens = register_by_email(sys, email)
        sys.wait_contact(tokens["user"]["id"])
        identity = {"email": email}
    else:
        tokens = register_by_phone(sys, new_phone())
        identity = {"phone": tokens["user"]["phone"]}
    number = post_account(sys)
    account_id = link(sys, tokens, number, paperless=bool(email)).json["id"]
    eventually(lambda: sys.client.get(f"{API}/accounts/{account_id}/meters",
                                      headers=bearer(tokens)).json, what="readings' meter")
    periods = []
    for months_ahead, value in ((0, 3007), (1, 3200)):
        move_to(sys, month_day(sys, -months_ahead, 20))
        tokens = relogin(sys, identity)
        done = submit(sys, tokens, account_id, [value])
        assert done.status_code == 201, done.json
        periods.append(done.json["period"])
    for period, amount, lines in ((periods[0], "250.00", []), (periods[1], "1418.55", LINES)):
        sys.billing_to("payments", "charge_posted", {
            "number": number, "branch": "mostovskoy", "period": period, "amount": amount,
            "lines": lines})
    return {"tokens": tokens, "account_id": account_id, "number": number, "periods": periods,
            "identity": identity}


def row(sys, service: str, query: str, value: str) -> Any:
    """One value from a service's own database (what it learnt from an event)."""
    engine = create_engine(sys.config[f"{service}_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return connection.execute(text(query), {"v": value}).scalar()
    finally:
        engine.dispose()


def bill(sys, tokens, account_id, period):
    return sys.client.get(f"{API}/accounts/{account_id}/bills/{period}", headers=bearer(tokens))


def upload(sys, tokens, account_id, data: bytes, doc_type="technical_passport",
           filename="техпаспорт.pdf"):
    return sys.client.post(f"{API}/accounts/{account_id}/documents", headers=bearer(tokens),
                           json={"doc_type": doc_type, "filename": filename,
                                 "content_base64": base64.b64encode(data).decode()})


def ddmm(period: str, day: int = 20) -> str:
    year, month = period.split("-")
    return f"{day:02d}.{month}.{year[2:]}"


# ---- bills -------------------------------------------------------------------------------

def test_the_bill_of_a_month_is_a_pdf_with_every_block_and_a_payment_qr_code(sys):
    c = customer_with_bill(sys)
    tokens, account_id, number = c["tokens"], c["account_id"], c["number"]
    first, second = c["periods"]
    listed = assert_paged(sys, f"{API}/accounts/{account_id}/bills", bearer(tokens), 2)
    assert [(b["period"], b["amount"]) for b in listed] == [(second, "1418.55"),
                                                            (first, "250.00")]
    due = next(p["due_date"] for p in sys.client.get(
        f"{API}/accounts/{account_id}/debt", headers=bearer(tokens)).json["periods"]
        if p["period"] == second)
    due_text = date.fromisoformat(due).strftime("%d.%m.%Y")

    response = bill(sys, tokens, account_id, second)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"{number}_{second}.pdf" in disposition
    shown, image = words(response.data)
    year, month = (int(x) for x in second.split("-"))
    assert f"Счет на оплату услуги по энергоснабжению за {MONTHS[month - 1]} {year} года" in shown
    assert f"Оплатить до: {due_text}" in shown and "К оплате: 1 668,55 ₽" in shown
    assert f"Получатель платежа: АО «НЭСК» Лицевой счет: {number}" in shown
    assert ("Р/счет: 40702810030000003019, БИК: 040349602, К/счет: 30101810100000000602"
            in shown)
    assert "ИНН: 2308091759, КПП: 230801001" in shown
    assert ("Гарантирующий поставщик: АО «НЭСК» филиал «Мостэнергосбыт» Адрес: 352570 "
            "г. Мостовской, ул. Аэродромная, д. 1 Режим работы: Пн-Чт с 8:00 до 17:00 "
            "(Пт 15:30) Сайт: www.nesk.ru E-mail: moi-energobyt@nesk.ru Телефон: 5-90-25"
            ) in shown
    assert ("Потребитель: Петров Иван Сергеевич Адрес установки прибора учета: х. Садовый, "
            "ул. Ореховая д.№99Б лит. А корп. 8 кв.35") in shown
    # The customer's own readings (ПА) of the two months, as the Показания tab has them.
    assert (f"100091150 2333 ПА на {ddmm(first)} 3007 - - ПА на {ddmm(second)} 3200 - -"
            in shown)
    assert "1-эт 193 7,35 1 418,55" in shown
    assert ("Задолженность на начало периода 250,00 Начислено за период 1 418,55 Пени 0,00 "
            f"Итого к оплате, ₽ 1 668,55 Оплатить до {due_text}") in shown
    assert "Идентификатор ЖКУ в ГИС ЖКХ: 90BB144120-11 линия разреза" in shown

    scanned = zxingcpp.read_barcode(image)
    assert scanned is not None, "no QR code on the page"
    assert payment_qr.parse(scanned.bytes) == {
        "Name": "АО «НЭСК»", "PersonalAcc": "40702810030000003019",
        "BankName": "Краснодарское отделение № 8619 ПАО Сбербанк", "BIC": "040349602",
        "CorrespAcc": "30101810100000000602", "PayeeINN": "2308091759", "KPP": "230801001",
        "Sum": "166855",
        "Purpose": f"Оплата электроэнергии за {MONTHS[month - 1]} {year}, л/с {number}",
        "PersAcc": number, "PaymPeriod": f"{month:02d}{year}", "LastName": "Петров",
        "FirstName": "Иван", "MiddleName": "Сергеевич",
        "PayerAddress": "х. Садовый, ул. Ореховая д.№99Б лит. А корп. 8 кв.35",
        "TechCode": "02"}

    # The same data gives the same PDF; billing's correction gives a new one.
    assert bill(sys, tokens, account_id, second).data == response.data
    sys.billing_to("payments", "charge_posted", {
        "number": number, "branch": "mostovskoy", "period": second, "amount": "1400.00",
        "lines": [{"zone": 1, "kwh": 193, "price": "7.25", "amount": "1400.00"}]})
    corrected = bill(sys, tokens, account_id, second)
    assert corrected.data != response.data
    assert "К оплате: 1 650,00 ₽" in words(corrected.data)[0]


def test_a_bill_needs_a_charge_a_period_and_the_account_s_owner(sys):
    c = customer_with_bill(sys)
    tokens, account_id = c["tokens"], c["account_id"]
    bad = bill(sys, tokens, account_id, "2026-13")
    assert bad.status_code == 422 and error(bad)["field_codes"] == {"period": "YYYY-MM"}
    none = bill(sys, tokens, account_id, "2019-01")
    assert none.status_code == 404 and error(none)["field_codes"] == {
        "period": "no charge for this period"}
    stranger = register_by_phone(sys, new_phone())
    for path in (f"/accounts/{account_id}/bills",
                 f"/accounts/{account_id}/bills/{c['periods'][1]}"):
        refused = sys.client.get(API + path, headers=bearer(stranger))
        assert refused.status_code == 404 and refused.is_json, path
    assert sys.client.get(f"{API}/accounts/{account_id}/bills").status_code == 401


# ---- documents for the tariff tiers ------------------------------------------------------

def test_types_upload_list_download_and_withdraw(sys):
    types = sys.client.get(f"{API}/documents/types").json
    assert {t["code"] for t in types} >= {"application", "passport_copy", "ownership_document",
                                          "pd_consent", "technical_passport",
                                          "large_family_certificate", "category_certificate"}
    tokens = register_by_phone(sys, new_phone())
    account_id = link(sys, tokens, post_account(sys)).json["id"]
    made = []
    for data, doc_type, name, kind in (
            (sample_pdf(), "technical_passport", "техпаспорт", "application/pdf"),
            (sample_image("JPEG"), "passport_copy", "паспорт.jpg", "image/jpeg"),
            (sample_image("PNG"), "pd_consent", "согласие.pdf", "image/png")):
        response = upload(sys, tokens, account_id, data, doc_type, name)
        assert response.status_code == 201, response.json
        assert (response.json["content_type"], response.json["status"]) == (kind, "submitted")
        made.append(response.json)
    assert made[0]["filename"] == "техпаспорт.pdf"
    assert made[2]["filename"] == "согласие.pdf.png"  # named after what it really is
    mine = assert_paged(sys, f"{API}/accounts/{account_id}/documents", bearer(tokens), 3)
    assert [(d["doc_type"], d["status_label"]) for d in mine] == [
        ("pd_consent", "Подан"), ("passport_copy", "Подан"), ("technical_passport", "Подан")]
    got = sys.client.get(f"{API}/documents/{made[1]['id']}/file", headers=bearer(tokens))
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert got.data == sample_image("JPEG")

    withdrawn = sys.client.post(f"{API}/documents/{made[1]['id']}/withdraw",
                                headers=bearer(tokens))
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    again = sys.client.post(f"{API}/documents/{made[1]['id']}/withdraw", headers=bearer(tokens))
    assert again.status_code == 409 and error(again)["field_codes"] == {"status": "withdrawn"}
    gone = sys.client.get(f"{API}/documents/{made[1]['id']}/file", headers=bearer(tokens))
    assert gone.status_code == 404
    assert len(sys.client.get(f"{API}/accounts/{account_id}/documents",
                              headers=bearer(tokens)).json["items"]) == 2


def test_bad_files_are_refused_clearly(sys):
    tokens = register_by_phone(sys, new_phone())
    account_id = link(sys, tokens, post_account(sys)).json["id"]
    renamed = upload(sys, tokens, account_id, b"just some text, renamed", filename="скан.pdf")
    assert renamed.status_code == 422
    assert error(renamed)["field_codes"] == {"content_base64": "not JPEG, PNG or PDF"}
    assert "скан.pdf" in error(renamed)["message"]
    locked = upload(sys, tokens, account_id, sample_pdf(password="secret"))
    assert error(locked)["field_codes"] == {"content_base64": "PDF is password-protected"}
    size = sys.config["DOCUMENT_MAX_BYTES"]
    big = upload(sys, tokens, account_id, b"\xff" * (size + 1), filename="big.jpg")
    assert big.status_code == 422 and error(big)["field_codes"] == {
        "content_base64": f"larger than {size} bytes"}
    garbled = sys.client.post(f"{API}/accounts/{account_id}/documents", headers=bearer(tokens),
                              json={"doc_type": "passport_copy", "content_base64": "&&&"})
    assert garbled.status_code == 422 and error(garbled)["field_codes"] == {
        "content_base64": "not base64"}
    unknown = upload(sys, tokens, account_id, sample_pdf(), doc_type="visa")
    assert unknown.status_code == 422 and error(unknown)["field_codes"] == {
        "doc_type": "unknown document type"}
    missing = sys.client.post(f"{API}/accounts/{account_id}/documents", headers=bearer(tokens),
                              json={"doc_type": "passport_copy"})
    assert missing.status_code == 400 and "content_base64" in error(missing)["fields"]
    assert sys.client.get(f"{API}/accounts/{account_id}/documents",
                          headers=bearer(tokens)).json == {"items": [], "next": None}

    limit = sys.config["DOCUMENTS_PENDING_MAX"]
    for _ in range(limit):
        assert upload(sys, tokens, account_id, sample_image("PNG")).status_code == 201
    many = upload(sys, tokens, account_id, sample_image("PNG"))
    assert many.status_code == 422 and error(many)["field_codes"] == {
        "account_id": f"at most {limit} documents awaiting review"}


def test_the_operator_opens_and_accepts_and_the_tariff_category_follows(sys):
    customer = register_by_phone(sys, new_phone())
    number = post_account(sys)
    account_id = link(sys, customer, number).json["id"]
    operator = staff(sys, "operator")
    billing = sys.tap("documents")  # what a billing system hears of the documents
    passport = upload(sys, customer, account_id, sample_pdf()).json
    copy = upload(sys, customer, account_id, sample_image("PNG"), "passport_copy").json

    # A customer has no way into the operators' side.
    for method, path in (("GET", "/operator/documents"),
                         ("POST", f"/operator/documents/{passport['id']}/open"),
                         ("POST", f"/operator/documents/{passport['id']}/review")):
        refused = sys.client.open(API + path, method=method, headers=bearer(customer),
                                  json={"decision": "accept"} if "review" in path else None)
        assert refused.status_code == 403, path

    queue = all_items(sys, f"{API}/operator/documents", bearer(operator), branch="mostovskoy")
    assert all_items(sys, f"{API}/operator/documents", bearer(operator), limit=2,
                     branch="mostovskoy") == queue  # pages reach each document once
    first = sys.client.get(f"{API}/operator/documents", headers=bearer(operator),
                           query_string={"branch": "mostovskoy", "limit": 1}).json
    assert first["total"] == len(queue) and len(first["items"]) == 1
    mine = [d for d in queue if d["account_id"] == account_id]
    assert [d["id"] for d in mine] == [passport["id"], copy["id"]]  # oldest first
    assert mine[0]["user_id"] == customer["user"]["id"]
    opened = sys.client.post(f"{API}/operator/documents/{passport['id']}/open",
                             headers=bearer(operator))
    assert opened.status_code == 200 and opened.data == sample_pdf()
    one = sys.client.get(f"{API}/operator/documents/{passport['id']}", headers=bearer(operator))
    assert one.status_code == 200 and (one.json["status"], one.json["doc_type"]) == (
        "under_review", "technical_passport")
    assert sys.client.get(f"{API}/operator/documents/{passport['id']}",
                          headers=bearer(customer)).status_code == 403
    assert sys.client.get(f"{API}/operator/documents/{2**31}",
                          headers=bearer(operator)).status_code == 404
    statuses = {d["id"]: d["status"] for d in sys.client.get(
        f"{API}/accounts/{account_id}/documents", headers=bearer(customer)).json["items"]}
    assert statuses == {passport["id"]: "under_review", copy["id"]: "submitted"}

    review = f"{API}/operator/documents/{{}}/review"
    no_reason = sys.client.post(review.format(copy["id"]), headers=bearer(operator),
                                json={"decision": "reject"})
    assert no_reason.status_code == 422 and "reason" in error(no_reason)["fields"]
    wrong = sys.client.post(review.format(passport["id"]), headers=bearer(operator),
                            json={"decision": "accept", "tariff_category": "rural"})
    assert wrong.status_code == 422 and error(wrong)["field_codes"] == {
        "tariff_category": "not supported by technical_passport"}
    tap = sys.tap("accounts")
    accepted = sys.client.post(review.format(passport["id"]), headers=bearer(operator),
                               json={"decision": "accept", "tariff_category": "electric_stove"})
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["status"] == "accepted"
    rejected = sys.client.post(review.format(copy["id"]), headers=bearer(operator),
                               json={"decision": "reject", "reason": "Копия нечитаема"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"

    billing.wait_for("document_status_changed", lambda p: p["document_id"] == copy["id"]
                     and p["status"] == "rejected")
    steps = [(e["payload"]["document_id"], e["type"], e["payload"].get("status"))
             for e in billing.received if e["payload"]["account_id"] == account_id]
    assert steps == [(passport["id"], "document_submitted", None),
                     (copy["id"], "document_submitted", None),
                     (passport["id"], "document_status_changed", "under_review"),
                     (passport["id"], "document_status_changed", "accepted"),
                     (copy["id"], "document_status_changed", "rejected")]
    accepted_event = next(e["payload"] for e in billing.received
                          if e["payload"].get("status") == "accepted")
    assert (accepted_event["tariff_category"], accepted_event["actor_role"],
            accepted_event["user_id"]) == ("electric_stove", "operator", customer["user"]["id"])
    # Accounts records the category and tells payments (and billing) by an event.
    event = tap.wait_for("account_category_changed", lambda p: p["account_id"] == account_id)
    schemas = {s["title"]: s for s in all_schemas()}
    for envelope in [*billing.received, event]:
        jsonschema.validate(envelope, schemas[f"{envelope['producer']}.{envelope['type']} v1"],
                            format_checker=jsonschema.FormatChecker())
    tap.close()
    billing.close()
    assert event["payload"]["tariff_category"] == "electric_stove"
    assert event["payload"]["number"] == number
    assert sys.client.get(f"{API}/accounts/{account_id}",
                          headers=bearer(customer)).json["tariff_category"] == "electric_stove"
    # Payments hears it by the event (before any call of the customer could tell it).
    eventually(lambda: row(sys, "PAYMENTS", "SELECT tariff_category FROM ledger_accounts "
                           "WHERE number = :v", number) == "electric_stove",
               what="payments' copy of the category")
    def review_notices() -> list[str] | None:
        feed = sys.client.get(f"{API}/notices", headers=bearer(customer)).json["items"]
        bodies = [n["body"] for n in feed if n["kind"] == "document_review"]
        return bodies if len(bodies) == 2 else None

    bodies = eventually(review_notices, what="both review notices")
    assert any("принят" in b and "дома с электроплитами" in b for b in bodies)
    assert any("отклонён: Копия нечитаема" in b for b in bodies)
    # Decided documents stay decided.
    late = sys.client.post(f"{API}/documents/{passport['id']}/withdraw", headers=bearer(customer))
    assert late.status_code == 409


def test_the_new_category_prices_the_estimate(sys):
    customer = register_by_phone(sys, new_phone())
    identity = {"phone": customer["user"]["phone"]}
    account_id = link(sys, customer, post_account(sys)).json["id"]
    eventually(lambda: sys.client.get(f"{API}/accounts/{account_id}/meters",
                                      headers=bearer(customer)).json, what="readings' meter")
    operator = staff(sys, "operator")
    doc = upload(sys, customer, account_id, sample_pdf()).json
    assert sys.client.post(f"{API}/operator/documents/{doc['id']}/review",
                           headers=bearer(operator), json={
                               "decision": "accept", "tariff_category": "electric_heating"}
                           ).status_code == 200
    eventually(lambda: sys.client.get(f"{API}/accounts/{account_id}", headers=bearer(customer))
               .json["tariff_category"] == "electric_heating", what="the new category")
    move_to(sys, month_day(sys, 0, 20))
    customer = relogin(sys, identity)
    assert submit(sys, customer, account_id, [3007]).status_code == 201
    move_to(sys, month_day(sys, -1, 20))
    customer = relogin(sys, identity)
    preview = sys.client.post(f"{API}/accounts/{account_id}/readings/preview",
                              headers=bearer(customer),
                              json={"meter_serial": "1000911502333", "values": [3200]}).json
    assert preview["estimate"]["category"] == "electric_heating"
    assert preview["estimate"]["lines"][0]["price"] == "5.15"  # not the urban 7.35


# ---- the monthly batch -------------------------------------------------------------------

def test_the_batch_forms_and_announces_the_e_mailed_bills(sys):
    email = f"bills{new_phone()[-7:]}@example.ru"
    c = customer_with_bill(sys, email=email)
    period, account_id = c["periods"][1], c["account_id"]
    eventually(lambda: row(sys, "DOCUMENTS", "SELECT email FROM paperless_subscribers "
                           "WHERE user_id = :v", c["tokens"]["user"]["id"]),
               what="documents' copy of the consent")
    # As if the consent predated the documents service: the batch asks accounts for it.
    engine = create_engine(sys.config["DOCUMENTS_DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM paperless_subscribers WHERE user_id = :v"),
                           {"v": c["tokens"]["user"]["id"]})
    engine.dispose()
    env = {"PATH": "/usr/bin:/bin", **{k: str(v) for k, v in sys.config.items()}}
    tap = sys.tap("documents")
    done = subprocess.run([python.executable, "-m", "services.documents.cli", "form-bills",
                           "--period", period], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert re.search(r"\b1 bills formed, 1 announced\b", done.stdout), done.stdout
    assert "bills " + period in done.stderr  # tqdm's progress bar
    event = tap.wait_for("bill_formed", lambda p: p["account_id"] == account_id, timeout=20)
    tap.close()
    jsonschema.validate(event, next(s for s in all_schemas()
                                    if s["title"] == "documents.bill_formed v1"),
                        format_checker=jsonschema.FormatChecker())
    payload = event["payload"]
    assert (payload["number"], payload["period"], payload["email"], payload["total_due"]) == (
        c["number"], period, email, "1668.55")
    # The stored PDF is the very one the customer downloads.
    stored = Path(sys.config["DOCUMENTS_FILES_DIR"]) / payload["content_hash"][:2] / \
        payload["content_hash"]
    tokens = relogin(sys, c["identity"])
    assert bill(sys, tokens, account_id, period).data == stored.read_bytes()
    letter = eventually(lambda: [m for m in sys.mail.messages if email in str(m["to"])
                                 and f"/documents/{account_id}/bills/{period}" in m["body"]],
                        what="the e-mail with the bill's link")
    assert "1668.55" in letter[0]["body"]

    again = subprocess.run([python.executable, "-m", "services.documents.cli", "form-bills",
                            "--period", period, "--quiet"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=240)
    assert again.returncode == 0 and "1 bills formed, 0 announced" in again.stdout, again.stdout


def test_a_bill_paid_months_later_still_opens_with_what_was_owed_on_its_first_day(sys):
    """Issue 16: a June bill printed «Переплата на начало периода 100,00» because a December
    payment was credited to June. The opening line is what was true on 1 June."""
    from tests.integration.test_payments import card, customer_with_debt, debt, pay
    june = f"{month_day(sys, 6, 1):%Y-%m}"
    tokens, account_id, _ = customer_with_debt(sys, {june: "100.00"})
    payment = pay(sys, tokens, [{"account_id": account_id, "kind": "electricity",
                                 "period": june, "amount": "100.00"}]).json
    assert card(sys, tokens, payment).json["status"] == "succeeded"
    penalties = debt(sys, tokens, account_id)["penalties"].replace(".", ",")

    response = bill(sys, tokens, account_id, june)
    assert response.status_code == 200, response.data[:300]
    shown, _ = words(response.data)
    assert "Переплата на начало периода" not in shown
    assert ("Задолженность на начало периода 0,00 Начислено за период 100,00 Оплачено с "
            f"начала периода 100,00 Пени {penalties} Итого к оплате, ₽ {penalties}") in shown
