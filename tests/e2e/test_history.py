"""РАЗДЕЛ «ИСТОРИЯ» in a browser: a card payment made through the API shows on «Платежи» and
«Полная история платежей» with the columns of рис. 21; a wrong period is refused by the date
field; «Показания» shows a reading sent through the API and the monthly consumption chart."""
from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.e2e.stack import Stack, eventually


def fresh_token(stack: Stack, phone: str, password: str) -> str:
    """Access tokens live 45 s in the test stack: log in through the API for a new one."""
    r = stack.api("POST", "/auth/login", json={"phone": phone, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def last_month() -> str:
    today = date.today()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def pay_by_card(stack: Stack, token: str, account_id: int, amount: str) -> str:
    """A card payment as the payments pages make it: POST /payments, then the sandbox's
    card form with the test card that always succeeds; the payment's id."""
    started = stack.api("POST", "/payments", token, json={
        "idempotency_key": str(uuid.uuid4()),
        "items": [{"account_id": account_id, "kind": "electricity", "amount": amount}]})
    assert started.status_code == 201, started.text
    payment = started.json()
    ref = payment["action"]["confirmation_url"].rstrip("/").split("/")[-1]
    paid = stack.api("POST", f"/payments/sandbox/{ref}", token, json={
        "card_number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"})
    assert paid.status_code == 200, paid.text
    eventually(lambda: stack.api("GET", f"/payments/{payment['id']}", token).json()
               .get("status") == "succeeded", what="the payment to succeed")
    return payment["id"]


@pytest.fixture
def paid(stack: Stack, customer: dict[str, Any]) -> dict[str, Any]:
    """A customer with an account of their own that billing charged and they paid 10 ₽ of."""
    account = stack.open_account()
    token = fresh_token(stack, customer["phone"], customer["password"])
    account_id = stack.link_account(token, account)
    stack.post_charge(account["number"], last_month(), "1520.40", token=token,
                      account_id=account_id)
    payment_id = pay_by_card(stack, token, account_id, "10.00")
    return {**customer, **account, "account_id": account_id, "payment_id": payment_id}


def test_payments_then_full_history_then_a_wrong_period(page: Page, paid: dict, stack) -> None:
    log_in(page, paid["phone"], paid["password"])
    page.get_by_role("navigation", name="Разделы").get_by_role("link", name="История").click()
    expect(page.get_by_role("heading", name="История", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Платежи", exact=True)).to_have_attribute(
        "aria-current", "page")

    # «Платежи»: one account's payments, the columns of рис. 21
    expect(page.get_by_label("Лицевой счет")).to_contain_text(paid["number"])
    table = page.get_by_test_id("payments-table")
    for column in ("ID", "Сумма", "Тип", "Источник оплаты", "Время", "Статус", "Действия"):
        expect(table.get_by_role("columnheader", name=column, exact=True)).to_be_visible()
    row = table.get_by_role("row").filter(has_text="10,00")
    expect(row).to_contain_text("За электроэнергию")
    expect(row).to_contain_text("Банковская карта")
    expect(row).to_contain_text("Оплачен")
    expect(row).to_contain_text(re.compile(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}"))
    expect(row.get_by_role("link", name=re.compile("Подробнее"))).to_have_attribute(
        "href", f"/pay/result/{paid['payment_id']}")

    # «Полная история платежей»: every account, with its number
    page.get_by_role("link", name="Полная история платежей").click()
    row = page.get_by_test_id("payments-table").get_by_role("row").filter(has_text="10,00")
    expect(row).to_contain_text(paid["number"])
    expect(row).to_contain_text("Оплачен")

    # A period that ends before it starts: the message stands by the «С даты» field
    page.get_by_label("С даты").fill("2026-12-31")
    page.get_by_label("По дату").fill("2026-01-01")
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_test_id("error-date_from")).to_contain_text("Начало периода позже конца")
    expect(page.get_by_test_id("error-summary")).to_be_visible()

    # A period with no payments says so
    page.get_by_label("С даты").fill("2001-01-01")
    page.get_by_label("По дату").fill("2001-12-31")
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_test_id("no-payments")).to_contain_text("Платежей за этот период нет")


def submit_reading(stack: Stack, token: str, account_id: int) -> int:
    """A reading 120 kWh above the meter's last one, through the API; the value sent."""
    meters = stack.api("GET", f"/accounts/{account_id}/meters", token)
    assert meters.status_code == 200, meters.text
    meter = meters.json()[0]
    last = (meter.get("last_reading") or {}).get("values") or [1000]
    value = int(last[0]) + 120
    sent = stack.api("POST", f"/accounts/{account_id}/readings", token, json={
        "meter_serial": meter["serial"], "values": [value], "confirm": True})
    assert sent.status_code == 201, sent.text
    return value


def test_readings_tab_shows_a_reading_sent_and_the_chart(page: Page, with_account: dict,
                                                         stack) -> None:
    token = fresh_token(stack, with_account["phone"], with_account["password"])
    value = submit_reading(stack, token, with_account["account_id"])

    page.goto("/history")
    page.get_by_role("link", name="Показания", exact=True).click()
    expect(page.get_by_label("Лицевой счет")).to_contain_text(with_account["number"])
    table = page.get_by_test_id("readings-table").first
    for column in ("Период", "Показания", "Расход, кВт·ч", "Источник", "Передано", "Статус"):
        expect(table.get_by_role("columnheader", name=column, exact=True)).to_be_visible()
    row = table.get_by_role("row").filter(has_text=str(value)).first
    expect(row).to_contain_text("Передано вами")
    expect(row).to_contain_text(re.compile("На проверке|Принято"))

    # the demo account's year of readings: a chart with a title and a table to fall back on
    chart = page.get_by_role("img", name=re.compile("Расход электроэнергии по месяцам"))
    expect(chart).to_be_visible()
    assert page.locator("[data-testid=consumption-chart] rect.chart__bar").count() >= 2
    page.get_by_text("Показать таблицей").click()
    expect(page.get_by_test_id("chart-table")).to_be_visible()
    expect(page.get_by_test_id("chart-table").get_by_role("row")).not_to_have_count(1)


@pytest.mark.phone
def test_history_on_a_phone(page: Page, paid: dict, stack) -> None:
    log_in(page, paid["phone"], paid["password"])
    page.goto("/history")
    row = page.get_by_test_id("payments-table").get_by_role("row").filter(has_text="10,00")
    expect(row).to_contain_text("Оплачен")
    # the table stacks into cards: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # a second account, the demo one with a year of readings: chosen in «Лицевой счет»
    demo_id = stack.link_demo_account(fresh_token(stack, paid["phone"], paid["password"]))
    page.get_by_role("link", name="Показания", exact=True).click()
    page.get_by_label("Лицевой счет").select_option(value=str(demo_id))
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_role("img", name=re.compile("Расход электроэнергии"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
