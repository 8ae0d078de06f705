"""Planner statistics: a service's start (its migrations) gathers them, so SQLite looks a
member's earlier readings of the period up through the account's index, not the period's
(every reading of the month: 5.6 ms at 37k readings, 0.01 ms with the right index)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from shared.db import migrate
from shared.settings import ROOT

READINGS_MIGRATIONS = ROOT / "services" / "readings" / "migrations"
# The query that marks a meter's earlier readings of the period as replaced.
EARLIER = ("EXPLAIN QUERY PLAN SELECT id FROM readings WHERE account_id = ? AND meter_serial = ?"
           " AND period = ? AND status IN ('pending', 'accepted')")


def plan(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return " ".join(row[3] for row in conn.execute(EARLIER, (7, "S7", "2026-03")))


def test_the_replaced_readings_query_uses_the_account_index_after_a_start(tmp_path):
    path = tmp_path / "readings.db"
    migrate(READINGS_MIGRATIONS, f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # a month of readings from 3,000 accounts
        conn.executemany(
            "INSERT INTO readings (account_id, meter_serial, period, t1, rolled_over, source,"
            " status, submitted_at) VALUES (?, ?, '2026-03', 100, 0, 'manual', 'accepted',"
            " '2026-03-20 10:00:00')",
            [(n % 3000, f"S{n % 3000}") for n in range(6000)])
    assert "ix_readings_period" in plan(path)  # what SQLite guesses without statistics
    migrate(READINGS_MIGRATIONS, f"sqlite:///{path}")  # the service's next start
    assert "ix_readings_account_id" in plan(path)
