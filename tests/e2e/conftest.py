"""Browser tests: Debian's Chromium driven by Playwright through the whole running system.

Run with ``NESK_E2E=1 pytest tests/e2e`` (``make test`` does; ``make e2e`` runs them alone).
Nothing is downloaded: Playwright launches /usr/bin/chromium (``apt-get install chromium``).
On a failure the page's screenshot and HTML go to ``$VAR_DIR/e2e-failures/``.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.stack import DEMO_ACCOUNT, PASSWORD, Stack, make_stack

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}

expect.set_options(timeout=30_000)  # generous: a loaded machine must not fail a test


@pytest.fixture(scope="session")
def stack(amqp_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service, the gateway and the web cabinet, started once for the whole session."""
    running = make_stack(tmp_path_factory.mktemp("e2e-var"), amqp_uri)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, stack: Stack, request: pytest.FixtureRequest
            ) -> Iterator[BrowserContext]:
    """A fresh browser profile per test (no cookies), Russian locale, desktop size; a test
    marked ``@pytest.mark.phone`` gets a 360 px wide phone screen."""
    viewport = PHONE if request.node.get_closest_marker("phone") else DESKTOP
    ctx = browser.new_context(base_url=stack.web, viewport=viewport, locale="ru-RU",
                              timezone_id="Europe/Moscow", accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, stack: Stack, request: pytest.FixtureRequest
         ) -> Iterator[Page]:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        folder = stack.var / "e2e-failures"
        folder.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            opened.screenshot(path=str(folder / f"{name}.png"), full_page=True)
            (folder / f"{name}.html").write_text(opened.content(), encoding="utf-8")
        except Exception:  # the page may be gone; the report still says why
            pass
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "phone: run the test on a 360 px wide phone screen")


# -- customers -----------------------------------------------------------------------------

@pytest.fixture
def customer(stack: Stack) -> dict[str, Any]:
    """A customer registered by phone (through the API: registration has tests of its own)."""
    return stack.register_phone()


def log_in(page: Page, phone: str, password: str = PASSWORD) -> None:
    """Through the login page, as a person does."""
    page.goto("/login")
    page.get_by_label("Номер телефона").fill(phone)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выход")).to_be_visible()


@pytest.fixture
def signed_in(page: Page, customer: dict[str, Any]) -> Page:
    """The page of a customer who has just logged in (no account linked yet)."""
    log_in(page, customer["phone"], customer["password"])
    return page


@pytest.fixture
def with_account(stack: Stack, page: Page, customer: dict[str, Any]) -> dict[str, Any]:
    """A logged-in customer with the demo account 123456789 linked; its id in ``account_id``."""
    account_id = stack.link_demo_account(customer["access_token"])
    log_in(page, customer["phone"], customer["password"])
    return {**customer, "account_id": account_id, **DEMO_ACCOUNT}
