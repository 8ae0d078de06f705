"""`make run`'s supervisor (shared/supervise.py): a process that dies is restarted, the
others keep running, and it says which died."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.settings import ROOT
from shared.supervise import backoff, parse_procfile


def test_procfile_is_parsed_like_honcho_does():
    text = "# comment\n\nweb: gunicorn app:app --bind ${PORT:-8000}\nworker:python -m w\n"
    assert parse_procfile(text) == {"web": "gunicorn app:app --bind ${PORT:-8000}",
                                    "worker": "python -m w"}
    with pytest.raises(ValueError):
        parse_procfile("no colon here\n")
    assert set(parse_procfile((ROOT / "Procfile").read_text())) >= {
        "auth", "accounts", "readings", "payments", "documents", "requests", "gateway", "web"}


def test_back_off_doubles_up_to_the_cap():
    assert [backoff(n, 1, 30) for n in (1, 2, 3, 5, 6, 10)] == [1, 2, 4, 16, 30, 30]


def test_a_dead_process_is_restarted_and_the_others_keep_running(tmp_path: Path):
    procfile = tmp_path / "Procfile"
    # flaky dies at once every time; steady would be stopped with it under honcho.
    procfile.write_text("flaky: echo flaky-up; exit 3\n"
                        "steady: echo steady-up $$; exec sleep 60\n")
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "shared.supervise", str(procfile), "--backoff", "0.1",
             "--max-backoff", "0.4", "--grace", "2"], cwd=ROOT, stdout=out,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 15
            while log.read_text().count("flaky-up") < 3:
                assert time.monotonic() < deadline, log.read_text()
                assert supervisor.poll() is None, log.read_text()
                time.sleep(0.1)
            text = log.read_text()
            assert "flaky" in text and "DIED (exit code 3)" in text
            assert "restarting (restart 2)" in text
            assert text.count("steady-up") == 1  # started once, never stopped
            steady_pid = int(text.split("steady-up ")[1].split()[0])
            os.kill(steady_pid, 0)  # still alive
        finally:
            supervisor.send_signal(signal.SIGTERM)
            code = supervisor.wait(10)
    assert code == 0
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(steady_pid, 0)  # stopped with the supervisor, not left behind
