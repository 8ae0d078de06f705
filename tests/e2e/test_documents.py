"""РАЗДЕЛ «ДОКУМЕНТЫ» as a customer meets it: a month's bill downloaded as a PDF holding the
account's number, and opened for printing; the bill's link from a letter through the login
page; documents for the social norm refused (no type, no file, not a scan, too big), then
submitted, listed with their status and withdrawn; a phone screen."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image
from playwright.sync_api import Page, expect


def last_month() -> str:
    today = date.today()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year}-{month:02d}"


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return " ".join(" ".join(page.get_textpage().get_text_range().split())
                        for page in document)
    finally:
        document.close()


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        "the page scrolls sideways"


@pytest.fixture
def billed(stack: Any, with_account: dict[str, Any]) -> dict[str, Any]:
    """The demo account charged for last month by billing."""
    period = last_month()
    stack.post_charge(with_account["number"], period, "1418.55")
    return {**with_account, "period": period}


def test_the_bill_of_a_month_downloaded_and_opened_for_printing(page: Page,
                                                                billed: dict) -> None:
    period = billed["period"]
    page.get_by_role("link", name="Документы").click()
    expect(page.get_by_role("link", name="Квитанции", exact=True)).to_have_attribute(
        "aria-current", "page")
    row = page.get_by_test_id(f"bill-{period}")
    expect(row).to_contain_text("1 418,55")

    with page.expect_download() as info:
        row.get_by_role("link", name="Скачать PDF").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert "123456789" in pdf_text(pdf)

    # «Печать»: the same PDF in a new tab, shown rather than saved.
    printing = row.get_by_role("link", name="Печать")
    expect(printing).to_have_attribute("target", "_blank")
    shown = page.request.get(printing.get_attribute("href"))
    assert shown.ok and shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline")
    assert shown.body().startswith(b"%PDF")


def test_the_bill_link_from_a_letter_goes_through_the_login_page(
        page: Page, stack: Any, billed: dict) -> None:
    page.get_by_role("button", name="Выход").click()
    url = f"/documents/{billed['account_id']}/bills/{billed['period']}"
    page.goto(url)
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    assert "next=" in page.url
    page.get_by_label("Номер телефона").fill(billed["phone"])
    page.get_by_label("Пароль").fill(billed["password"])
    with page.expect_download() as info:
        page.get_by_role("button", name="Войти").click()
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")


def test_a_month_without_a_bill_says_so_in_russian(page: Page, with_account: dict) -> None:
    response = page.goto(f"/documents/{with_account['account_id']}/bills/2001-01")
    assert response.status == 404
    expect(page.get_by_test_id("error-message")).to_be_visible()
    assert "Traceback" not in page.content()


def image_file(folder: Path, name: str = "passport.png") -> Path:
    path = folder / name
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (240, 240, 230)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_a_document_refused_then_submitted_listed_and_withdrawn(
        page: Page, with_account: dict, tmp_path: Path) -> None:
    page.goto("/documents")
    page.get_by_role("link", name="Документы для соц. нормы").click()
    expect(page.get_by_role("heading", name="Подать документ")).to_be_visible()
    form = page.locator("form", has=page.get_by_role("button", name="Подать документ"))

    # Nothing chosen: each field says what it needs.
    page.get_by_role("button", name="Подать документ").click()
    expect(page.get_by_test_id("error-doc_type")).to_contain_text("тип документа")
    expect(page.get_by_test_id("error-file")).to_contain_text("Прикрепите файл")
    expect(page.get_by_test_id("error-summary")).to_be_visible()

    # Not a scan: the file is judged by its content, not its name.
    fake = tmp_path / "скан.pdf"
    fake.write_bytes(b"just some text, not a PDF")
    form.get_by_label("Тип документа").select_option(label="Копия паспорта")
    form.get_by_label("Файл").set_input_files(str(fake))
    page.get_by_role("button", name="Подать документ").click()
    expect(page.get_by_test_id("error-file")).to_contain_text("JPEG, PNG")
    expect(form.get_by_label("Тип документа")).to_have_value("passport_copy")

    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024 + 10))
    form.get_by_label("Файл").set_input_files(str(big))
    page.get_by_role("button", name="Подать документ").click()
    expect(page.get_by_test_id("error-file")).to_contain_text("5 МБ")

    form.get_by_label("Лицевой счёт").select_option(str(with_account["account_id"]))
    form.get_by_label("Тип документа").select_option(label="Копия паспорта")
    form.get_by_label("Файл").set_input_files(str(image_file(tmp_path)))
    page.get_by_role("button", name="Подать документ").click()
    expect(page.get_by_role("status").filter(has_text="Документ подан")).to_be_visible()
    listed = page.get_by_test_id("documents-123456789").locator("tr", has_text="passport.png")
    expect(listed).to_contain_text("Копия паспорта")
    expect(listed).to_contain_text("Подан")

    listed.get_by_role("button", name="Отозвать").click()
    expect(page.get_by_role("status").filter(has_text="Документ отозван")).to_be_visible()
    expect(page.get_by_test_id("documents-123456789").locator(
        "tr", has_text="passport.png")).to_have_count(0)


def test_a_customer_without_accounts_is_told_so(signed_in: Page) -> None:
    page = signed_in
    page.goto("/documents")
    expect(page.get_by_text("У вас нет лицевых счетов")).to_be_visible()
    page.goto("/documents/social")
    expect(page.get_by_text("У вас нет лицевых счетов")).to_be_visible()


@pytest.mark.phone
def test_documents_on_a_phone(page: Page, billed: dict, tmp_path: Path) -> None:
    page.goto("/documents")
    row = page.get_by_test_id(f"bill-{billed['period']}")
    expect(row.get_by_role("link", name="Скачать PDF")).to_be_visible()
    no_sideways_scroll(page)
    page.goto("/documents/social")
    page.get_by_label("Тип документа").select_option(label="Копия паспорта")
    page.get_by_label("Файл").set_input_files(str(image_file(tmp_path, "phone.png")))
    page.get_by_role("button", name="Подать документ").click()
    listed = page.get_by_test_id("documents-123456789").locator("tr", has_text="phone.png")
    expect(listed.get_by_role("button", name="Отозвать")).to_be_visible()
    no_sideways_scroll(page)
    listed.get_by_role("button", name="Отозвать").click()
    expect(page.get_by_role("status").filter(has_text="Документ отозван")).to_be_visible()
