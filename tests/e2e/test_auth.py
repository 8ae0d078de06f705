"""Регистрация (по телефону, по e-mail), подтверждение адреса, «Забыли пароль?» (по SMS, по
e-mail) and the login page's messages, clicked through as a customer does."""
from __future__ import annotations

import random
import re
import time
from typing import Any, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import DESKTOP, log_in
from tests.e2e.stack import CAPTCHA, PASSWORD, Stack, new_phone

NEW_PASSWORD = "Свет-2027-новый"


def new_email() -> str:
    return f"user{random.randrange(10**9)}@nesk.example"


def captcha_src(page: Page) -> str:
    return page.get_by_test_id("captcha-image").get_attribute("src") or ""


def other_code(code: str) -> str:
    """A six-digit code that is surely not ``code``."""
    return f"{(int(code) + 1) % 10**6:06d}"


def register_by_email_api(stack: Stack, email: str, password: str = PASSWORD) -> None:
    """A customer registered and confirmed by e-mail through the API (for recovery tests)."""
    captcha = stack.api("POST", "/auth/captcha").json()["captcha_id"]
    consent = stack.api("GET", "/auth/consent").json()["version"]
    r = stack.api("POST", "/auth/register/email", json={
        "email": email, "password": password, "password_confirmation": password,
        "consent_version": consent, "captcha_id": captcha, "captcha_answer": CAPTCHA})
    assert r.status_code == 202, r.text
    token = stack.mail_link(email, "/register/email/confirm").split("token=", 1)[1]
    r = stack.api("POST", "/auth/register/email/confirm", json={"token": token})
    assert r.status_code == 200, r.text


@pytest.fixture
def no_js_page(browser: Browser, stack: Stack) -> Iterator[Page]:
    """A browser with JavaScript off: every page must still work."""
    ctx = browser.new_context(base_url=stack.web, viewport=DESKTOP, locale="ru-RU",
                              java_script_enabled=False)
    yield ctx.new_page()
    ctx.close()


# ---- registration by phone -------------------------------------------------------------------

def register_by_phone(page: Page, stack: Stack) -> str:
    """Рис. 3–7 with a wrong captcha, a wrong code, differing passwords and no consent first."""
    phone = new_phone()
    page.goto("/login")
    page.get_by_role("link", name="Регистрация").click()
    expect(page.get_by_role("heading", name="Регистрация")).to_be_visible()
    expect(page.get_by_role("link", name="По номеру телефона")).to_have_attribute(
        "aria-current", "page")
    expect(page.get_by_role("img", name="Картинка с проверочным словом")).to_be_visible()

    # «Обновить картинку» swaps the picture in place (htmx): the typed phone stays.
    page.get_by_label("Номер мобильного телефона").fill(phone)
    before = captcha_src(page)
    page.get_by_role("button", name="Обновить картинку").click()
    expect(page.get_by_test_id("captcha-image")).not_to_have_attribute("src", before)
    expect(page.get_by_label("Номер мобильного телефона")).to_have_value(phone)

    # A wrong word: the message by the captcha field and a new picture.
    before = captcha_src(page)
    page.get_by_label("Введите слово на картинке").fill("ОШИБКА")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_test_id("error-captcha")).to_contain_text("Неверно введено слово")
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    expect(page.get_by_test_id("captcha-image")).not_to_have_attribute("src", before)
    expect(page.get_by_label("Номер мобильного телефона")).to_have_value(phone)

    sent = len(stack.messages(phone, "sms"))
    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("heading", name="Введите код из SMS")).to_be_visible()
    expect(page.get_by_test_id("masked-phone")).to_contain_text(phone[-2:])
    assert "verification" not in page.url and "token" not in page.url

    # The resend's cooldown, counted down by the page; the button waits for it.
    wait = page.get_by_test_id("resend-wait")
    expect(wait).to_contain_text(re.compile(r"Отправить код ещё раз можно через \d+\sс"))
    expect(page.get_by_role("button", name="Отправить код ещё раз")).to_be_disabled()
    first = int(re.search(r"(\d+)\sс", wait.inner_text()).group(1))
    expect(wait).not_to_contain_text(re.compile(rf"через {first}\sс"))

    code = stack.sms_code(phone, after=sent)
    page.get_by_label("Код").fill(other_code(code))
    page.get_by_role("button", name="Отправить", exact=True).click()
    expect(page.get_by_test_id("error-code")).to_contain_text("Неверный код из SMS")

    page.get_by_label("Код").fill(code)
    page.get_by_role("button", name="Отправить", exact=True).click()
    expect(page.get_by_role("heading", name="Придумайте пароль")).to_be_visible()
    expect(page.get_by_role("link", name="согласие на обработку персональных данных")
           ).to_have_attribute("href", "/consent")

    # Passwords that differ and no consent: both said at once, each by its field.
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Подтверждение пароля").fill(PASSWORD + "x")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_test_id("error-password_confirmation")).to_contain_text("не совпадают")
    expect(page.get_by_test_id("error-consent")).to_contain_text(
        "Необходимо согласие на обработку персональных данных")

    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Подтверждение пароля").fill(PASSWORD)
    page.get_by_label("Я даю согласие").check()
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("heading", name="Вы успешно зарегистрировались")).to_be_visible()
    page.get_by_role("link", name="Перейти в личный кабинет").click()
    expect(page.get_by_role("button", name="Выход")).to_be_visible()
    return phone


def test_register_by_phone_then_log_in(page: Page, stack: Stack) -> None:
    phone = register_by_phone(page, stack)
    page.get_by_role("button", name="Выход").click()
    log_in(page, phone, PASSWORD)


@pytest.mark.phone
def test_register_by_phone_on_a_phone(page: Page, stack: Stack) -> None:
    register_by_phone(page, stack)


def test_without_javascript_captcha_refresh_and_resend_cooldown(no_js_page: Page,
                                                                 stack: Stack) -> None:
    page, phone = no_js_page, new_phone()
    page.goto("/register")
    page.get_by_label("Номер мобильного телефона").fill(phone)
    before = captcha_src(page)
    page.get_by_role("button", name="Обновить картинку").click()  # submits the form
    expect(page.get_by_test_id("captcha-image")).not_to_have_attribute("src", before)
    expect(page.get_by_label("Номер мобильного телефона")).to_have_value(phone)
    expect(page.get_by_test_id("error-summary")).to_have_count(0)

    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_label("Введите слово на картинке").press("Enter")  # Enter registers
    expect(page.get_by_role("heading", name="Введите код из SMS")).to_be_visible()
    expect(page.get_by_test_id("resend-wait")).to_contain_text("можно через")

    # Too early: the API's cooldown, in words and seconds.
    page.get_by_role("button", name="Отправить код ещё раз").click()
    expect(page.get_by_role("alert")).to_contain_text("Повторно запросить код можно через")
    expect(page.get_by_test_id("resend-wait")).to_contain_text(
        re.compile(r"можно через \d+\sс"))


def test_consent_page(page: Page, stack: Stack) -> None:
    page.goto("/consent")
    expect(page.get_by_role("heading", name="Согласие на обработку персональных данных")
           ).to_be_visible()
    expect(page.get_by_test_id("consent-version")).to_contain_text(
        re.compile(r"Редакция от \d\d\.\d\d\.\d{4}"))
    # The text is the API's (GET /auth/consent), the one whose acceptance auth records.
    consent = stack.api("GET", "/auth/consent").json()
    expect(page.get_by_test_id("consent-version")).to_contain_text(
        ".".join(reversed(consent["date"].split("-"))))
    expect(page.get_by_role("heading", name="1. Какие данные")).to_be_visible()
    expect(page.get_by_test_id("consent-text")).to_contain_text("152-ФЗ «О персональных данных»")
    expect(page.get_by_test_id("consent-text").get_by_role(
        "link", name="contact@nesk.ru")).to_have_attribute(
        "href", "mailto:contact@nesk.ru")


# ---- registration by e-mail ------------------------------------------------------------------

def test_register_by_email_link_signs_in_and_a_used_link_says_so(page: Page,
                                                                 stack: Stack) -> None:
    email = new_email()
    page.goto("/register")
    page.get_by_role("link", name="Сменить тип регистрации").click()
    expect(page.get_by_role("link", name="По электронной почте")).to_have_attribute(
        "aria-current", "page")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Подтверждение пароля").fill("другой-пароль-123")
    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_label("Я даю согласие").check()
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_test_id("error-password_confirmation")).to_contain_text("не совпадают")
    expect(page.get_by_label("Электронная почта")).to_have_value(email)
    expect(page.get_by_label("Я даю согласие")).to_be_checked()

    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Подтверждение пароля").fill(PASSWORD)
    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()

    link = stack.mail_link(email, "/register/email/confirm")
    page.goto(link)  # auth.js presses «Подтвердить адрес»
    expect(page).to_have_url(stack.web + "/")
    expect(page.get_by_text("Адрес подтверждён")).to_be_visible()
    expect(page.get_by_role("button", name="Выход")).to_be_visible()

    page.goto(link)
    expect(page.get_by_role("heading", name="Ссылка не работает")).to_be_visible()
    expect(page.get_by_test_id("link-message")).to_contain_text("Ссылка уже использована")
    expect(page.get_by_role("link", name="Войти")).to_be_visible()


def test_the_confirmation_link_waits_for_the_button_without_javascript(
        no_js_page: Page, stack: Stack) -> None:
    """A mail scanner opening the link confirms nothing; the button does."""
    email = new_email()
    captcha = stack.api("POST", "/auth/captcha").json()["captcha_id"]
    consent = stack.api("GET", "/auth/consent").json()["version"]
    assert stack.api("POST", "/auth/register/email", json={
        "email": email, "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": consent, "captcha_id": captcha,
        "captcha_answer": CAPTCHA}).status_code == 202
    page = no_js_page
    link = stack.mail_link(email, "/register/email/confirm")
    page.goto(link)
    page.goto(link)
    expect(page.get_by_role("button", name="Подтвердить адрес")).to_be_visible()
    page.get_by_role("button", name="Подтвердить адрес").click()
    expect(page.get_by_text("Адрес подтверждён")).to_be_visible()


# ---- «Забыли пароль?» ------------------------------------------------------------------------

def test_forgot_password_by_sms_then_log_in(page: Page, stack: Stack,
                                            customer: dict[str, Any]) -> None:
    phone = customer["phone"]
    page.goto("/login")
    page.get_by_role("link", name="Забыли пароль?").click()
    expect(page.get_by_role("heading", name="Восстановление пароля")).to_be_visible()
    sent = len(stack.messages(phone, "sms"))
    page.get_by_label("Номер телефона").fill(phone)
    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_role("button", name="Получить код").click()
    # The registration's SMS went to this phone a moment ago: the page names the wait.
    cooldown = page.get_by_test_id("error-phone")
    expect(page.get_by_role("heading", name="Введите код из SMS").or_(cooldown)).to_be_visible()
    if cooldown.is_visible():
        expect(cooldown).to_contain_text("Повторно запросить код можно")
        seconds = int(re.search(r"через (\d+)\sс", cooldown.inner_text()).group(1))
        time.sleep(seconds + 1)  # the wait the page asked for, as a person would
        page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
        page.get_by_role("button", name="Получить код").click()
    expect(page.get_by_role("heading", name="Введите код из SMS")).to_be_visible()
    expect(page.get_by_text("Если номер")).to_be_visible()

    code = stack.sms_code(phone, after=sent)
    page.get_by_label("Код").fill(code)
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Сменить пароль").click()
    expect(page.get_by_test_id("error-password_confirmation")).to_contain_text("не совпадают")
    expect(page.get_by_label("Код")).to_have_value(code)

    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Сменить пароль").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    expect(page.get_by_text("Пароль изменён")).to_be_visible()
    log_in(page, phone, NEW_PASSWORD)


def test_forgot_password_for_an_unknown_phone_reads_the_same(page: Page) -> None:
    page.goto("/forgot")
    page.get_by_label("Номер телефона").fill(new_phone())
    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_role("button", name="Получить код").click()
    expect(page.get_by_role("heading", name="Введите код из SMS")).to_be_visible()
    expect(page.get_by_text("Если номер")).to_be_visible()


def test_forgot_password_by_email_then_log_in(page: Page, stack: Stack) -> None:
    email = new_email()
    register_by_email_api(stack, email)
    page.goto("/login?by=email")
    page.get_by_role("link", name="Забыли пароль?").click()
    expect(page.get_by_role("link", name="По электронной почте")).to_have_attribute(
        "aria-current", "page")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Введите слово на картинке").fill("НЕ ТО")
    page.get_by_role("button", name="Получить ссылку").click()
    expect(page.get_by_test_id("error-captcha")).to_contain_text("Неверно введено слово")
    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_role("button", name="Получить ссылку").click()
    expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()
    expect(page.get_by_text("Если адрес")).to_be_visible()

    link = stack.mail_link(email, "/reset-password")
    page.goto(link)
    expect(page.get_by_role("heading", name="Новый пароль")).to_be_visible()
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill("что-то другое")
    page.get_by_role("button", name="Сохранить пароль").click()
    expect(page.get_by_test_id("error-password_confirmation")).to_contain_text("не совпадают")
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Сохранить пароль").click()
    expect(page.get_by_text("Пароль изменён")).to_be_visible()
    expect(page.get_by_role("link", name="По электронной почте")).to_have_attribute(
        "aria-current", "page")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выход")).to_be_visible()

    page.goto(link)
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Сохранить пароль").click()
    expect(page.get_by_test_id("link-message")).to_contain_text("Ссылка уже использована")
    expect(page.get_by_role("link", name="Запросить новую ссылку")).to_be_visible()


# ---- the login page --------------------------------------------------------------------------

def test_login_links_keep_the_tab_and_slow_down_is_explained(page: Page, stack: Stack,
                                                             customer: dict[str, Any]) -> None:
    page.goto("/login")
    page.get_by_role("link", name="По электронной почте").click()
    expect(page.get_by_role("link", name="Забыли пароль?")).to_have_attribute(
        "href", "/forgot?by=email")
    expect(page.get_by_role("link", name="Регистрация")).to_have_attribute(
        "href", "/register?by=email")

    # Wrong passwords through the API until the next try must wait several seconds.
    failures = 0
    while failures < 6:
        r = stack.api("POST", "/auth/login", json={"phone": customer["phone"],
                                                   "password": "неверный"})
        if r.status_code == 429:
            time.sleep(r.json()["error"]["retry_after"])  # the wait the API asks for
            continue
        assert r.status_code == 401, r.text
        failures += 1
    page.goto("/login")
    page.get_by_label("Номер телефона").fill(customer["phone"])
    page.get_by_label("Пароль").fill(customer["password"])
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_test_id("login-blocked")).to_contain_text(
        re.compile(r"Слишком много попыток входа, подождите немного\. Повторить можно через \d+\sс"))
