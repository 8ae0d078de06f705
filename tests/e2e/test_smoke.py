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


def test_an_ended_session_sends_to_the_login_page_and_back(page: Page, stack, customer: dict) -> None:
    """A password change elsewhere ends the browser's session in auth. Other services accept
    its access token until it is due for renewal; then the renewal is refused, the next page
    goes to the login page, and after logging in the customer is back where they were."""
    import time

    from tests.e2e.conftest import log_in
    from tests.e2e.stack import ACCESS_TTL

    log_in(page, customer["phone"], customer["password"])
    logged_in_at = time.monotonic()
    page.goto("/history")
    new_password = customer["password"] + "-2"
    changed = stack.api("POST", "/auth/password/change", customer["access_token"], json={
        "old_password": customer["password"], "new_password": new_password,
        "new_password_confirmation": new_password})
    assert changed.status_code == 200, changed.text

    # The cabinet renews the token 30 s before it expires: wait until this one is due.
    time.sleep(max(0.0, logged_in_at + ACCESS_TTL - 30 + 1 - time.monotonic()))
    page.goto("/history?tab=all")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Сеанс завершён")
    page.get_by_label("Номер телефона").fill(customer["phone"])
    page.get_by_label("Пароль").fill(new_password)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(stack.web + "/history?tab=all")


def test_unknown_page_and_wrong_method_answer_in_russian(page: Page, stack) -> None:
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.get_by_test_id("error-message")).to_contain_text("Такой страницы нет")
    assert "Traceback" not in page.content() and "{" not in page.inner_text("main")
