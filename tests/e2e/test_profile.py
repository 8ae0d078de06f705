"""РАЗДЕЛ «ПРОФИЛЬ» as a customer meets it: each anketa tab refused with a bad value (the
Russian message by the field) then saved; the e-mail confirmed by the link from the letter;
the password and the phone changed (SMS code) and used to log in; the photo in the header;
the data export; the account deleted; a phone screen."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.e2e.stack import new_phone


def png(size: tuple[int, int] = (640, 480), colour: tuple[int, int, int] = (30, 120, 200)
        ) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def saved(page: Page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        "the page scrolls sideways"


def test_basic_anketa_refuses_latin_surname_and_a_child_then_saves(signed_in: Page,
                                                                    customer: dict) -> None:
    page = signed_in
    page.get_by_role("link", name="Профиль").click()
    expect(page.get_by_role("heading", name="Основная анкета")).to_be_visible()
    # рис. 17: the registered mobile phone is shown as it is
    expect(page.get_by_test_id("mobile-phone")).to_contain_text(customer["phone"][5:8])

    page.get_by_label("Фамилия", exact=True).fill("Ivanov")
    page.get_by_label("Фамилия латиницей").fill("Иванов")
    page.get_by_label("Дата рождения").fill("01.01.2020")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("error-last_name")).to_contain_text("русские буквы")
    expect(page.get_by_test_id("error-last_name_latin")).to_contain_text("латинские буквы")
    expect(page.get_by_test_id("error-birth_date")).to_contain_text("от 14 до 120 лет")
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    # what was typed stays in the form
    expect(page.get_by_label("Фамилия", exact=True)).to_have_value("Ivanov")

    page.get_by_label("Дата рождения").fill("31.02.1980")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("error-birth_date")).to_contain_text("ДД.ММ.ГГГГ")

    page.get_by_label("Фамилия", exact=True).fill("Иванов")
    page.get_by_label("Фамилия латиницей").fill("Ivanov")
    page.get_by_label("Имя", exact=True).fill("Иван")
    page.get_by_label("Имя латиницей").fill("Ivan")
    page.get_by_label("Отчество").fill("Петрович")
    page.get_by_label("Пол").select_option(label="Мужской")
    page.get_by_label("Псевдоним").fill("Ваня")
    page.get_by_label("Дата рождения").fill("05.03.1980")
    page.get_by_label("Гражданство").select_option(label="Российская Федерация")
    page.get_by_role("button", name="Сохранить").click()
    saved(page, "Основная анкета сохранена")
    page.reload()
    expect(page.get_by_label("Фамилия", exact=True)).to_have_value("Иванов")
    expect(page.get_by_label("Дата рождения")).to_have_value("05.03.1980")
    expect(page.get_by_label("Пол")).to_have_value("male")
    expect(page.get_by_label("Гражданство")).to_have_value("RU")


def test_extended_anketa_checks_snils_and_inn_then_saves(signed_in: Page) -> None:
    page = signed_in
    page.goto("/profile")
    page.get_by_role("link", name="Расширенная анкета").click()
    page.get_by_label("СНИЛС").fill("112-233-445 96")
    page.get_by_label("ИНН").fill("500100732258")
    page.get_by_label("Число проживающих").fill("0")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("error-snils")).to_contain_text("СНИЛС")
    expect(page.get_by_test_id("error-inn")).to_contain_text("ИНН")
    expect(page.get_by_test_id("error-household_size")).to_contain_text("от 1 до 30")

    page.get_by_label("Место рождения").fill("г. Краснодар")
    page.get_by_label("СНИЛС").fill("112-233-445 95")
    page.get_by_label("ИНН").fill("500100732259")
    page.get_by_label("Число проживающих").fill("3")
    page.get_by_role("button", name="Сохранить").click()
    saved(page, "Расширенная анкета сохранена")
    expect(page.get_by_label("СНИЛС")).to_have_value("112-233-445 95")
    expect(page.get_by_label("Число проживающих")).to_have_value("3")


def test_preferences_are_kept(signed_in: Page) -> None:
    page = signed_in
    page.goto("/profile/preferences")
    sms = page.get_by_label("Присылать уведомления по SMS")
    expect(sms).to_be_checked()
    sms.uncheck()
    page.get_by_role("button", name="Сохранить").click()
    saved(page, "Личные предпочтения сохранены")
    expect(page.get_by_label("Присылать уведомления по SMS")).not_to_be_checked()
    expect(page.get_by_label("Напоминать о передаче показаний")).to_be_checked()


def test_contacts_and_a_new_email_confirmed_by_the_link(signed_in: Page, stack: Any,
                                                        customer: dict) -> None:
    page = signed_in
    page.goto("/profile")
    page.get_by_role("link", name="Контактная информация").click()
    page.get_by_label("Электронная почта").fill("не адрес")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("error-email")).to_contain_text("адрес")

    email = f"profile-{customer['phone'][2:]}@example.ru"
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Дополнительные телефоны").fill("12")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("error-extra_phones")).to_be_visible()

    page.get_by_label("Дополнительные телефоны").fill("8 918 111-22-33")
    page.get_by_label("Почтовый адрес").fill("352570, пгт Мостовской, ул. Аэродромная, д. 1")
    page.get_by_role("button", name="Сохранить").click()
    saved(page, "Контактная информация сохранена")
    expect(page.get_by_test_id("pending-email")).to_contain_text(email)
    expect(page.get_by_label("Дополнительные телефоны")).to_have_value("+79181112233")

    # The link from the letter, opened in the browser: the page's button confirms it.
    link = stack.mail_link(email, "/profile/email/confirm")
    page.goto(link)
    saved(page, "Адрес электронной почты подтверждён")
    expect(page.get_by_role("heading", name="Контактная информация")).to_be_visible()
    expect(page.get_by_label("Электронная почта")).to_have_value(email)
    expect(page.get_by_test_id("pending-email")).to_have_count(0)
    # рис. 18 shows the address under «Параметры авторизации»
    page.get_by_role("link", name="Параметры авторизации").click()
    expect(page.get_by_test_id("current-email")).to_contain_text(email)

    # Used once: the same link again says so, in Russian, and offers the way back.
    page.goto(link)
    expect(page.get_by_test_id("confirm-failure")).to_contain_text("Ссылка")


def test_the_confirmation_page_does_nothing_without_its_button(page: Page, stack: Any,
                                                               customer: dict) -> None:
    """A mail scanner fetching the link (no script run) confirms nothing."""
    email = f"scan-{customer['phone'][2:]}@example.ru"
    stack.api("PUT", "/profile/contacts", customer["access_token"], json={"email": email})
    link = stack.mail_link(email, "/profile/email/confirm")
    fetched = requests.get(link, timeout=30)
    assert fetched.status_code == 200 and "Подтвердить адрес" in fetched.text
    profile = stack.api("GET", "/profile", customer["access_token"]).json()
    assert profile["contacts"]["pending_email"] == email and profile["contacts"]["email"] is None


def test_password_change_then_login_with_the_new_one(signed_in: Page, customer: dict) -> None:
    page = signed_in
    page.goto("/profile")
    page.get_by_role("link", name="Параметры авторизации").click()
    expect(page.get_by_role("heading", name="Профиль — Настройки авторизации")).to_be_visible()
    new_password = customer["password"] + "-новый"

    page.get_by_label("Старый пароль").fill("не тот пароль")
    page.get_by_label("Новый пароль").fill(new_password)
    page.get_by_label("Подтвердить пароль").fill(new_password)
    page.get_by_role("button", name="Изменить пароль").click()
    expect(page.get_by_test_id("error-old_password")).to_contain_text("неверно")

    page.get_by_label("Старый пароль").fill(customer["password"])
    page.get_by_label("Новый пароль").fill(new_password)
    page.get_by_label("Подтвердить пароль").fill(new_password + "x")
    page.get_by_role("button", name="Изменить пароль").click()
    expect(page.get_by_test_id("error-new_password_confirmation")).to_be_visible()

    page.get_by_label("Старый пароль").fill(customer["password"])
    page.get_by_label("Новый пароль").fill(new_password)
    page.get_by_label("Подтвердить пароль").fill(new_password)
    page.get_by_role("button", name="Изменить пароль").click()
    saved(page, "Пароль изменён")

    page.get_by_role("button", name="Выход").click()
    log_in(page, customer["phone"], new_password)


def test_phone_change_with_the_sms_code(signed_in: Page, stack: Any, customer: dict) -> None:
    page = signed_in
    page.goto("/profile/security")
    expect(page.get_by_test_id("current-phone")).to_contain_text(customer["phone"][-2:])
    page.get_by_label("Новый номер").fill("123")
    page.get_by_role("button", name="Подтвердить через SMS").click()
    expect(page.get_by_test_id("error-new_phone")).to_be_visible()

    phone = new_phone()
    page.get_by_label("Новый номер").fill(phone)
    page.get_by_role("button", name="Подтвердить через SMS").click()
    expect(page.get_by_role("heading", name="Введите код из SMS")).to_be_visible()
    code = stack.sms_code(phone)
    page.get_by_label("Код", exact=True).fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Отправить").click()
    expect(page.get_by_test_id("error-code")).to_be_visible()
    page.get_by_label("Код", exact=True).fill(code)
    page.get_by_role("button", name="Отправить").click()
    saved(page, "Номер телефона изменён")
    expect(page.get_by_test_id("current-phone")).to_contain_text(
        f"{phone[5:8]}-{phone[8:10]}-{phone[10:]}")

    page.get_by_role("button", name="Выход").click()
    log_in(page, phone, customer["password"])


def test_login_email_change_by_the_link_to_the_new_address(signed_in: Page, stack: Any,
                                                           customer: dict) -> None:
    page = signed_in
    page.goto("/profile/security")
    expect(page.get_by_test_id("login-email")).to_contain_text("не указан")
    email = f"login-{customer['phone'][2:]}@example.ru"
    page.get_by_label("Новый адрес для входа").fill(email)
    page.get_by_label("Текущий пароль").fill("не тот пароль")
    page.get_by_role("button", name="Подтвердить по e-mail").click()
    expect(page.get_by_test_id("error-email_password")).to_contain_text("неверно")
    expect(page.get_by_label("Новый адрес для входа")).to_have_value(email)

    page.get_by_label("Текущий пароль").fill(customer["password"])
    page.get_by_role("button", name="Подтвердить по e-mail").click()
    saved(page, f"Письмо отправлено на {email}")
    expect(page.get_by_test_id("login-email")).to_contain_text("не указан")  # not yet

    # The link from the letter, opened in the browser: the page's button confirms it. The page's
    # own requests finish first: one still running (the avatar) may renew the token and write the
    # session cookie back over the confirmation's message.
    page.wait_for_load_state("networkidle")
    page.goto(stack.mail_link(email, "/profile/login-email/confirm"))
    saved(page, "Адрес для входа изменён")
    expect(page.get_by_test_id("login-email")).to_contain_text(email)
    signed = stack.api("POST", "/auth/login", json={"email": email,
                                                    "password": customer["password"]})
    assert signed.status_code == 200, signed.text


def test_photo_upload_shows_in_the_header_and_can_be_deleted(signed_in: Page,
                                                             tmp_path: Path) -> None:
    page = signed_in
    header_photo = page.locator(".topbar__photo img")
    first = page.request.get(header_photo.get_attribute("src"))
    assert first.headers["content-type"].startswith("image/svg+xml")

    header_photo.click()  # the header's photo leads to «Изменить фото»
    expect(page.get_by_role("heading", name="Изменить фото")).to_be_visible()
    not_image = tmp_path / "photo.png"
    not_image.write_bytes(b"this is not a picture")
    page.get_by_label("Фото", exact=True).set_input_files(str(not_image))
    page.get_by_role("button", name="Загрузить фото").click()
    expect(page.get_by_test_id("error-photo")).to_contain_text("JPEG или PNG")

    picture = tmp_path / "me.png"
    picture.write_bytes(png())
    page.get_by_label("Фото", exact=True).set_input_files(str(picture))
    page.get_by_role("button", name="Загрузить фото").click()
    saved(page, "Фото сохранено")
    src = header_photo.get_attribute("src")
    assert "v=" in src
    shown = page.request.get(src)
    assert shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["cache-control"] == "private, max-age=300"
    assert shown.body()[:3] == b"\xff\xd8\xff"
    assert page.evaluate("document.querySelector('.topbar__photo img').naturalWidth") > 0

    page.get_by_role("button", name="Удалить фото").click()
    saved(page, "Фото удалено")
    expect(page.get_by_role("button", name="Удалить фото")).to_have_count(0)
    again = page.request.get(header_photo.get_attribute("src"))
    assert again.headers["content-type"].startswith("image/svg+xml")


def test_export_of_my_data_and_deleting_the_account(signed_in: Page, customer: dict,
                                                    stack: Any) -> None:
    page = signed_in
    page.goto("/profile/security")
    with page.expect_download() as info:
        page.get_by_role("link", name="Выгрузить мои данные").click()
    data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert data["auth"]["user"]["phone"] == customer["phone"]
    assert "basic" in data["profile"]
    assert info.value.suggested_filename.endswith(".json")

    page.get_by_role("link", name="Удалить учётную запись").click()
    expect(page.get_by_role("heading", name="Удалить учётную запись")).to_be_visible()
    page.get_by_label("Пароль").fill("не тот пароль")
    page.get_by_role("button", name="Удалить навсегда").click()
    expect(page.get_by_test_id("error-password")).to_contain_text("неверно")
    page.get_by_label("Пароль").fill(customer["password"])
    page.get_by_role("button", name="Удалить навсегда").click()
    saved(page, "Учётная запись удалена")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()

    page.get_by_label("Номер телефона").fill(customer["phone"])
    page.get_by_label("Пароль").fill(customer["password"])
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_test_id("error-password")).to_be_visible()


@pytest.mark.phone
def test_profile_on_a_phone(signed_in: Page) -> None:
    page = signed_in
    page.goto("/profile")
    expect(page.get_by_label("Фамилия", exact=True)).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_label("Фамилия", exact=True).fill("Smith")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("error-last_name")).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_role("link", name="Параметры авторизации").click()
    expect(page.get_by_role("button", name="Подтвердить через SMS")).to_be_visible()
    no_sideways_scroll(page)
