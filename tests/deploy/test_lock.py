"""The lock files hold every requirement of pyproject.toml at the version it pins, so a
requirement added to pyproject.toml without `make lock` fails here instead of floating."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
SELF = canonicalize_name(PROJECT["name"])


def requirements(extras: list[str]) -> list[Requirement]:
    """The project's dependencies with these extras, the extras it names of itself included."""
    found = [Requirement(line) for line in PROJECT["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for line in PROJECT["optional-dependencies"][extra]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == SELF:
                todo.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def locked(name: str) -> dict[str, str]:
    """name -> version of a lock file (uv pip compile's format: `name==version [; marker]`)."""
    pins = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith((" ", "#")):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier  # exactly one ==, nothing left to resolve
            assert specifier.operator == "==", line
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ["all"]),
                                              ("requirements-dev.lock", ["dev"])])
def test_the_lock_holds_every_requirement_at_its_version(lock: str, extras: list[str]) -> None:
    pins = locked(lock)
    for requirement in requirements(extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{lock} has {name}=={pins[name]}, pyproject.toml asks {requirement}: run make lock"


def test_the_image_lock_agrees_with_the_dev_lock() -> None:
    dev = locked("requirements-dev.lock")
    image = locked("requirements.lock")
    assert image.keys() <= dev.keys()
    assert {name: dev[name] for name in image} == image
