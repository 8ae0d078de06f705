"""The cabinet answers in a browser: the login page, a wrong password, a login, logout."""
from playwright.sync_api import Page, expect


def test_login_page_then_wrong_password_then_login_and_logout(page: Page, customer: dict, stack) -> None:
    page.goto("/")
    expect(page).to_have_url(stack.web + "/login?next=/")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()

    page.get_by_label("Номер телефона").fill(customer["phone"])
    page.get_by_label("Пароль").fill("не тот пароль")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_test_id("error-password")).to_be_visible()
    expect(page.get_by_test_id("error-summary")).to_contain_text("пароль")

    page.get_by_label("Пароль").fill(customer["password"])
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выход")).to_be_visible()

    page.get_by_role("button", name="Выход").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    page.goto("/profile")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    assert "next=/profile" in page.url
