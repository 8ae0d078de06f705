"""`make demo-data` / `make demo-reset`: each service's own `demo` command writes the demo
account's year of history into its own database; twice changes nothing; a reset starts over."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts.cli import main as accounts_cli
from services.payments.cli import main as payments_cli
from services.payments.domain import ledger
from services.payments.domain.key_rates import DEFAULT_PATH, load_key_rates
from services.payments.models import Charge, MeterReading, Payment, PaymentItem
from services.readings.cli import main as readings_cli
from services.readings.models import Reading
from shared import demo, settings
from shared.clock import clock
from shared.db import make_engine
from shared.work import Work

ROOT_REGISTRY = "services/accounts/demo_registry.csv"


@pytest.fixture(scope="module")
def urls(new_database: Callable[[str], str]) -> dict[str, str]:
    return {name: new_database(name) for name in ("accounts", "readings", "payments")}


@pytest.fixture
def env(urls: dict[str, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    for name, url in urls.items():
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
    return urls


def load(capsys: pytest.CaptureFixture[str], reset: bool = False) -> dict[str, Any]:
    """What `make demo-data` (or `make demo-reset`) runs; the account's JSON."""
    assert accounts_cli(["import-registry", ROOT_REGISTRY, "--quiet"]) == 0
    capsys.readouterr()
    assert accounts_cli(["demo"]) == 0
    account = capsys.readouterr().out
    extra = ["--reset"] if reset else []
    assert readings_cli(["demo", "--account", account, *extra]) == 0
    assert payments_cli(["demo", "--account", account, *extra]) == 0
    capsys.readouterr()
    return json.loads(account)


def snapshot(urls: dict[str, str]) -> dict[str, Any]:
    """Every demo row as plain values (ids and times too: a re-run must change nothing)."""
    out: dict[str, Any] = {}
    engine = make_engine(urls["readings"], pool_size=1)
    with Session(engine) as db:
        out["readings"] = [(r.id, r.period, r.values, r.source, r.status, r.submitted_at,
                            r.decided_at) for r in db.scalars(select(Reading).order_by(Reading.id))]
    engine.dispose()
    engine = make_engine(urls["payments"], pool_size=1)
    with Session(engine) as db:
        out["charges"] = [(c.id, c.period, c.amount, c.due_date, c.posted_at, c.lines)
                          for c in db.scalars(select(Charge).order_by(Charge.id))]
        out["payments"] = [(p.id, p.amount, p.status, p.paid_at)
                           for p in db.scalars(select(Payment).order_by(Payment.id))]
        out["meter_readings"] = [(m.period, m.values, m.submitted_at)
                                 for m in db.scalars(select(MeterReading).order_by(MeterReading.id))]
    engine.dispose()
    return out


def statement(url: str) -> dict[str, Any]:
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as db:
            work = Work(db, settings.load(), clock.now(), lambda *a: None)
            account = ledger.find_account(db, demo.NUMBER, demo.BRANCH)
            return ledger.Statement(work, load_key_rates(DEFAULT_PATH)).of(account)
    finally:
        engine.dispose()


def test_the_demo_account_has_a_year_and_a_second_load_changes_nothing(env, capsys):
    account = load(capsys)
    assert account["number"] == demo.NUMBER and account["meters"][0]["serial"] == "1000911502333"
    first = snapshot(env)

    # Twelve bills after a first reading; the sample bill's КО 3007 → 3200 as last month.
    assert len(first["readings"]) == demo.MONTHS + 1
    assert {r[4] for r in first["readings"]} == {"accepted"}
    inspector = [(r[1], r[2]) for r in first["readings"] if r[3] == "inspector"]
    last = demo.charged_periods(clock.now().date())[-1]
    assert inspector == [(demo.shift(last, -1), [3007]), (last, [3200])]
    assert len(first["charges"]) == demo.MONTHS
    assert first["charges"][-1][5] == [{"range": 1, "kwh": 193, "price": "7.35",
                                       "amount": "1418.55"}]
    assert len(first["payments"]) == demo.MONTHS - demo.UNPAID
    assert {p[2] for p in first["payments"]} == {"succeeded"}

    position = statement(env["payments"])
    assert Decimal(position["debt"]) > 0 and Decimal(position["penalties"]) > 0
    open_periods = [p["period"] for p in position["periods"] if Decimal(p["open"]) > 0]
    assert open_periods == demo.charged_periods(clock.now().date())[-demo.UNPAID:]
    assert position["periods"][-demo.UNPAID]["days_overdue"] > 30

    load(capsys)
    assert snapshot(env) == first


def test_a_reset_removes_the_accounts_history_and_loads_it_again(env, capsys):
    load(capsys)
    # Something of the customer's own on the account: a card payment of the open debt.
    engine = make_engine(env["payments"], pool_size=1)
    with Session(engine) as db:
        ledger_id = ledger.find_account(db, demo.NUMBER, demo.BRANCH).id
        now = clock.now()
        own = Payment(id="own-payment", user_id="u1", idempotency_key="k" * 8,
                      amount=Decimal("100.00"), refunded=Decimal("0"), status="succeeded",
                      source="card", provider="sandbox", created_at=now, updated_at=now,
                      paid_at=now)
        own.items = [PaymentItem(ledger_id=ledger_id, kind="electricity", period=None,
                                 amount=Decimal("100.00"))]
        db.add(own)
        db.commit()
    engine.dispose()
    before = statement(env["payments"])

    load(capsys, reset=True)
    after = snapshot(env)
    assert "own-payment" not in {p[0] for p in after["payments"]}
    assert len(after["payments"]) == demo.MONTHS - demo.UNPAID
    assert len(after["readings"]) == demo.MONTHS + 1
    assert Decimal(statement(env["payments"])["debt"]) == Decimal(before["debt"]) + 100
    engine = make_engine(env["payments"], pool_size=1)
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(Charge)) == demo.MONTHS
    engine.dispose()


def test_the_demo_command_refuses_what_is_not_the_accounts_json(env, capsys):
    assert readings_cli(["demo", "--account", "{}"]) == 2
    assert payments_cli(["demo", "--account", "not json"]) == 2
    assert "accounts demo command" in capsys.readouterr().err
