"""The supplier and its branches (филиалы): configuration, so another supplier can run this."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.errors import ValidationFailed

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "branches.json"


@lru_cache(maxsize=4)
def load(path: str = "") -> dict[str, Any]:
    data = json.loads(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
    codes = [b["code"] for b in data["branches"]]
    if len(codes) != len(set(codes)):
        raise ValueError(f"duplicate branch codes in {path or DEFAULT_FILE}")
    return data


def names(path: str = "") -> dict[str, str]:
    return {b["code"]: b["name"] for b in load(path)["branches"]}


def check(code: object, path: str = "", field: str = "branch") -> str:
    """The branch code, or a clear error naming the field."""
    known = names(path)
    if not isinstance(code, str) or not code:
        raise ValidationFailed("Выберите филиал", {field: "required"})
    if code not in known:
        raise ValidationFailed("Такого филиала нет, выберите из списка", {field: "unknown branch"})
    return code
