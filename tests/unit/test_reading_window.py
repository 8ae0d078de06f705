"""The reading window is counted in the supplier's days (SUPPLIER_TIMEZONE), not in UTC's.

Moscow is UTC+3 all year: 00:30 in Moscow on the 15th is 21:30 UTC on the 14th.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from services.readings.domain import rules

CONFIG = {"READING_WINDOW_START_DAY": 15, "READING_WINDOW_END_DAY": 25,
          "SUPPLIER_TIMEZONE": "Europe/Moscow"}
WINDOW = rules.window_from(CONFIG)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def test_the_window_is_open_at_half_past_midnight_moscow_time_on_the_15th() -> None:
    now = utc(2025, 3, 14, 21, 30)  # 15.03.2025 00:30 in Moscow

    today = WINDOW.today(now)

    assert today == date(2025, 3, 15)
    assert WINDOW.is_open(today)
    assert WINDOW.view(today)["open"] is True


def test_the_window_is_closed_at_half_past_midnight_moscow_time_on_the_26th() -> None:
    today = WINDOW.today(utc(2025, 3, 25, 21, 30))  # 26.03.2025 00:30 in Moscow

    assert not WINDOW.is_open(today)
    assert WINDOW.next_opening(today) == (date(2025, 4, 15), date(2025, 4, 25))


def test_the_last_evening_in_moscow_is_still_the_25th() -> None:
    # 23:59 in Moscow on the 25th is 20:59 UTC: open; the UTC date agrees here.
    assert WINDOW.is_open(WINDOW.today(utc(2025, 3, 25, 20, 59)))


def test_the_period_of_a_reading_at_midnight_on_the_1st_is_the_new_month() -> None:
    today = WINDOW.today(utc(2025, 4, 30, 21, 30))  # 01.05.2025 00:30 in Moscow

    assert rules.period_of(today) == "2025-05"


def test_another_supplier_s_time_zone_is_a_setting() -> None:
    samara = rules.window_from({**CONFIG, "SUPPLIER_TIMEZONE": "Europe/Samara"})  # UTC+4

    assert samara.tz == ZoneInfo("Europe/Samara")
    assert samara.today(utc(2025, 3, 14, 20, 30)) == date(2025, 3, 15)
    assert WINDOW.today(utc(2025, 3, 14, 20, 30)) == date(2025, 3, 14)
