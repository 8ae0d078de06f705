"""The Bank of Russia key rate as a dated table: the rate in force on a day, and its updates.

The table lives in ``reference/key_rates.csv`` (columns ``in_force_from,rate_percent``; a row is
the day from which a rate is in force, until the next row's day). It is data: the CLI command
``key-rate`` calls :func:`update_key_rate` when the Bank of Russia changes the rate.
"""

from __future__ import annotations

import bisect
import csv
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "reference" / "key_rates.csv"
FIELDS = ("in_force_from", "rate_percent")
_CENT = Decimal("0.01")


class KeyRateError(ValueError):
    """The table is malformed, or asked for a day it does not cover."""


@dataclass(frozen=True)
class KeyRateTable:
    """Key rate changes in date order: ``rows[i]`` is (in force from, percent per annum)."""

    rows: tuple[tuple[date, Decimal], ...]
    _days: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.rows:
            raise KeyRateError("the key rate table is empty")
        days = tuple(day for day, _ in self.rows)
        if any(a >= b for a, b in zip(days, days[1:])):
            raise KeyRateError("key rate rows must be in date order, one row per date")
        for day, rate in self.rows:
            _check_rate(rate, day)
        object.__setattr__(self, "_days", days)

    @property
    def first_day(self) -> date:
        """The first day the table covers."""
        return self._days[0]

    @property
    def last_change(self) -> date:
        """The day of the latest change in the table (to tell whether it may be out of date)."""
        return self._days[-1]

    def rate_on(self, day: date) -> Decimal:
        """Return the key rate (percent per annum) in force on ``day``."""
        i = bisect.bisect_right(self._days, day) - 1
        if i < 0:
            raise KeyRateError(f"no key rate before {self._days[0].isoformat()} (asked for {day.isoformat()})")
        return self.rows[i][1]

    def with_rate(self, in_force_from: date, rate: Decimal) -> KeyRateTable:
        """Return a table with ``rate`` in force from ``in_force_from`` (a row of that date is replaced)."""
        _check_rate(rate, in_force_from)
        rows = {day: value for day, value in self.rows}
        rows[in_force_from] = rate.quantize(_CENT)
        return KeyRateTable(tuple(sorted(rows.items())))


def _check_rate(rate: Decimal, day: date) -> None:
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise KeyRateError(f"{day.isoformat()}: the rate must be a finite Decimal, got {rate!r}")
    if not Decimal(0) <= rate < Decimal(100):
        raise KeyRateError(f"{day.isoformat()}: a key rate of {rate}% is out of range")
    if rate != rate.quantize(_CENT):
        raise KeyRateError(f"{day.isoformat()}: the key rate has at most two decimals, got {rate}")


def _read(path: Path) -> KeyRateTable:
    rows: list[tuple[date, Decimal]] = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != FIELDS:
            raise KeyRateError(f"{path}: the header must be {','.join(FIELDS)}")
        for row in reader:
            try:
                rows.append((date.fromisoformat(row["in_force_from"]), Decimal(row["rate_percent"])))
            except (ValueError, InvalidOperation, TypeError) as exc:
                raise KeyRateError(f"{path}:{reader.line_num}: {exc}") from exc
    return KeyRateTable(tuple(rows))


# The ledger asks for the table once per account: keep the parsed file until it changes on disk.
_cache: dict[Path, tuple[tuple[int, int], KeyRateTable]] = {}


def load_key_rates(path: Path | str = DEFAULT_PATH) -> KeyRateTable:
    """Load the key rate table from a CSV file (parsed once, read again when the file changes)."""
    path = Path(path)
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    table = _read(path)
    _cache[path] = (stamp, table)
    return table


def update_key_rate(in_force_from: date, rate: Decimal, path: Path | str = DEFAULT_PATH) -> KeyRateTable:
    """Add (or replace) the rate in force from ``in_force_from`` and rewrite the CSV file.

    The file is replaced atomically, so a reader never sees half a table. Returns the new table.
    """
    path = Path(path)
    table = _read(path).with_rate(in_force_from, rate)
    mode = path.stat().st_mode & 0o777  # mkstemp makes 0600; keep the file readable as it was
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(FIELDS)
            for day, value in table.rows:
                writer.writerow((day.isoformat(), f"{value.quantize(_CENT)}"))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _cache.pop(path, None)
    return table
