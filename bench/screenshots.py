"""`make screenshots`: a PNG of every screen of the web cabinet, desktop and phone.

    .venv/bin/python -m bench.screenshots [--out var/screenshots] [--only home,pay]

Starts the whole system as the browser tests do (``tests/e2e/stack.py``: every service, the
gateway and the cabinet as processes, SQLite under a temporary folder, the demo data loaded)
on a RabbitMQ vhost of its own (made through the management API, deleted at the end),
registers a customer, links the demo account 123456789, and saves each screen of
:data:`SCREENS` at 1280 px (``<name>-desktop.png``) and 360 px (``<name>-phone.png``), full
page, into ``var/screenshots/``. A screen that answers 4xx/5xx or whose preparation fails is
reported at the end and skipped; the others are still taken (exit code 1 if any failed).

To add a screen, add a row to :data:`SCREENS`: a name, a path (``{account_id}``,
``{period}``, ``{payment_id}``, ``{card_ref}``, ``{paid_payment_id}``, ``{request_id}`` are
filled from the set-up),
who looks at it (``guest``, ``customer``, ``operator``) and, for a screen that is a step of
a form, a function that gets the page there.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared import demo  # noqa: E402
from tests.e2e.stack import CAPTCHA, PASSWORD, Stack, make_stack, new_phone  # noqa: E402

MANAGEMENT = os.environ.get("RABBIT_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672/")
AMQP_BASE = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/").rsplit("/", 1)[0]
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run"]
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}

Prepare = Callable[[Any, Stack, dict[str, Any]], None]  # (page, stack, context)


# ---- steps of forms ----------------------------------------------------------------------

def register_to_code(page: Any, stack: Stack, ctx: dict[str, Any]) -> None:
    """Registration, step 2: the SMS code form (a fresh phone each time)."""
    page.goto("/register")
    page.get_by_label("Номер мобильного телефона").fill(new_phone())
    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_role("button", name="Зарегистрироваться").click()
    page.wait_for_url("**/register/code**")


def register_to_password(page: Any, stack: Stack, ctx: dict[str, Any]) -> None:
    """Registration, step 3: the password and consent form."""
    phone = new_phone()
    page.goto("/register")
    page.get_by_label("Номер мобильного телефона").fill(phone)
    page.get_by_label("Введите слово на картинке").fill(CAPTCHA)
    page.get_by_role("button", name="Зарегистрироваться").click()
    page.wait_for_url("**/register/code**")
    page.get_by_label("Код").fill(stack.sms_code(phone))
    page.get_by_role("button", name="Отправить", exact=True).click()
    page.wait_for_url("**/register/password**")


def readings_preview(page: Any, stack: Stack, ctx: dict[str, Any]) -> None:
    """The readings form after «Проверить»: consumption and the estimate."""
    page.goto(f"/readings/{ctx['account_id']}")
    page.get_by_label("Показания счётчика, кВт·ч").fill("3390")
    page.get_by_role("button", name="Проверить").click()
    page.wait_for_load_state()


def _bill_file(ctx: dict[str, Any], final: int) -> str:
    """A JPEG of the demo account's filled-in bill with ``final`` as the reading."""
    import io
    import random

    from bench.bill_photos import BillTruth, MeterTruth, render_bill

    truth = BillTruth(account_number="123456789", hand=False, photo=False, meters=[
        MeterTruth(serial=ctx["serial"], zones=1, initial=[final - 120], final=[final])])
    out = io.BytesIO()
    render_bill(random.Random(final), truth).save(out, "JPEG", quality=90)
    path = Path(tempfile.mkdtemp(prefix="nesk-bill-")) / "kvitanciya.jpg"
    path.write_bytes(out.getvalue())
    return str(path)


def _upload_bill(page: Any, ctx: dict[str, Any], final: int) -> None:
    page.goto(f"/readings/{ctx['account_id']}")
    page.get_by_label("Фото квитанции", exact=True).set_input_files(_bill_file(ctx, final))
    page.get_by_role("button", name="Распознать показания").click()


def readings_photo_wait(page: Any, stack: Stack, ctx: dict[str, Any]) -> None:
    """«Распознаём фото…»: the photo's job waits behind others for the OCR worker."""
    for _ in range(3):  # the worker is busy with these meanwhile
        stack.api("POST", f"/accounts/{ctx['account_id']}/readings/photo",
                  ctx["customer"]["access_token"],
                  json={"image_base64": ctx.setdefault("bill_b64", _bill_b64(ctx))})
    _upload_bill(page, ctx, ctx["previous"] + 150)
    page.get_by_test_id("photo-wait").wait_for()


def _bill_b64(ctx: dict[str, Any]) -> str:
    import base64

    return base64.b64encode(Path(_bill_file(ctx, ctx["previous"] + 150)).read_bytes()).decode()


def readings_photo_read(page: Any, stack: Stack, ctx: dict[str, Any]) -> None:
    """The form filled from a photo read with certainty (a `sure` value)."""
    _upload_bill(page, ctx, ctx["previous"] + 150)
    page.get_by_test_id("photo-result").wait_for(timeout=180_000)


def readings_photo_check(page: Any, stack: Stack, ctx: dict[str, Any]) -> None:
    """A value read but doubtful (below the previous reading): «Проверьте: …?», not filled."""
    _upload_bill(page, ctx, ctx["previous"] - 50)
    page.get_by_test_id("photo-result").wait_for(timeout=180_000)


def sbp_waiting(page: Any, stack: Stack, ctx: dict[str, Any]) -> None:
    """«Оплата через СБП»: the QR code (computer) or the bank app's button (phone)."""
    page.goto("/pay")
    page.get_by_label("СБП (Система быстрых платежей)").check()
    page.get_by_role("button", name="Оплатить").click()
    page.wait_for_url("**/pay/sbp/**")


def sbp_sandbox_bank(page: Any, stack: Stack, ctx: dict[str, Any]) -> None:
    """The sandbox's «bank app» that the СБП link opens, for a payment started here."""
    sbp_waiting(page, stack, ctx)
    page.goto(page.get_by_test_id("sbp-open").get_attribute("href"))


# ---- the screens -------------------------------------------------------------------------

@dataclass(frozen=True)
class Screen:
    name: str
    path: str
    who: str = "customer"  # guest | customer | operator
    prepare: Prepare | None = None  # gets the page there instead of opening ``path``


SCREENS: list[Screen] = [
    Screen("login", "/login", "guest"),
    Screen("login-email", "/login?by=email", "guest"),
    Screen("register", "/register", "guest"),
    Screen("register-code", "/register/code", "guest", register_to_code),
    Screen("register-password", "/register/password", "guest", register_to_password),
    Screen("forgot", "/forgot", "guest"),
    Screen("readings-quick", "/readings/quick", "guest"),
    Screen("home", "/"),
    Screen("account", "/accounts/{account_id}"),
    Screen("add-account", "/accounts/add"),
    Screen("contract", "/contract"),
    Screen("readings", "/readings/{account_id}"),
    Screen("readings-preview", "/readings/{account_id}", prepare=readings_preview),
    Screen("readings-photo-wait", "/readings/{account_id}", prepare=readings_photo_wait),
    Screen("readings-photo-read", "/readings/{account_id}", prepare=readings_photo_read),
    Screen("readings-photo-check", "/readings/{account_id}", prepare=readings_photo_check),
    Screen("pay", "/pay"),
    Screen("penalties", "/pay/penalties/{account_id}"),
    Screen("card-form", "/pay/card/{card_ref}"),
    Screen("pay-result", "/pay/result/{payment_id}"),
    Screen("pay-sbp", "/pay/sbp", prepare=sbp_waiting),
    Screen("sandbox-sbp", "/payments/sandbox-sbp", prepare=sbp_sandbox_bank),
    Screen("pay-result-receipt", "/pay/result/{paid_payment_id}"),
    Screen("saved-cards", "/pay/cards"),
    Screen("profile", "/profile"),
    Screen("profile-extended", "/profile/extended"),
    Screen("profile-preferences", "/profile/preferences"),
    Screen("profile-contacts", "/profile/contacts"),
    Screen("profile-security", "/profile/security"),
    Screen("profile-photo", "/profile/photo"),
    Screen("documents", "/documents"),
    Screen("bill", "/documents/{account_id}/bills/{period}/print"),
    Screen("documents-social", "/documents/social"),
    Screen("history-payments", "/history?tab=payments&account_id={account_id}"),
    Screen("history-all", "/history?tab=all"),
    Screen("history-readings", "/history?tab=readings&account_id={account_id}"),
    Screen("services", "/services"),
    Screen("order", "/services/new?work=meter_replacement"),
    Screen("requests", "/services/requests"),
    Screen("request", "/services/requests/{request_id}"),
    Screen("notices", "/notices"),
    Screen("operator", "/operator", "operator"),
    Screen("operator-documents", "/operator/documents", "operator"),
    Screen("operator-requests", "/operator/requests", "operator"),
]


# ---- set-up ------------------------------------------------------------------------------

def make_vhost() -> tuple[str, Callable[[], None]]:
    """A RabbitMQ vhost of this run (as tests/conftest.py's amqp_uri) and its removal."""
    vhost = f"nesk-screenshots-{uuid.uuid4().hex[:8]}"
    api = MANAGEMENT.rstrip("/") + "/api"
    http = requests.Session()
    http.put(f"{api}/vhosts/{quote(vhost, safe='')}", timeout=10).raise_for_status()
    http.put(f"{api}/permissions/{quote(vhost, safe='')}/guest",
             json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()
    return (f"{AMQP_BASE}/{quote(vhost, safe='')}",
            lambda: http.delete(f"{api}/vhosts/{quote(vhost, safe='')}", timeout=10))


def set_up(stack: Stack) -> dict[str, Any]:
    """A customer with the demo account, a started card payment and a request; an operator."""
    customer = stack.register_phone()
    token = customer["access_token"]
    account_id = stack.link_demo_account(token)
    ctx: dict[str, Any] = {"customer": customer, "account_id": account_id}
    meter = stack.api("GET", f"/accounts/{account_id}/meters", token).json()[0]
    ctx["serial"], ctx["previous"] = meter["serial"], meter["last_reading"]["values"][0]
    ctx["period"] = demo.charged_periods(date.today())[-1]  # the sample bill's month
    paid = stack.api("POST", "/payments", token, json={
        "idempotency_key": uuid.uuid4().hex, "items": [
            {"account_id": account_id, "kind": "electricity", "amount": "500.00"}]})
    if paid.ok:
        body = paid.json()
        ctx["payment_id"] = body["id"]
        url = (body.get("action") or {}).get("confirmation_url") or ""
        ctx["card_ref"] = url.rstrip("/").rsplit("/", 1)[-1]
    # A small СБП payment approved in the sandbox's bank app: its result shows the receipt.
    sbp = stack.api("POST", "/payments", token, json={
        "idempotency_key": uuid.uuid4().hex, "method": "sbp", "receipt_email": "ivanov@example.ru",
        "items": [{"account_id": account_id, "kind": "electricity", "amount": "100.00"}]})
    if sbp.ok and sbp.json().get("sbp_url"):
        ref = sbp.json()["sbp_url"].rstrip("/").rsplit("/", 1)[-1]
        if stack.api("POST", f"/payments/sandbox/{ref}/sbp", token, json={"approve": True}).ok:
            ctx["paid_payment_id"] = sbp.json()["id"]
    order = stack.api("POST", "/requests", token, json={
        "work": "meter_replacement", "account_id": account_id, "contact_phone": customer["phone"],
        "message": "Счётчик 100091150 2333 выработал срок поверки, прошу заменить."})
    if order.ok:
        ctx["request_id"] = order.json()["id"]
    ctx["operator"] = stack.make_staff("operator")
    return ctx


def log_in(page: Any, who: str, ctx: dict[str, Any]) -> None:
    if who == "customer":
        page.goto("/login")
        page.get_by_label("Номер телефона").fill(ctx["customer"]["phone"])
    else:
        page.goto("/login?by=email")
        page.get_by_label("Электронная почта").fill(ctx["operator"]["email"])
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.get_by_role("button", name="Выход").wait_for(timeout=30_000)


# ---- taking them -------------------------------------------------------------------------

def shoot(stack: Stack, ctx: dict[str, Any], screens: list[Screen], out: Path
          ) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for size, viewport in SIZES.items():
            pages: dict[str, Any] = {}
            for who in ("guest", "customer", "operator"):
                context = browser.new_context(base_url=stack.web, viewport=viewport,
                                              locale="ru-RU", timezone_id="Europe/Moscow")
                context.set_default_timeout(30_000)
                pages[who] = context.new_page()
                if who != "guest":
                    try:
                        log_in(pages[who], who, ctx)
                    except Exception as exc:  # noqa: BLE001 (reported, the rest go on)
                        problems.append(f"{who} log-in ({size}): {exc}")
            for screen in screens:
                page = pages[screen.who]
                try:
                    path = screen.path.format(**ctx)
                except KeyError as exc:
                    problems.append(f"{screen.name} ({size}): no {exc} from the set-up")
                    continue
                try:
                    if screen.prepare is not None:
                        screen.prepare(page, stack, ctx)
                        status = 200
                    else:
                        response = page.goto(path)
                        status = response.status if response is not None else 0
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out / f"{screen.name}-{size}.png"), full_page=True)
                except Exception as exc:  # noqa: BLE001
                    problems.append(f"{screen.name} ({size}): {str(exc).splitlines()[0]}")
                    continue
                if status >= 400:
                    problems.append(f"{screen.name} ({size}): {path} answered {status}")
            for page in pages.values():
                page.context.close()
        browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.screenshots")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "screenshots")
    parser.add_argument("--only", default="", help="comma-separated screen names")
    args = parser.parse_args(argv)
    only = {name for name in args.only.split(",") if name}
    screens = [s for s in SCREENS if not only or s.name in only]
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 2
    amqp_uri, drop_vhost = make_vhost()
    var = Path(tempfile.mkdtemp(prefix="nesk-screenshots-"))
    stack = make_stack(var, amqp_uri)
    try:
        stack.start()
        ctx = set_up(stack)
        problems = shoot(stack, ctx, screens, args.out)
    finally:
        stack.stop()
        drop_vhost()
        shutil.rmtree(var, ignore_errors=True)
    taken = len(list(args.out.glob("*.png")))
    print(f"{taken} screenshots in {args.out}")
    for problem in problems:
        print(f"  not taken or failed: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
