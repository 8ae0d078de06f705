"""bench/load.py's arithmetic without a system: percentiles, CPU per request (the load
generator left out), py-spy's collapsed stacks (the hub's idle poll left out) and the verdicts
against issue 15's targets."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.load_measure import CLIENT, CpuMeter, pct
from bench.load_profile import Profiler
from bench.load_report import print_targets
from bench.load_system import generate_registry, registry_proofs


def test_percentiles_in_ms() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert pct(values, 50) == 51.0
    assert pct(values, 99) == 100.0
    assert pct([], 50) is None


def test_cpu_per_request_leaves_the_client_out() -> None:
    meter = CpuMeter(lambda: {})
    meter.used = {"readings": 0.5, "gateway": 0.25, CLIENT: 1.0}
    assert meter.per_request(50) == {"client": 20.0, "gateway": 5.0, "readings": 10.0,
                                     "total": 15.0}
    assert meter.per_request(0) == {}


def test_profile_counts_busy_samples_only(tmp_path: Path) -> None:
    profiler = Profiler(tmp_path)
    profiler.binary = "py-spy"  # the report reads files; nothing is started
    (tmp_path / "profile-0.txt").write_text(
        "run (nameko/containers.py:1);submit (services/readings/service.py:2) 30\n"
        "run (nameko/containers.py:1);do_execute (sqlalchemy/engine/default.py:3) 10\n"
        "wait (eventlet/hubs/hub.py:4);do_poll (eventlet/hubs/epolls.py:31) 60\n")
    profiler.files.append(tmp_path / "profile-0.txt")
    report = profiler.report()
    assert "40 samples holding the GIL" in report and "60 more waiting" in report
    assert " 75.0     75.0   submit (services/readings/service.py:2)" in report


def _row(system: str, scenario: str, clients: int, per_s: float, p99: float, cpu: float,
         **extra: Any) -> dict[str, Any]:
    return {"db": "sqlite", "replicas": 1, "system": system, "scenario": scenario,
            "clients": clients, "per_s": per_s, "p99_ms": p99, "cpu_ms": {"total": cpu},
            **extra}


def test_targets_table(capsys: pytest.CaptureFixture[str]) -> None:
    events = {"lost": 0, "duplicated": 0, "duplicated_event_ids": 0}
    print_targets([
        _row("ours", "readings", 32, 80, 150, 12, event_p99_ms=90, **events),
        _row("baseline", "readings", 32, 100, 100, 8),
        _row("ours", "payments", 32, 10, 900, 60, event_p99_ms=50, **{**events, "lost": 1}),
        _row("ours", "auth_me", 32, 300, 300, 5),
        _row("baseline", "auth_me", 32, 900, 100, 1)])
    lines = capsys.readouterr().out.splitlines()
    readings = next(line for line in lines if line.startswith("| sqlite | 1 | 32 |"))
    assert "1.5 PASS" in readings and "0.8 PASS" in readings and "90 PASS" in readings
    assert "0/0, 1/0 FAIL" in readings  # a payment's event lost
    assert "3.0 FAIL" in next(line for line in lines if "GET /auth/me" in line)


def test_generated_registry_proofs() -> None:
    text = generate_registry(3)
    proofs = registry_proofs(text)
    assert [p["number"] for p in proofs] == ["7700000000", "7700000001", "7700000002"]
    serial = text.splitlines()[1].split(";")[8]
    assert proofs[0]["proof"] == serial[-4:] and proofs[0]["branch"] == "mostovskoy"
