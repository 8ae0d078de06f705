"""``bench/load.py --profile``: py-spy samples the readings process during each measured
window of reading submissions (attached by pid, ``--nonblocking``: the process is not paused;
``--gil``: only while it holds the GIL, i.e. its Python CPU time, not the waits on the database
or the broker); the samples of every window are summed and the top functions printed, by own
time (the innermost frame) and by total time (anywhere on the stack)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATE = 100  # samples per second
IDLE = "do_poll (eventlet/hubs/"  # the hub waiting for sockets: py-spy --nonblocking counts it


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.binary = py_spy()
        self.running: list[subprocess.Popen] = []
        self.files: list[Path] = []

    def start(self, pid: int, seconds: float) -> None:
        """Sample ``pid`` for ``seconds`` (py-spy's raw format: collapsed stacks)."""
        if self.binary is None:
            return
        out = self.folder / f"profile-{len(self.files)}.txt"
        self.files.append(out)
        self.running.append(subprocess.Popen(
            [self.binary, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
             "--rate", str(RATE), "--nonblocking", "--gil", "--format", "raw", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def report(self, top: int = 15) -> str:
        """The top functions of every window's samples; waits for py-spy to finish."""
        if self.binary is None:
            return "--profile: py-spy is not installed (pip install py-spy)"
        for process in self.running:
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:  # py-spy hung (seen on PostgreSQL): no profile
                process.kill()
                process.wait()
        idle = 0  # samples waiting in the eventlet hub's poll: the process had nothing to do
        own: Counter[str] = Counter()
        total: Counter[str] = Counter()
        samples = 0
        for path in self.files:
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                frames = [_short(f) for f in stack.split(";")]
                n = int(count)
                if frames[-1].startswith(IDLE):
                    idle += n
                    continue
                samples += n
                own[frames[-1]] += n
                for frame in set(frames):
                    total[frame] += n
        if not samples:
            return "--profile: no samples (py-spy could not attach?)"
        lines = [f"readings: {samples} samples holding the GIL at {RATE}/s ({idle} more waiting in "
                 "the eventlet hub's poll, left out)",
                 "own %   total %  function"]
        for frame, n in own.most_common(top):
            lines.append(f"{100 * n / samples:5.1f}   {100 * total[frame] / samples:6.1f}   "
                         f"{frame}")
        lines.append("by total time (anywhere on the stack), ours and libraries:")
        for frame, n in total.most_common(top * 2):
            if any(part in frame for part in ("services/", "shared/", "sqlalchemy", "nameko",
                                              "kombu", "amqp/", "psycopg2", "sqlite")):
                lines.append(f"        {100 * n / samples:6.1f}   {frame}")
        return "\n".join(lines)


def _short(frame: str) -> str:
    """``function (path/to/file.py:123)`` with the path from the package on."""
    return re.sub(r"\((.*?/site-packages/|" + re.escape(f"{ROOT}/") + ")", "(", frame)
