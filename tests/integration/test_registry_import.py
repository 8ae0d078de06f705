"""The account registry's first load from CSV (services/accounts/registry_import.py), on real
SQLite and PostgreSQL databases."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import select, update

from services.accounts import cli
from services.accounts.registry_import import (ACCOUNTS, COLUMNS, METERS, RegistryFileError,
                                               import_registry)
from shared.db import make_engine

DEMO = Path(__file__).resolve().parents[2] / "services" / "accounts" / "demo_registry.csv"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
HEADER = ";".join(COLUMNS)
GOOD = "123456789;mostovskoy;Петров Иван Сергеевич;х. Садовый, ул. Ореховая д.5;;;;urban;;;;;"


def run(path: Path, url: str, **kwargs: Any):
    kwargs.setdefault("now", NOW)
    return import_registry(path, url, progress=False, **kwargs)


def write(tmp_path: Path, *lines: str, name: str = "registry.csv", header: str = HEADER,
          encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding=encoding)
    return path


def table(url: str, which: Any) -> list[dict[str, Any]]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(which)
                                                               .order_by(which.c.id))]
    finally:
        engine.dispose()


def accounts_by_number(url: str) -> dict[str, dict[str, Any]]:
    return {a["number"]: a for a in table(url, ACCOUNTS)}


def meters_of(url: str, number: str, branch: str) -> list[dict[str, Any]]:
    account = next(a for a in table(url, ACCOUNTS)
                   if a["number"] == number and a["branch"] == branch)
    return [m for m in table(url, METERS) if m["account_id"] == account["id"]]


def test_demo_registry_imports_every_row(new_database: Callable[[str], str]) -> None:
    url = new_database("demo")
    result = run(DEMO, url)
    assert result.errors == [] and result.bad_rows == 0
    assert (result.rows, result.accounts, result.meters) == (12, 11, 11)
    assert (result.accounts_changed, result.meters_changed) == (11, 11)
    assert len(table(url, ACCOUNTS)) == 11 and len(table(url, METERS)) == 11

    # The manual's sample bill.
    bill = accounts_by_number(url)["123456789"]
    assert bill["branch"] == "mostovskoy"
    assert bill["holder_name"] == "Петров Иван Сергеевич"
    assert bill["address"] == "х. Садовый, ул. Ореховая д.№99Б лит. А корп. 8 кв.35"
    assert bill["gis_id"] == "90BB144120-11"
    assert bill["tariff_category"] == "urban"
    assert bill["closed_on"] is None
    assert bill["updated_at"] == NOW
    [meter] = meters_of(url, "123456789", "mostovskoy")
    assert meter["serial"] == "1000911502333"  # printed "100091150 2333" on the bill
    assert (meter["zones"], meter["digits"]) == (1, 5)
    assert meter["installed_on"] == date(2015, 3, 1)
    assert meter["verification_due"] == date(2031, 3, 1)
    assert meter["removed_on"] is None

    accounts = accounts_by_number(url)
    assert accounts["230100245871"]["contract_date"] == date(2011, 9, 14)  # DD.MM.YYYY
    assert {a["tariff_category"] for a in accounts.values()} == {
        "urban", "rural", "electric_stove", "electric_heating"}
    assert {m["zones"] for m in table(url, METERS)} == {1, 2, 3}
    assert meters_of(url, "236500030981", "tuapse") == []  # no meter, a ГИС ЖКХ id instead
    assert accounts["236500030981"]["gis_id"] == "30AB876543-01"
    two = meters_of(url, "232300054407", "gelendzhik")
    assert sorted((m["serial"], m["zones"]) for m in two) == [("115004128876", 1),
                                                              ("471200663190", 2)]


def test_reimport_is_idempotent_and_applies_changes(new_database: Callable[[str], str],
                                                    tmp_path: Path) -> None:
    url = new_database("rerun")
    run(DEMO, url)
    before_accounts, before_meters = table(url, ACCOUNTS), table(url, METERS)

    again = run(DEMO, url, now=NOW + timedelta(hours=1))
    assert again.errors == []
    assert (again.rows, again.accounts, again.meters) == (12, 11, 11)
    assert (again.accounts_changed, again.meters_changed) == (0, 0)
    assert table(url, ACCOUNTS) == before_accounts  # not even updated_at moved
    assert table(url, METERS) == before_meters

    changed = tmp_path / "changed.csv"
    changed.write_text(DEMO.read_text(encoding="utf-8")
                       .replace("Петров Иван Сергеевич", "Петрова Анна Ивановна")
                       .replace("0906 3315 7742;2;6", "0906 3315 7742;3;6"), encoding="utf-8")
    later = NOW + timedelta(days=1)
    result = run(changed, url, now=later)
    assert (result.accounts_changed, result.meters_changed) == (1, 1)
    after = accounts_by_number(url)
    assert len(after) == 11 and len(table(url, METERS)) == 11
    assert after["123456789"]["holder_name"] == "Петрова Анна Ивановна"
    assert after["123456789"]["updated_at"] == later
    # A corrected meter changes its account too (as billing's meter_installed does).
    assert after["237100020574"]["updated_at"] == later
    assert meters_of(url, "237100020574", "ust-labinsk")[0]["zones"] == 3
    assert after["230100245871"]["updated_at"] == NOW

    # Billing closed an account and removed a meter since: a reload reopens and reinstalls
    # them, as billing's account_upserted and meter_installed would.
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.number == "230100245871")
                     .values(closed_on=date(2026, 1, 31)))
        conn.execute(update(METERS).where(METERS.c.serial == "1000911502333")
                     .values(removed_on=date(2026, 2, 1)))
    engine.dispose()
    result = run(changed, url, now=later + timedelta(days=1))
    assert (result.accounts_changed, result.meters_changed) == (1, 1)
    assert accounts_by_number(url)["230100245871"]["closed_on"] is None
    assert meters_of(url, "123456789", "mostovskoy")[0]["removed_on"] is None


def test_bad_rows_are_reported_by_line_and_the_rest_lands(new_database: Callable[[str], str],
                                                          tmp_path: Path) -> None:
    url = new_database("bad")
    path = write(
        tmp_path,
        GOOD,                                                                         # 2
        "12a45;krasnodar;Кузнецова Елена;г. Краснодар;;;;urban;;;;;",                  # 3
        "230100245871;moskva;Кузнецова Елена;г. Краснодар;;;;urban;;;;;",              # 4
        "230100245872;krasnodar;Кузнецова Елена;г. Краснодар;;31.02.2020;;urban;;;;;",  # 5
        "230100245873;krasnodar;Кузнецова Елена;г. Краснодар;;;;urban;12345678;4;5;2020-01-01;",
        "230100245874;krasnodar;Кузнецова Елена;г. Краснодар;;;;city;;;;;",            # 7
        "230100245875;krasnodar;;г. Краснодар;;;;urban;;;;;",                          # 8
        "230100245876;krasnodar;Кузнецова Елена;\"г. Краснодар,\nул. Красная д.1\";;;;rural;;;;;",
        "230100245877;krasnodar;Кузнецова Елена",                                      # 11
        "",                                                                            # 12
        "230100245878;krasnodar;Кузнецова Елена;г. Краснодар;;;;urban;12AB5678;1;5;2020-01-01;",
        "230100245879;krasnodar;Кузнецова Елена;г. Краснодар;;;;urban;12345678;1;5;2099-01-01;",
        "230100245880;krasnodar;Кузнецова Елена;г. Краснодар;;;;urban;12345678;1;10;2020-01-01;",
        "230100245881;krasnodar;Кузнецова Елена;г. Краснодар;;;;urban;;1;5;2020-01-01;",
        "230100245882;krasnodar;Кузнецова Елена;г. Краснодар;;;;urban;12345678;1;5;2020-01-01;"
        "2019-12-31",                                                                  # 17
        "230100245883;Krasnodar;Кузнецова Елена;г. Краснодар;;;;urban;1234 5678;2;6;01.02.2020;"
        "01.02.2036",                                                                  # 18
    )
    reported: list[str] = []
    result = run(path, url, batch_size=2, report=reported.append)
    assert result.errors == [
        "line 3: number: «12a45» is not 5 to 20 digits",
        "line 4: branch: unknown branch «moskva»",
        "line 5: contract_date: not a date «31.02.2020» (YYYY-MM-DD or DD.MM.YYYY)",
        "line 6: meter_zones: «4» is not 1, 2 or 3",
        ("line 7: tariff_category: «city» is not one of urban, rural, electric_stove, "
         "electric_heating"),
        "line 8: holder_name: required",
        "line 11: address: missing (the row has 3 columns, the header 13)",
        "line 13: meter_serial: not 4 to 40 digits (spaces aside)",
        "line 14: meter_installed_on: implausible date 2099-01-01 (in the future)",
        "line 15: meter_digits: «10» is not 4 to 9",
        "line 16: meter_serial: required when the row has other meter columns",
        "line 17: meter_verification_due: before meter_installed_on",
    ]
    assert reported == result.errors
    assert result.bad_rows == 12 and result.rows == 15  # the blank line 12 is no row
    accounts = accounts_by_number(url)
    assert sorted(accounts) == ["123456789", "230100245876", "230100245883"]
    assert accounts["230100245876"]["address"] == "г. Краснодар,\nул. Красная д.1"
    [meter] = meters_of(url, "230100245883", "krasnodar")  # branch code case-insensitive
    assert (meter["serial"], meter["zones"], meter["digits"]) == ("12345678", 2, 6)
    assert meter["installed_on"] == date(2020, 2, 1)


def test_an_account_with_meters_on_several_rows(new_database: Callable[[str], str],
                                                tmp_path: Path) -> None:
    url = new_database("multi")
    account = "555000111;anapa;Смирнов Алексей Николаевич;г. Анапа, ул. Крымская д.85 кв.42;;;"
    path = write(
        tmp_path,
        f"{account};electric_stove;1195 0773 3412;3;6;2021-11-09;2037-11-09",
        f"{account};electric_stove;0805 1307;1;5;2010-01-15;",
        f"{account};electric_stove;1195 0773 3412;3;6;2021-11-09;2037-11-09",  # repeated
        GOOD,
    )
    for batch_size in (5000, 1):  # in one batch, and spread over batches
        result = run(path, url, batch_size=batch_size)
        assert result.errors == []
        assert (result.rows, result.accounts, result.meters) == (4, 2, 2)
    meters = meters_of(url, "555000111", "anapa")
    assert sorted((m["serial"], m["zones"], m["verification_due"]) for m in meters) == [
        ("08051307", 1, None), ("119507733412", 3, date(2037, 11, 9))]
    assert len(table(url, ACCOUNTS)) == 2


def test_comma_delimiter_bom_and_column_order(new_database: Callable[[str], str],
                                              tmp_path: Path) -> None:
    url = new_database("comma")
    columns = list(reversed(COLUMNS))
    values = dict(zip(COLUMNS, ["987654321", "tuapse", "Иванова Мария Фёдоровна",
                                '"г. Туапсе, ул. Карла Маркса д.7 кв.3"', "ТП-1", "20.12.2004",
                                "30AB876543-01", "urban", "", "", "", "", ""]))
    path = write(tmp_path, ",".join(values[c] for c in columns),
                 header="\ufeff" + ",".join(c.upper() for c in columns))
    result = run(path, url)
    assert result.errors == [] and result.accounts == 1 and result.meters == 0
    account = accounts_by_number(url)["987654321"]
    assert account["address"] == "г. Туапсе, ул. Карла Маркса д.7 кв.3"
    assert account["contract_date"] == date(2004, 12, 20)


def test_file_errors_name_the_problem(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'untouched.db'}"
    path = write(tmp_path, GOOD, header="number;branch;holder_name;address;tariff_category")
    with pytest.raises(RegistryFileError, match=r"missing columns contract_number, "
                                                r"contract_date, gis_id, meter_serial"):
        run(path, url)
    with pytest.raises(RegistryFileError, match="empty file"):
        run(write(tmp_path, header="", name="empty.csv"), url)
    with pytest.raises(RegistryFileError, match="not UTF-8"):
        run(write(tmp_path, GOOD, name="cp1251.csv",
                  encoding="cp1251"), url)
    with pytest.raises(RegistryFileError, match="cannot read"):
        run(tmp_path / "absent.csv", url)
    assert not (tmp_path / "untouched.db").exists()  # nothing written before the file is OK


def test_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ACCOUNTS_DATABASE_URL", url)
    path = write(tmp_path, GOOD, GOOD.replace("urban", "town"))
    assert cli.main(["import-registry", str(path), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "2 rows: 1 accounts, 0 meters" in out and "1 bad rows skipped" in out
    assert "line 3: tariff_category: «town» is not one of" in err

    bad = write(tmp_path, GOOD, header="number;branch", name="bad.csv")
    assert cli.main(["import-registry", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert "error: header (line 1): missing columns holder_name, address" in err
    assert cli.main(["import-registry", str(tmp_path / "absent.csv")]) == 2
