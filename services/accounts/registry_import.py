"""The account registry's first load: one CSV file of the whole registry into the database.

    python -m services.accounts.cli import-registry registry.csv [--quiet]

Afterwards billing keeps the registry current with its events (``shared/contracts/billing.py``);
this import is for the first load (or a full reload) and works on the accounts database
directly, without the broker.

CSV format
----------
* UTF-8 (a byte-order mark, as Excel's «CSV UTF-8» writes, is fine). Windows-1251 is refused.
* A header row naming the columns (any order, case-insensitive; extra columns are ignored)::

    number;branch;holder_name;address;contract_number;contract_date;gis_id;tariff_category;meter_serial;meter_zones;meter_digits;meter_installed_on;meter_verification_due

* Delimiter ``;`` (Russian Excel's default); ``,`` is accepted too, recognized from the
  header line. Fields containing the delimiter, quotes or line breaks are quoted (``"``).
* Dates as ``YYYY-MM-DD`` or ``DD.MM.YYYY``.
* One row per meter: an account with several meters appears on several rows with the same
  account columns (if they differ, the last row wins); an account with no meter has one row
  with the five meter columns empty. An account's rows need not be adjacent, but
  :class:`ImportResult` counts an account (a meter) once per run of adjacent rows.
* ``meter_serial`` as printed on the bill, spaces allowed (``100091150 2333``): only its
  digits are stored.

=======================  ========  ====================================================
column                   required  rule (the same as billing's events)
=======================  ========  ====================================================
number                   yes       5 to 20 digits
branch                   yes       a branch code of ACCOUNTS_BRANCHES_FILE (``mostovskoy``),
                                   case-insensitive
holder_name              yes       at most 200 characters
address                  yes       at most 500 characters
contract_number          no        at most 40 characters
contract_date            no        a date, 1950-01-01 to today
gis_id                   no        ГИС ЖКХ identifier, at most 40 characters
tariff_category          yes       urban, rural, electric_stove or electric_heating
meter_serial             meter     4 to 40 digits once spaces are removed
meter_zones              meter     1, 2 or 3
meter_digits             meter     4 to 9 (digit capacity of the counter)
meter_installed_on       meter     a date, 1950-01-01 to today
meter_verification_due   no        a date, not before installation, at most 20 years after
=======================  ========  ====================================================

"meter" means required when any meter column of the row is filled.

Behaviour
---------
* A bad row is reported as ``line N: <field>: <reason>`` (N is the file's line number, the
  header being line 1) on stderr and in :attr:`ImportResult.errors`, and skipped; the other
  rows go on. A file that cannot be read, is not UTF-8 or lacks columns raises
  :class:`RegistryFileError` before anything is written (the CLI exits with 2).
* Idempotent: an account is keyed by (number, branch), a meter by (account, serial);
  existing rows are updated in place (INSERT ... ON CONFLICT DO UPDATE), and only when a
  value differs, so a re-run of the same file changes nothing, not even ``updated_at``.
  As billing's events do, a listed account is (re)opened (``closed_on`` cleared) and a
  listed meter (re)installed (``removed_on`` cleared). Nothing is ever deleted: an account
  or meter missing from the file stays as it is.
* Streamed: the file is read row by row and written in batches (one short transaction each,
  so the running service is not blocked), and memory stays flat whatever the file size. An
  interrupted import is simply run again.
* No events are published for imported accounts and meters (a million outbox rows would be
  of no use to anybody): services that need the registry load it on their own.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import Connection, Table, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.accounts.domain import branches
from services.accounts.models import TARIFF_CATEGORIES, Account, Meter
from shared.db import analyze, make_engine, migrate

COLUMNS = ("number", "branch", "holder_name", "address", "contract_number", "contract_date",
           "gis_id", "tariff_category", "meter_serial", "meter_zones", "meter_digits",
           "meter_installed_on", "meter_verification_due")
METER_COLUMNS = COLUMNS[8:]
ACCOUNT_FIELDS = ("holder_name", "address", "contract_number", "contract_date", "gis_id",
                  "tariff_category")
METER_FIELDS = ("zones", "digits", "installed_on", "verification_due")

MIN_DATE = date(1950, 1, 1)
VERIFICATION_MAX_YEARS = 20  # a household meter's interval between verifications is ≤ 16 years
MAX_STORED_ERRORS = 10_000  # all bad rows are reported; the result keeps the first ones
_NUMBER = re.compile(r"[0-9]{5,20}")
_SERIAL = re.compile(r"[0-9]{4,40}")
_ZONES = {"1": 1, "2": 2, "3": 3}
_DIGITS = {str(n): n for n in range(4, 10)}
_TARIFFS = frozenset(TARIFF_CATEGORIES)
_SNIFF_BYTES = 1 << 16
CHUNK = 512  # rows per INSERT statement (10 columns: 5,120 parameters, under SQLite's limit)

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
METERS: Table = Meter.__table__  # type: ignore[assignment]


class RegistryFileError(Exception):
    """The file as a whole cannot be imported (unreadable, not UTF-8, wrong header)."""


class _BadRow(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")


@dataclass
class ImportResult:
    rows: int = 0  # data rows read (blank lines not counted)
    accounts: int = 0  # accounts in the file's good rows
    meters: int = 0  # meters in the file's good rows
    errors: list[str] = field(default_factory=list)  # "line N: field: reason" (first 10,000)
    seconds: float = 0.0
    bad_rows: int = 0  # rows reported and skipped (all of them, even beyond the stored errors)
    accounts_changed: int = 0  # accounts inserted or updated (0 on an unchanged re-run)
    meters_changed: int = 0  # meters inserted or updated

    def summary(self) -> str:
        return (f"{self.rows} rows: {self.accounts} accounts, {self.meters} meters "
                f"({self.accounts_changed} accounts and {self.meters_changed} meters new or "
                f"changed), {self.bad_rows} bad rows skipped, {self.seconds:.1f} s")


# ---- reading and checking -----------------------------------------------------------------

def _check_utf8(path: Path) -> None:
    with path.open("rb") as raw:
        head = raw.read(_SNIFF_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        raise RegistryFileError(
            f"{path}: not UTF-8 (Windows-1251?). In Excel save it as «CSV UTF-8»") from None


def _header(line: str) -> tuple[str, dict[str, int], int]:
    """The delimiter, each known column's index and the number of columns, from the header."""
    if ";" in line:
        delimiter = ";"
    elif "," in line:
        delimiter = ","
    else:
        delimiter = ";"
    names = next(csv.reader([line], delimiter=delimiter), [])
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name.strip().lower(), i)
    missing = [c for c in COLUMNS if c not in index]
    if missing:
        raise RegistryFileError(
            f"header (line 1): missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}; expected {';'.join(COLUMNS)}")
    return delimiter, {c: index[c] for c in COLUMNS}, len(names)


class _RowParser:
    """Turns one CSV row into (account values, meter values or None), or raises _BadRow."""

    def __init__(self, index: dict[str, int], header_width: int, known_branches: Iterable[str],
                 today: date) -> None:
        self.i = [index[c] for c in COLUMNS]
        self.width = max(self.i) + 1  # fields a row needs (extra columns may follow)
        self.header_width = header_width
        self.branches = frozenset(known_branches)
        self.today = today
        self.dates: dict[str, date] = {}  # a registry has few distinct dates: parse each once

    def date(self, value: str, column: str, latest: date | None) -> date:
        parsed = self.dates.get(value)
        if parsed is None:
            try:
                if len(value) == 10 and value[4] == value[7] == "-":
                    parsed = date.fromisoformat(value)
                elif len(value) == 10 and value[2] == "." and value[5] == ".":
                    parsed = date(int(value[6:]), int(value[3:5]), int(value[:2]))
                else:
                    raise ValueError
            except ValueError:
                raise _BadRow(column, f"not a date «{value}» (YYYY-MM-DD or DD.MM.YYYY)") from None
            if len(self.dates) > 100_000:
                self.dates.clear()
            self.dates[value] = parsed
        if parsed < MIN_DATE:
            raise _BadRow(column, f"implausible date {parsed.isoformat()} (before {MIN_DATE})")
        if latest is not None and parsed > latest:
            raise _BadRow(column, f"implausible date {parsed.isoformat()} (in the future)")
        return parsed

    @staticmethod
    def text(value: str, column: str, limit: int, required: bool) -> str | None:
        value = value.strip()
        if not value:
            if required:
                raise _BadRow(column, "required")
            return None
        if len(value) > limit:
            raise _BadRow(column, f"longer than {limit} characters")
        if "\ufffd" in value or "\x00" in value:
            raise _BadRow(column, "not valid UTF-8 text")
        return value

    def parse(self, row: list[str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        (number, branch, holder, address, contract_number, contract_date, gis_id, tariff,
         serial, zones, digits, installed, due) = [row[i] for i in self.i]
        number = number.strip()
        if not number:
            raise _BadRow("number", "required")
        if not _NUMBER.fullmatch(number):
            raise _BadRow("number", f"«{number}» is not 5 to 20 digits")
        branch = branch.strip().lower()
        if not branch:
            raise _BadRow("branch", "required")
        if branch not in self.branches:
            raise _BadRow("branch", f"unknown branch «{branch}»")
        text = self.text
        account = {
            "number": number, "branch": branch,
            "holder_name": text(holder, "holder_name", 200, True),
            "address": text(address, "address", 500, True),
            "contract_number": text(contract_number, "contract_number", 40, False),
            "contract_date": (self.date(contract_date.strip(), "contract_date", self.today)
                              if contract_date.strip() else None),
            "gis_id": text(gis_id, "gis_id", 40, False),
            "tariff_category": tariff.strip().lower(),
        }
        if account["tariff_category"] not in _TARIFFS:
            raise _BadRow("tariff_category", f"«{tariff.strip()}» is not one of "
                                             f"{', '.join(TARIFF_CATEGORIES)}"
                          if tariff.strip() else "required")
        if not (serial.strip() or zones.strip() or digits.strip() or installed.strip()
                or due.strip()):
            return account, None
        serial = serial.replace(" ", "").replace("\u00a0", "").strip()
        if not serial:
            raise _BadRow("meter_serial", "required when the row has other meter columns")
        if not _SERIAL.fullmatch(serial):
            raise _BadRow("meter_serial", "not 4 to 40 digits (spaces aside)")
        zones_n = _ZONES.get(zones.strip())
        if zones_n is None:
            raise _BadRow("meter_zones", f"«{zones.strip()}» is not 1, 2 or 3"
                          if zones.strip() else "required")
        digits_n = _DIGITS.get(digits.strip())
        if digits_n is None:
            raise _BadRow("meter_digits", f"«{digits.strip()}» is not 4 to 9"
                          if digits.strip() else "required")
        installed = installed.strip()
        if not installed:
            raise _BadRow("meter_installed_on", "required")
        installed_on = self.date(installed, "meter_installed_on", self.today)
        due = due.strip()
        verification_due = None
        if due:
            verification_due = self.date(due, "meter_verification_due", None)
            if verification_due < installed_on:
                raise _BadRow("meter_verification_due", "before meter_installed_on")
            if verification_due.year - installed_on.year > VERIFICATION_MAX_YEARS:
                raise _BadRow("meter_verification_due",
                              f"more than {VERIFICATION_MAX_YEARS} years after installation")
        return account, {"serial": serial, "zones": zones_n, "digits": digits_n,
                         "installed_on": installed_on, "verification_due": verification_due}


# ---- writing ------------------------------------------------------------------------------

class _Writer:
    """Upserts one batch in one transaction; SQLAlchemy Core, one connection."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[conn.dialect.name]
        a = insert(ACCOUNTS)
        ex = a.excluded
        changed = or_(*[ACCOUNTS.c[f].is_distinct_from(ex[f]) for f in ACCOUNT_FIELDS],
                      ACCOUNTS.c.closed_on.is_not(None))
        # No bound parameter outside VALUES (null(), not None): else SQLAlchemy sends the rows
        # one statement each instead of batches of multi-row VALUES.
        self.upsert_accounts = a.on_conflict_do_update(
            index_elements=[ACCOUNTS.c.number, ACCOUNTS.c.branch],
            set_={**{f: ex[f] for f in ACCOUNT_FIELDS}, "closed_on": null(),
                  "updated_at": ex.updated_at},
            where=changed).returning(ACCOUNTS.c.id)
        m = insert(METERS)
        ex = m.excluded
        changed = or_(*[METERS.c[f].is_distinct_from(ex[f]) for f in METER_FIELDS],
                      METERS.c.removed_on.is_not(None))
        self.upsert_meters = m.on_conflict_do_update(
            index_elements=[METERS.c.account_id, METERS.c.serial],
            set_={**{f: ex[f] for f in METER_FIELDS}, "removed_on": null()},
            where=changed).returning(METERS.c.account_id)

    def analyze(self) -> None:
        """Fresh planner statistics. Without them, while the load grows the tables from
        nothing, PostgreSQL's planner keeps thinking accounts is tiny and looks ids up by a
        sequential scan per batch: a quadratic load (176 s instead of ~90 s per million);
        SQLite has none at all unless asked (shared.db.analyze)."""
        with self.conn.begin():
            analyze(self.conn, ("accounts", "meters"))

    def write(self, accounts: dict[tuple[str, str], dict[str, Any]],
              meters: dict[tuple[str, str, str], dict[str, Any]]) -> tuple[int, int]:
        conn = self.conn.execution_options(insertmanyvalues_page_size=CHUNK)
        with self.conn.begin():
            rows = [{**values, "closed_on": None, "updated_at": self.now}
                    for values in accounts.values()]
            changed = {i for part in _chunks(rows)
                       for (i,) in conn.execute(self.upsert_accounts, part)}
            if not meters:
                return len(changed), 0
            ids: dict[tuple[str, str], int] = {}
            for part in _chunks(sorted({key[0] for key in meters})):
                ids.update(((n, b), i) for i, n, b in conn.execute(
                    select(ACCOUNTS.c.id, ACCOUNTS.c.number, ACCOUNTS.c.branch)
                    .where(ACCOUNTS.c.number.in_(part))))
            rows = [{**values, "account_id": ids[key[:2]], "removed_on": None}
                    for key, values in meters.items()]
            installed = [i for part in _chunks(rows)
                         for (i,) in conn.execute(self.upsert_meters, part)]
            # A meter (re)installed or corrected changes its account, as billing's events do.
            bump = sorted(set(installed) - changed)
            for part in _chunks(bump):
                conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.id.in_(part))
                             .values(updated_at=self.now))
            return len(changed), len(installed)


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    """``items`` in slices of CHUNK, the rest in slices of powers of two.

    So every statement has one of a few shapes (rows in VALUES, values in IN). On SQLite each
    shape is a prepared statement in the connection's cache: with a shape per batch size that
    cache would hold ~128 big statements (over 100 MiB) and memory would grow with the file.
    """
    start, size = 0, CHUNK
    while start < len(items):
        while size > len(items) - start:
            size //= 2
        yield items[start:start + size]
        start += size


def _tune(conn: Connection) -> None:
    """SQLite, this connection only: no fsync per commit (in WAL mode NORMAL is still safe
    from corruption; a power cut may lose the last batches, and the import is run again,
    measured as fast as OFF) and a bigger page cache for the unique indexes' lookups."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA cache_size=-16384")  # 16 MiB (the default is 2)
        raw.execute("PRAGMA temp_store=MEMORY")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def import_registry(path: Path, url: str, branches_file: str = "", batch_size: int = 5000,
                    progress: bool = True, *, now: datetime | None = None,
                    report: Callable[[str], None] | None = None) -> ImportResult:
    """Import the registry CSV at ``path`` into the accounts database at ``url``.

    ``now`` (UTC, aware) is the ``updated_at`` of what changes and the «today» of the date
    checks; ``report`` receives each bad row's message (default: a line on stderr).
    Raises :class:`RegistryFileError` when the file as a whole cannot be imported.
    """
    started = time.perf_counter()
    path = Path(path)
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        size = path.stat().st_size
        _check_utf8(path)
        handle = path.open("r", encoding="utf-8-sig", errors="replace", newline="")
    except OSError as exc:
        raise RegistryFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    result = ImportResult()
    with handle:
        header = handle.readline()
        if not header.strip():
            raise RegistryFileError(f"{path}: empty file, expected a header row: "
                                    f"{';'.join(COLUMNS)}")
        delimiter, index, header_width = _header(header)
        parser = _RowParser(index, header_width, branches.names(branches_file), now.date())
        migrate(_migrations(), url)
        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as conn:
                _tune(conn)
                writer = _Writer(conn, now)
                writer.analyze()
                _run(handle, size, csv.reader(handle, delimiter=delimiter), parser,
                     writer, batch_size, progress, report or _stderr, result)
                writer.analyze()
        finally:
            engine.dispose()
    result.seconds = time.perf_counter() - started
    return result


def _migrations() -> Path:
    from services.accounts.service import MIGRATIONS  # the service's own migrations

    return MIGRATIONS


class _NoBar:
    disable = True

    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _run(handle: io.TextIOWrapper, size: int, reader: Any, parser: _RowParser, writer: _Writer,
         batch_size: int, progress: bool, report: Callable[[str], None],
         result: ImportResult) -> None:
    show = progress and sys.stderr.isatty()
    try:
        from tqdm import tqdm  # the "accounts" extra
    except ImportError:  # installed without it: no bar
        show = False
    bar: Any = tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                    desc="registry", dynamic_ncols=True) if show else _NoBar()
    raw = handle.buffer
    done_bytes = 0

    def bad(line: int, message: str) -> None:
        result.bad_rows += 1
        text = f"line {line}: {message}"
        if len(result.errors) < MAX_STORED_ERRORS:
            result.errors.append(text)
        if bar.disable:
            report(text)
        else:
            with bar.external_write_mode(file=sys.stderr):
                report(text)

    accounts: dict[tuple[str, str], dict[str, Any]] = {}
    meters: dict[tuple[str, str, str], dict[str, Any]] = {}
    pending = 0
    last_account: tuple[str, str] | None = None  # counts: an account's rows are adjacent
    seen_meters: set[tuple[str, str, str]] = set()  # meters of the current account
    width, parse = parser.width, parser.parse
    line_offset = 1  # the header line was read before the reader started
    previous_end = 0

    next_analyze = batch_size  # and then each time the accounts written double

    def flush() -> None:
        nonlocal pending, done_bytes, next_analyze
        if accounts:
            a, m = writer.write(accounts, meters)
            result.accounts_changed += a
            result.meters_changed += m
            if result.accounts_changed >= next_analyze:
                writer.analyze()
                next_analyze = 2 * result.accounts_changed
        accounts.clear()
        meters.clear()
        pending = 0
        position = raw.tell()
        bar.update(position - done_bytes)
        done_bytes = position
        bar.set_postfix(rows=result.rows, bad=result.bad_rows, refresh=False)

    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit()
            line = previous_end + 1 + line_offset
            stuck = reader.line_num == previous_end
            previous_end = reader.line_num
            result.rows += 1
            bad(line, f"malformed CSV{', the rest is skipped' if stuck else ''}: {exc}")
            if stuck:
                break
            continue
        line = previous_end + 1 + line_offset
        previous_end = reader.line_num
        if not row or not any(field.strip() for field in row):
            continue  # a blank line (or Excel's ";;;;" under the data)
        result.rows += 1
        if len(row) < width:
            column = next(c for c, i in zip(COLUMNS, parser.i) if i >= len(row))
            bad(line, f"{column}: missing (the row has {len(row)} columns, "
                      f"the header {parser.header_width})")
            continue
        try:
            account, meter = parse(row)
        except _BadRow as exc:
            bad(line, str(exc))
            continue
        key = (account["number"], account["branch"])
        accounts[key] = account
        if key != last_account:
            result.accounts += 1
            last_account = key
            seen_meters.clear()
        if meter is not None:
            meter_key = (*key, meter["serial"])
            meters[meter_key] = meter
            if meter_key not in seen_meters:
                seen_meters.add(meter_key)
                result.meters += 1
        pending += 1
        if pending >= batch_size:
            flush()
    flush()
    bar.close()
