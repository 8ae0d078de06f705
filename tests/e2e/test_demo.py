"""The demo data a newcomer finds (shared/demo.py): linking 123456789 shows a living account —
a year of readings and bills, a debt with penalties, paid bills in the history."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from playwright.sync_api import Page, expect

from shared import demo
from tests.e2e.conftest import log_in
from tests.e2e.stack import Stack, eventually


def test_a_newcomer_linking_the_demo_account_finds_a_living_account(
        stack: Stack, page: Page, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    account_id = stack.link_demo_account(token)

    # A year of readings, with the sample bill's КО 3007 → 3200.
    readings = stack.api("GET", f"/accounts/{account_id}/readings?limit=100",
                         token).json()["items"]
    assert len({r["period"] for r in readings}) >= 12
    inspector = [r["values"] for r in readings if r["source"] == "inspector"]
    assert [3007] in inspector and [3200] in inspector

    # Twelve bills, the last ones open: a debt with penalties.
    debt = stack.api("GET", f"/accounts/{account_id}/debt", token).json()
    assert len(debt["periods"]) == demo.MONTHS
    assert Decimal(debt["debt"]) > 0 and Decimal(debt["penalties"]) > 0
    assert sum(Decimal(p["open"]) > 0 for p in debt["periods"]) == demo.UNPAID

    # Paid bills in the payment history.
    history = stack.api("GET", "/payments/history", token,
                        params={"account_id": account_id, "limit": 100}).json()
    assert len(history["items"]) == demo.MONTHS - demo.UNPAID and history["next"] is None
    assert {row["status"] for row in history["items"]} == {"succeeded"}

    # The header's balance over all accounts (payments learns the link by an event).
    eventually(lambda: Decimal(stack.api("GET", "/payments/debt", token).json()["to_pay"]) > 0,
               what="the header balance to show the demo account's debt")

    log_in(page, customer["phone"], customer["password"])
    expect(page.get_by_test_id("balance")).not_to_have_text("0,00 ₽")
    expect(page.get_by_test_id("balance")).to_contain_text("₽")

    page.goto(f"/history?tab=payments&account_id={account_id}")
    table = page.get_by_test_id("payments-table")
    expect(table.get_by_role("row").filter(has_text="Оплачен").first).to_be_visible()
