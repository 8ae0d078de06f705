"""«Оплата» through СБП in a browser, under the sandbox provider: the waiting page shows the
bank's link as a QR code on a computer and as a big button on a phone; the sandbox's «bank
app» (what the code opens in ``make run``) approves or declines, and the waiting page, polling
the API, moves to the result by itself. The result and the history show the 54-ФЗ receipt."""
from __future__ import annotations

import io
import re
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.e2e.stack import Stack
from tests.e2e.test_payments import account_with_charges, money_re, months_ago

SANDBOX_BANK = re.compile(r"/payments/sandbox-sbp/[\w-]+")


def start_sbp(page: Page) -> str:
    """From /pay, «СБП» and «Оплатить»: the waiting page; the link its code stands for."""
    page.goto("/pay")
    page.get_by_label("СБП (Система быстрых платежей)").check()
    page.get_by_role("button", name="Оплатить").click()
    expect(page.get_by_role("heading", name="Оплата через СБП")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/pay/sbp/[\w-]+$"))
    link = page.get_by_test_id("sbp-open").get_attribute("href") or ""
    assert SANDBOX_BANK.search(link), link
    return link


def test_pay_by_sbp_with_the_qr_code_and_the_receipt(page: Page, stack: Stack,
                                                     customer: dict[str, Any]) -> None:
    account = account_with_charges(stack, customer, {months_ago(1): "1520.40"})
    log_in(page, customer["phone"], customer["password"])
    link = start_sbp(page)

    # A computer: the QR code (the page draws it, no image from elsewhere) with what to do.
    qr = page.get_by_test_id("sbp-qr")
    expect(qr).to_be_visible()
    expect(qr.locator("svg title")).to_have_text("QR-код для оплаты через СБП")
    expect(qr).to_contain_text("Отсканируйте QR-код камерой телефона или в приложении банка")
    # What a phone's camera reads off the screen is the bank's link itself.
    scanned = zxingcpp.read_barcode(Image.open(io.BytesIO(qr.locator("svg").screenshot())))
    assert scanned is not None and scanned.text == link
    expect(page.get_by_test_id("sbp-amount")).to_have_text(money_re("1 520,40 ₽"))
    expect(page.get_by_test_id("sbp-status")).to_contain_text("Ждём подтверждения")

    # The phone that scanned the code: the sandbox's bank app, the same customer.
    phone = page.context.new_page()
    phone.goto(link)
    expect(phone.get_by_role("heading", name=money_re("Тестовый банк: оплатить 1 520,40 ₽ по СБП"))
           ).to_be_visible()
    phone.get_by_role("button", name="Оплатить").click()
    expect(phone.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    phone.close()

    # The computer's page learns it by itself (htmx asks the API every 2 s).
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text(money_re("0,00 ₽"))
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_contain_text("Чек: отправлен")
    expect(receipt).to_contain_text(re.compile(rf"Электроэнергия.*л/с {account['number']}"))

    page.goto(f"/history?tab=payments&account_id={account['account_id']}")
    table = page.get_by_test_id("payments-table")
    expect(table).to_contain_text("СБП")
    expect(table).to_contain_text("Чек: отправлен")


@pytest.mark.phone
def test_sbp_on_a_phone_opens_the_bank_app_and_a_decline_says_so(
        page: Page, stack: Stack, customer: dict[str, Any]) -> None:
    account_with_charges(stack, customer, {months_ago(1): "300.00"})
    log_in(page, customer["phone"], customer["password"])
    link = start_sbp(page)
    button = page.get_by_role("link", name="Открыть приложение банка")
    expect(button).to_be_visible()
    # On a phone the button comes first, above the code, and the page fits the screen.
    qr_top = page.get_by_test_id("sbp-qr").bounding_box()
    button_top = button.bounding_box()
    assert qr_top and button_top and button_top["y"] < qr_top["y"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    button.click()
    expect(page).to_have_url(SANDBOX_BANK)
    assert link.endswith(page.url.split("/payments/")[1])
    page.get_by_role("button", name="Отклонить").click()
    expect(page.get_by_role("heading", name="Платёж отменён")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text(money_re("300,00 ₽"))
