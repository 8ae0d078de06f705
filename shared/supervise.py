"""Run the Procfile's processes; restart one that dies, with back-off, and say which.

    python -m shared.supervise [Procfile] [--backoff 1] [--max-backoff 30]

What ``make run`` starts. honcho (used before) stops every process when one exits and has
no restart; this keeps the rest serving while a dead one comes back. Output is prefixed with
the process's name, as honcho does. A process that ran ``--stable`` seconds before dying
starts again after ``--backoff`` seconds; one that keeps dying waits twice as long each
time, up to ``--max-backoff``. Ctrl-C (SIGINT) or SIGTERM stops them all: SIGTERM to each
process group, SIGKILL to what is left after ``--grace`` seconds.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Sequence


def parse_procfile(text: str) -> dict[str, str]:
    """``{name: command}`` of a Procfile (``name: command`` lines; ``#`` comments)."""
    processes: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip() or not command.strip():
            raise ValueError(f"not a Procfile line: {line!r}")
        processes[name.strip()] = command.strip()
    return processes


def backoff(failures: int, base: float, cap: float) -> float:
    """Seconds before restart after ``failures`` quick deaths in a row (1, 2, ...)."""
    return min(cap, base * 2 ** max(0, failures - 1))


@dataclass
class Child:
    name: str
    command: str
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0  # quick deaths in a row
    restart_at: float | None = None
    restarts: int = 0
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Starts the processes, restarts the dead, stops them all on a signal."""

    def __init__(self, processes: dict[str, str], base: float = 1.0, cap: float = 30.0,
                 stable: float = 30.0, grace: float = 10.0, out: IO[str] = sys.stdout) -> None:
        self.children = [Child(name, command) for name, command in processes.items()]
        self.base, self.cap, self.stable, self.grace = base, cap, stable, grace
        self.out = out
        self.width = max((len(name) for name in processes), default=1)
        self._print_lock = threading.Lock()
        self._stopping = threading.Event()

    def say(self, name: str, text: str) -> None:
        with self._print_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{self.width}} | {text}\n")
            self.out.flush()

    def start(self, child: Child) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # A process group of its own: a stop signal reaches the children of its shell too
        # (gunicorn's workers), and a Ctrl-C in the terminal reaches only us.
        child.process = subprocess.Popen(["/bin/sh", "-c", child.command], env=env,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        child.started = time.monotonic()
        child.restart_at = None
        self.say(child.name, f"started (pid {child.process.pid})")
        child.reader = threading.Thread(target=self._relay, args=(child, child.process),
                                        daemon=True)
        child.reader.start()

    def _relay(self, child: Child, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            self.say(child.name, raw.decode(errors="replace").rstrip("\n"))

    def poll(self) -> None:
        """One round: note deaths, schedule their restart, start what is due."""
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                child.failures = 1 if now - child.started >= self.stable else child.failures + 1
                delay = backoff(child.failures, self.base, self.cap)
                child.restart_at = now + delay
                self.say(child.name, f"DIED (exit code {code}); the others keep running; "
                                     f"restarting in {delay:g} s")
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self.say(child.name, f"restarting (restart {child.restarts})")
                self.start(child)

    def run(self) -> int:
        """Until a stop signal; 0 after a clean stop."""
        for child in self.children:
            self.start(child)
        while not self._stopping.wait(0.2):
            self.poll()
        self.stop_all()
        return 0

    def request_stop(self, signum: int = signal.SIGTERM, _frame: object = None) -> None:
        self._stopping.set()

    def stop_all(self) -> None:
        """SIGTERM to every process group, SIGKILL to the ones left after ``grace``."""
        live = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in live:
            self.say(child.name, "stopping")
            self._signal(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for child in live:
            assert child.process is not None
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(child.name, f"still running after {self.grace:g} s; killed")
                self._signal(child, signal.SIGKILL)
                child.process.wait()

    @staticmethod
    def _signal(child: Child, signum: int) -> None:
        assert child.process is not None
        try:
            os.killpg(child.process.pid, signum)
        except ProcessLookupError:
            pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.supervise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("procfile", nargs="?", default="Procfile")
    parser.add_argument("--backoff", type=float, default=1.0,
                        help="seconds before the first restart (default 1)")
    parser.add_argument("--max-backoff", type=float, default=30.0,
                        help="longest wait before a restart (default 30)")
    parser.add_argument("--stable", type=float, default=30.0,
                        help="a process that ran this long restarts after --backoff again")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="seconds between SIGTERM and SIGKILL at stop (default 10)")
    args = parser.parse_args(argv)
    supervisor = Supervisor(parse_procfile(Path(args.procfile).read_text()), args.backoff,
                            args.max_backoff, args.stable, args.grace)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
