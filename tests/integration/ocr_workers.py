"""OCR worker processes for integration tests: ``python -m services.readings.ocr_worker``
started against a test system's broker and readings database, as `make run` starts it.

``fake=True`` selects tests/fakes/ocr_engine.py (what it reads is set with :meth:`script`):
for the plumbing (queue, jobs, crashes), where a real recognition would cost seconds a photo.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class OcrWorkers:
    def __init__(self, config: dict[str, Any], folder: Path, fake: bool = True) -> None:
        self.folder = folder
        self.script_file = folder / "fake-ocr.json"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "NESK_ENV": "test", "VAR_DIR": str(config["VAR_DIR"]),
                    "AMQP_URI": config["AMQP_URI"],
                    "READINGS_DATABASE_URL": config["READINGS_DATABASE_URL"],
                    "LOG_LEVEL": "INFO", "OCR_WORKERS": "1", "PYTHONPATH": str(ROOT),
                    "PYTHONDONTWRITEBYTECODE": "1"}
        self.env.pop("METRICS_PORT", None)
        if fake:
            self.env.update(NESK_OCR_ENGINE="tests.fakes.ocr_engine:FakeOcrEngine",
                            FAKE_OCR_SCRIPT=str(self.script_file), OCR_PRELOAD="false")
            self.script(number="0", meters=[])
        else:
            self.env["OCR_PRELOAD"] = "true"

    def script(self, **script: Any) -> None:
        """What the fake engine reads on the next photos (tests/fakes/ocr_engine.py)."""
        self.script_file.write_text(json.dumps(script), encoding="utf-8")

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"ocr-worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen([sys.executable, "-m", "services.readings.ocr_worker"],
                                   cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: the process dies mid-job, without acking or cleaning anything."""
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
