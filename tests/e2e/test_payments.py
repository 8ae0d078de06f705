"""«Оплата» in a browser: debt and penalties of one or several accounts, the card form with
the sandbox's test cards (paid, declined, 3-D Secure), the penalty explained, saved cards and
automatic payment. Each test opens accounts of its own on the bus, as billing does, so no
other test's payments change its figures."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.e2e.stack import Stack

VISA, DECLINED, THREE_DS = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0027 6000 3184"


def months_ago(count: int) -> str:
    """The billing period ``count`` months before this one, ``YYYY-MM``."""
    day = date.today().replace(day=1)
    for _ in range(count):
        day = (day - timedelta(days=1)).replace(day=1)
    return day.strftime("%Y-%m")


def money_re(text: str) -> re.Pattern[str]:
    """«1 520,40 ₽» whatever space the page puts between thousands."""
    return re.compile(re.escape(text).replace(r"\ ", r"[\s\u202f\u00a0]"))


def account_with_charges(stack: Stack, customer: dict[str, Any],
                         charges: dict[str, str]) -> dict[str, Any]:
    """A new account of the customer, charged ``{period: amount}`` by billing."""
    account = stack.open_account()
    account_id = stack.link_account(customer["access_token"], account)
    for period, amount in charges.items():
        stack.post_charge(account["number"], period, amount, token=customer["access_token"],
                          account_id=account_id)
    return {**account, "account_id": account_id}


def pay_by_card(page: Page, number: str = VISA) -> None:
    expect(page.get_by_role("heading", name="Оплата картой")).to_be_visible()
    page.get_by_label("Номер карты").fill(number)
    page.get_by_label("Срок действия (ММ/ГГ)").fill("12/30")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile("^Оплатить")).click()


def test_pay_the_debt_by_card_and_the_debt_is_gone(page: Page, stack: Stack,
                                                   customer: dict[str, Any]) -> None:
    account = account_with_charges(stack, customer, {months_ago(1): "1520.40"})
    log_in(page, customer["phone"], customer["password"])
    expect(page.get_by_test_id("balance")).to_have_text(money_re("1 520,40 ₽"))

    page.get_by_role("link", name="Оплата").first.click()
    expect(page.get_by_role("heading", name="Оплата", exact=True)).to_be_visible()
    group = page.get_by_role("group", name=f"Лицевой счёт № {account['number']}")
    expect(group).to_contain_text(money_re("1 520,40 ₽"))
    expect(group.get_by_label("Электроэнергия", exact=True)).to_be_checked()
    expect(group.get_by_label(re.compile("Сумма, ₽: электроэнергия"))).to_have_value("1520.40")
    expect(page.get_by_test_id("pay-total")).to_have_text(money_re("1 520,40 ₽"))
    page.get_by_role("button", name="Оплатить").click()

    expect(page).to_have_url(re.compile(r"/pay/card/[\w-]+$"))
    expect(page.get_by_test_id("card-amount")).to_have_text(money_re("1 520,40 ₽"))
    expect(page.get_by_test_id("test-cards")).to_contain_text("4242 4242 4242 4242")
    pay_by_card(page)

    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    expect(page.get_by_test_id("pay-status")).to_contain_text(money_re("1 520,40 ₽"))
    expect(page.get_by_test_id("balance")).to_have_text(money_re("0,00 ₽"))
    page.get_by_role("link", name="К оплате", exact=True).click()
    group = page.get_by_role("group", name=f"Лицевой счёт № {account['number']}")
    expect(group.locator("dd").first).to_have_text(money_re("0,00 ₽"))


def test_a_declined_card_says_why_and_another_card_pays(page: Page, stack: Stack,
                                                        customer: dict[str, Any]) -> None:
    account_with_charges(stack, customer, {months_ago(1): "300.00"})
    log_in(page, customer["phone"], customer["password"])
    page.goto("/pay")
    page.get_by_role("button", name="Оплатить").click()

    pay_by_card(page, DECLINED)
    expect(page.get_by_test_id("error-card_number")).to_contain_text("Банк отклонил карту")
    expect(page.get_by_test_id("error-summary")).to_contain_text("Банк отклонил карту")

    # Mistyped fields are named by their own message.
    page.get_by_label("Номер карты").fill("4242 4242 4242 4241")
    page.get_by_label("Срок действия (ММ/ГГ)").fill("12/30")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile("^Оплатить")).click()
    expect(page.get_by_test_id("error-card_number")).to_contain_text("Неверный номер карты")
    page.get_by_label("Номер карты").fill(VISA)
    page.get_by_label("Срок действия (ММ/ГГ)").fill("1230")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Срок действия (ММ/ГГ)").fill("13/30")
    page.get_by_role("button", name=re.compile("^Оплатить")).click()
    expect(page.get_by_test_id("error-exp")).to_contain_text("месяц")

    pay_by_card(page, VISA)
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text(money_re("0,00 ₽"))


def test_three_d_secure_wrong_code_then_the_right_one(page: Page, stack: Stack,
                                                      customer: dict[str, Any]) -> None:
    account_with_charges(stack, customer, {months_ago(1): "410.00"})
    log_in(page, customer["phone"], customer["password"])
    page.goto("/pay")
    page.get_by_role("button", name="Оплатить").click()

    pay_by_card(page, THREE_DS)
    expect(page.get_by_role("heading", name="Подтверждение оплаты")).to_be_visible()
    page.get_by_label("Код из SMS банка").fill("000000")
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_role("heading", name="Оплата картой")).to_be_visible()
    expect(page.get_by_role("alert").first).to_contain_text("Неверный код подтверждения")

    pay_by_card(page, THREE_DS)
    page.get_by_role("button", name="Подтвердить").click()  # no code: asked for it
    expect(page.get_by_test_id("error-code")).to_contain_text("Введите код")
    page.get_by_label("Код из SMS банка").fill("111111")
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()


def test_bad_amounts_are_named_by_their_field(page: Page, stack: Stack,
                                              customer: dict[str, Any]) -> None:
    account = account_with_charges(stack, customer, {months_ago(1): "250.00"})
    log_in(page, customer["phone"], customer["password"])
    page.goto("/pay")
    amount = page.get_by_label(re.compile("Сумма, ₽: электроэнергия"))
    amount.fill("сто рублей")
    page.get_by_role("button", name="Оплатить").click()
    field = f"amount_{account['account_id']}_debt"
    expect(page.get_by_test_id(f"error-{field}")).to_contain_text("рубли с копейками")
    expect(page.get_by_test_id("error-summary")).to_contain_text("рубли с копейками")

    page.get_by_label("Электроэнергия", exact=True).uncheck()
    page.get_by_role("button", name="Оплатить").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("Отметьте, что оплатить")
    page.wait_for_load_state()  # the page's script ticks the box on typing: let it start first

    # A customer may pay less than the debt, typed the Russian way.
    page.get_by_label(re.compile("Сумма, ₽: электроэнергия")).fill("100,50")
    expect(page.get_by_label("Электроэнергия", exact=True)).to_be_checked()  # typing ticks it
    expect(page.get_by_test_id("pay-total")).to_have_text(money_re("100,50 ₽"))
    page.get_by_role("button", name="Оплатить").click()
    pay_by_card(page)
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text(money_re("149,50 ₽"))


def test_several_accounts_in_one_payment(page: Page, stack: Stack,
                                         customer: dict[str, Any]) -> None:
    first = account_with_charges(stack, customer, {months_ago(1): "1000.00"})
    second = account_with_charges(stack, customer, {months_ago(1): "600.00"})
    log_in(page, customer["phone"], customer["password"])
    expect(page.get_by_test_id("balance")).to_have_text(money_re("1 600,00 ₽"))
    page.goto("/pay")
    expect(page.get_by_test_id("pay-total")).to_have_text(money_re("1 600,00 ₽"))
    page.get_by_role("group", name=f"Лицевой счёт № {second['number']}").get_by_label(
        re.compile("Сумма, ₽")).fill("400")
    expect(page.get_by_test_id("pay-total")).to_have_text(money_re("1 400,00 ₽"))
    page.get_by_role("button", name="Оплатить").click()
    expect(page.get_by_test_id("card-amount")).to_have_text(money_re("1 400,00 ₽"))
    pay_by_card(page)
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    expect(page.get_by_role("cell", name=first["number"])).to_be_visible()
    expect(page.get_by_role("cell", name=second["number"])).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text(money_re("200,00 ₽"))


def test_the_penalty_explained_by_day_ranges_then_paid(page: Page, stack: Stack,
                                                      customer: dict[str, Any]) -> None:
    account = account_with_charges(stack, customer, {months_ago(5): "1000.00"})
    log_in(page, customer["phone"], customer["password"])
    page.goto("/pay")
    group = page.get_by_role("group", name=f"Лицевой счёт № {account['number']}")
    expect(group.get_by_label("Пени", exact=True)).to_be_checked()
    group.get_by_role("link", name="Как начислены пени").click()

    expect(page.get_by_role("heading", name="Как начислены пени")).to_be_visible()
    charge = page.get_by_test_id(f"charge-{months_ago(5)}")
    expect(charge).to_contain_text("30 дней без пени")
    expect(charge).to_contain_text(re.compile(r"с \d\d\.\d\d\.\d{4} по \d\d\.\d\d\.\d{4}"))
    expect(charge).to_contain_text(re.compile(r"1/300 ставки \d+(,\d+)?\s%"))
    expect(charge).to_contain_text("не выше 9,5")
    today_total = page.get_by_test_id("penalty-total").inner_text()

    later = (date.today() + timedelta(days=90)).strftime("%d.%m.%Y")
    page.get_by_label("Если оплатить").fill(later)
    page.get_by_role("button", name="Пересчитать").click()
    expect(page.get_by_role("term").first).to_contain_text(later)
    expect(charge).to_contain_text("1/130 ставки")
    assert page.get_by_test_id("penalty-total").inner_text() != today_total

    page.get_by_label("Если оплатить").fill("31.02.2026")
    page.get_by_role("button", name="Пересчитать").click()
    expect(page.get_by_test_id("error-pay_on")).to_contain_text("ДД.ММ.ГГГГ")
    page.get_by_label("Если оплатить").fill("01.01.2020")
    page.get_by_role("button", name="Пересчитать").click()
    expect(page.get_by_test_id("error-pay_on")).to_contain_text("не может быть в прошлом")

    page.get_by_role("link", name="Перейти к оплате").click()
    page.get_by_role("button", name="Оплатить").click()
    pay_by_card(page)
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    expect(page.get_by_role("cell", name="Пени", exact=True)).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text(money_re("0,00 ₽"))


def test_a_saved_card_pays_at_once_and_turns_autopay_on_and_off(
        page: Page, stack: Stack, customer: dict[str, Any]) -> None:
    account = account_with_charges(stack, customer, {months_ago(2): "200.00"})
    log_in(page, customer["phone"], customer["password"])
    page.goto("/pay/cards")
    expect(page.get_by_test_id("no-cards")).to_be_visible()

    page.goto("/pay")
    page.get_by_label("Сохранить карту для следующих оплат").check()
    page.get_by_role("button", name="Оплатить").click()
    pay_by_card(page)
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()

    page.goto("/pay/cards")
    expect(page.get_by_test_id("saved-card")).to_contain_text("VISA •••• 4242")
    row = page.get_by_test_id(f"autopay-{account['number']}")
    expect(row).to_contain_text("Не подключён")
    row.get_by_role("button", name="Подключить автоплатёж").click()
    expect(page.get_by_role("status").first).to_contain_text("Автоплатёж подключён")
    row = page.get_by_test_id(f"autopay-{account['number']}")
    expect(row).to_contain_text("Подключён: visa •••• 4242")

    # The next bill is paid with the saved card, without the card form.
    stack.post_charge(account["number"], months_ago(1), "75.00",
                      token=customer["access_token"], account_id=account["account_id"])
    page.goto("/pay")
    page.get_by_label(re.compile("Сохранённой картой VISA •••• 4242")).check()
    page.get_by_role("button", name="Оплатить").click()
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text(money_re("0,00 ₽"))

    page.goto("/pay/cards")
    row = page.get_by_test_id(f"autopay-{account['number']}")
    row.get_by_role("button", name="Отключить автоплатёж").click()
    expect(page.get_by_role("status").first).to_contain_text("Автоплатёж отключён")
    expect(page.get_by_test_id(f"autopay-{account['number']}")).to_contain_text("Не подключён")
    page.get_by_role("button", name="Удалить карту •••• 4242").click()
    expect(page.get_by_test_id("no-cards")).to_be_visible()


@pytest.mark.phone
def test_pay_on_a_phone(page: Page, stack: Stack, customer: dict[str, Any]) -> None:
    account = account_with_charges(stack, customer, {months_ago(5): "880.00"})
    log_in(page, customer["phone"], customer["password"])
    page.goto("/pay")
    expect(page.get_by_role("group", name=f"Лицевой счёт № {account['number']}")).to_be_visible()
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(fits), "the payment page is wider than the phone"
    page.get_by_role("link", name="Как начислены пени").first.click()
    expect(page.get_by_role("heading", name="Как начислены пени")).to_be_visible()
    assert page.evaluate(fits), "the penalty page is wider than the phone"
    page.go_back()
    page.get_by_role("button", name="Оплатить").click()
    expect(page.get_by_role("heading", name="Оплата картой")).to_be_visible()
    assert page.evaluate(fits), "the card form is wider than the phone"
    pay_by_card(page)
    expect(page.get_by_role("heading", name="Платёж прошёл")).to_be_visible()
    assert page.evaluate(fits), "the result page is wider than the phone"
