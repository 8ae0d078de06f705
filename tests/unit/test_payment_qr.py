"""The payment QR text (ГОСТ Р 56042-2014): what a bank's app reads, and what is refused."""
from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from services.documents.domain import payment_qr
from services.documents.domain.bill import (
    BankDetails, Bill, BillError, Branch, Consumer, MeterReading, MeterRow, Supplier,
    ZoneCharge)
from services.documents.domain.payment_qr import PaymentQrError

# The payee as configured; the settlement and correspondent accounts pass the Bank of
# Russia's control-key check with this BIC, as real ones do.
BANK = BankDetails(account="40702810030000003019",
                   bank_name="Краснодарское отделение № 8619 ПАО Сбербанк",
                   bic="040349602", correspondent_account="30101810100000000602")
SUPPLIER = Supplier(name="АО «НЭСК»", inn="2308091759", kpp="230801001", bank=BANK)
BRANCH = Branch(name="Мостэнергосбыт",
                address="352570, Краснодарский край, п.г.т. Мостовской, ул. Аэродромная, д. 1",
                hours="Пн-Чт с 8:00 до 17:00, Пт с 8:00 до 15:30",
                site="www.nesk.ru", email="moi-energobyt@nesk.ru", phone="8 (86192) 5-90-25")


def sample_bill(**changes: object) -> Bill:
    """The user manual's sample bill: account 123456789, November 2018, meter 100091150 2333
    read 3007 on 01.11.18 and 3200 on 01.12.18, to pay by 10.12.2018."""
    bill = Bill(
        supplier=SUPPLIER, branch=BRANCH,
        consumer=Consumer(name="Петров Иван Сергеевич",
                          address="х. Садовый, ул. Ореховая д.№99Б лит. А корп. 8 кв.35"),
        account_number="123456789", gis_id="90BB144120-11", period="2018-11",
        meters=(MeterRow("100091150 2333",
                         MeterReading("КО", date(2018, 11, 1), (3007,)),
                         MeterReading("КО", date(2018, 12, 1), (3200,))),),
        charges=(ZoneCharge(1, Decimal("193"), Decimal("4.84"), Decimal("934.12")),),
        debt_at_start=Decimal("250.00"), penalties=Decimal("12.40"),
        total_due=Decimal("1196.52"), due_date=date(2018, 12, 10))
    return dataclasses.replace(bill, **changes)


EXPECTED = {
    "Name": "АО «НЭСК»",
    "PersonalAcc": "40702810030000003019",
    "BankName": "Краснодарское отделение № 8619 ПАО Сбербанк",
    "BIC": "040349602",
    "CorrespAcc": "30101810100000000602",
    "PayeeINN": "2308091759",
    "KPP": "230801001",
    "Sum": "119652",
    "Purpose": "Оплата электроэнергии за ноябрь 2018, л/с 123456789",
    "PersAcc": "123456789",
    "PaymPeriod": "112018",
    "LastName": "Петров",
    "FirstName": "Иван",
    "MiddleName": "Сергеевич",
    "PayerAddress": "х. Садовый, ул. Ореховая д.№99Б лит. А корп. 8 кв.35",
    "TechCode": "02",
}

REQUIRED = {key: EXPECTED[key] for key in payment_qr.REQUIRED}


def refusal(fields: dict[str, str | None]) -> PaymentQrError:
    with pytest.raises(PaymentQrError) as info:
        payment_qr.build(fields)
    return info.value


def test_the_bill_pays_the_supplier_for_the_account_and_the_month():
    payload = payment_qr.payload_for_bill(sample_bill())
    assert payload.startswith("ST00012|Name=АО «НЭСК»|PersonalAcc=40702810030000003019|")
    assert payment_qr.parse(payload) == EXPECTED
    assert list(payment_qr.parse(payload)) == list(EXPECTED)  # required first, in order


def test_parse_reads_the_raw_bytes_a_scanner_returns():
    payload = payment_qr.payload_for_bill(sample_bill())
    assert payment_qr.parse(payload.encode("utf-8")) == EXPECTED


def test_sum_is_in_kopecks_rounded_half_up_and_left_out_when_nothing_is_due():
    assert payment_qr.kopecks(Decimal("1196.525")) == 119653
    assert payment_qr.parse(payment_qr.payload_for_bill(
        sample_bill(total_due=Decimal("0.10"))))["Sum"] == "10"
    for nothing in (Decimal("0"), Decimal("-35.20")):  # overpaid: the payer types an amount
        assert "Sum" not in payment_qr.parse(payment_qr.payload_for_bill(
            sample_bill(total_due=nothing)))


def test_the_payer_s_text_is_cleaned_not_refused():
    bill = sample_bill(consumer=Consumer(name="Оглы  Мамед\nАли оглы",
                                         address="ст. Ленина | д. 5\r\nкв. 7"))
    fields = payment_qr.parse(payment_qr.payload_for_bill(bill))
    assert fields["PayerAddress"] == "ст. Ленина / д. 5 кв. 7"
    assert (fields["LastName"], fields["FirstName"], fields["MiddleName"]) == (
        "Оглы", "Мамед", "Али оглы")


def test_a_one_word_name_fills_only_the_last_name():
    fields = payment_qr.parse(payment_qr.payload_for_bill(
        sample_bill(consumer=Consumer(name="ИП Сидоров", address="г. Армавир"))))
    assert (fields["LastName"], fields["FirstName"]) == ("ИП", "Сидоров")
    assert "MiddleName" not in fields


def test_payer_details_give_way_when_the_code_would_be_too_dense():
    long_address = "Краснодарский край, Усть-Лабинский район, станица Воронежская, " * 3
    fields = payment_qr.parse(payment_qr.payload_for_bill(
        sample_bill(consumer=Consumer(name="Петров Иван Сергеевич", address=long_address))))
    assert "PayerAddress" not in fields
    assert fields["LastName"] == "Петров"
    assert (fields["PersAcc"], fields["Sum"]) == ("123456789", "119652")


def test_a_payee_name_with_the_separator_is_refused():
    bill = sample_bill(supplier=dataclasses.replace(SUPPLIER, name="АО «НЭСК» | филиал"))
    with pytest.raises(PaymentQrError) as info:
        payment_qr.payload_for_bill(bill)
    assert info.value.field == "Name"
    assert "separator" in info.value.reason


@pytest.mark.parametrize("field, value, reason", [
    ("BIC", "04034960", "9 digits"),
    ("BIC", "04034960A", "9 digits"),
    ("PersonalAcc", "4070281003000000301", "20 digits"),
    ("PersonalAcc", "4070281003000000301X", "20 digits"),
    ("CorrespAcc", "301018101000000006021", "20 digits"),
    ("Name", "Н" * 161, "at most 160"),
    ("BankName", "Б" * 46, "at most 45"),
    ("Name", "АО «НЭСК»\nфилиал", "line break"),
    ("Name", "АО|НЭСК", "separator"),
    ("Name", "", "empty"),
    ("Sum", "1196.52", "kopecks"),
    ("Sum", "-100", "kopecks"),
    ("PayeeINN", "230809175", "10 or 12 digits"),
    ("KPP", "23080100", "9 characters"),
    ("PaymPeriod", "2018-11", "MMYYYY"),
    ("PaymPeriod", "132018", "MMYYYY"),
    ("TechCode", "2", "01–15"),
    ("Purpose", "П" * 211, "at most 210"),
    ("PaymTerm", "2018-12-10", "dd.MM.yyyy"),
    ("PayerAddress", "кв. 7|8", "separator"),
])
def test_bad_values_are_refused_with_the_reason(field, value, reason):
    error = refusal({**REQUIRED, field: value})
    assert error.field == field
    assert reason in error.reason


def test_missing_required_and_unknown_fields_are_refused():
    without_bic = {k: v for k, v in REQUIRED.items() if k != "BIC"}
    assert refusal(without_bic).field == "BIC"
    assert "missing" in refusal(without_bic).reason
    assert refusal({**REQUIRED, "Summ": "100"}).field == "Summ"


def test_the_required_block_may_not_pass_300_bytes():
    # 80 Cyrillic letters are within Name's 160 characters but take 160 bytes in UTF-8,
    # which with this bank's name and the accounts makes 332.
    error = refusal({**REQUIRED, "Name": "Я" * 80})
    assert error.field == "Name"
    assert "take 332 bytes, at most 300" in error.reason
    assert payment_qr.build({**REQUIRED, "Name": "Я" * 64})  # exactly 300 bytes: fits


def test_the_whole_text_is_bounded_so_the_code_stays_readable():
    long = {"Purpose": "П" * 200, "PayerAddress": "А" * 200, "LastName": "Ф" * 100}
    error = refusal({**REQUIRED, **long})
    assert error.field == "payload"
    assert f"at most {payment_qr.MAX_PAYLOAD_BYTES}" in error.reason


def test_build_puts_required_fields_first_whatever_the_order_given():
    payload = payment_qr.build({"Sum": "100", **dict(reversed(list(REQUIRED.items())))})
    assert list(payment_qr.parse(payload)) == [*payment_qr.REQUIRED, "Sum"]


@pytest.mark.parametrize("text, field, reason", [
    ("ST00022|Name=А", "header", "ST0001"),
    ("ST00019|Name=А", "header", "encoding flag"),
    ("ST00012|PersonalAcc=40702810030000003019|Name=АО|BankName=Б|BIC=040349602"
     "|CorrespAcc=30101810100000000602", "PersonalAcc", "out of order"),
    ("ST00012|Name=АО|PersonalAcc=40702810030000003019|BankName=Б|BIC=040349602"
     "|CorrespAcc=30101810100000000602|Sum=1|Sum=2", "Sum", "twice"),
    ("ST00012|Name=АО|PersonalAcc=40702810030000003019|BankName=Б|BIC=040349602"
     "|CorrespAcc=30101810100000000602|Sum", "Sum", "Key=Value"),
])
def test_parse_refuses_texts_that_break_the_standard(text, field, reason):
    with pytest.raises(PaymentQrError) as info:
        payment_qr.parse(text)
    assert info.value.field == field
    assert reason in info.value.reason


def test_parse_accepts_what_other_producers_write():
    # Another separator (the standard lets the text choose it), a closing separator,
    # field names in another case, and windows-1251 bytes with flag 1.
    text = ("ST00011#Name=АО «НЭСК»#PersonalAcc=40702810030000003019#BankName=Банк"
            "#BIC=040349602#CorrespAcc=30101810100000000602#persAcc=123456789#")
    assert payment_qr.parse(text.encode("cp1251")) == {
        "Name": "АО «НЭСК»", "PersonalAcc": "40702810030000003019", "BankName": "Банк",
        "BIC": "040349602", "CorrespAcc": "30101810100000000602", "PersAcc": "123456789"}


def test_bills_with_unprintable_data_are_refused():
    with pytest.raises(BillError, match="debt_at_start"):
        sample_bill(debt_at_start=250.0)
    with pytest.raises(BillError, match="period"):
        sample_bill(period="11.2018")
    with pytest.raises(BillError, match="bank.bic"):
        dataclasses.replace(BANK, bic="0403496")
    with pytest.raises(BillError, match="different numbers of zones"):
        MeterRow("1", MeterReading("КО", date(2018, 11, 1), (1, 2)),
                 MeterReading("КО", date(2018, 12, 1), (3,)))
    with pytest.raises(BillError, match="1 to 3 zones"):
        MeterReading("КО", date(2018, 11, 1), (1, 2, 3, 4))
    with pytest.raises(BillError, match="at most 4 meters"):
        sample_bill(meters=sample_bill().meters * 5)
