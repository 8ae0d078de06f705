"""The types of documents a customer may submit: reference data
(``services/documents/document_types.json``), so a supplier changes the list without a
release of code."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.contracts.billing import TARIFF_CATEGORIES
from shared.errors import ValidationFailed

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "document_types.json"


@lru_cache(maxsize=4)
def load(path: str = "") -> dict[str, dict[str, Any]]:
    """Code → {code, title, tariff_categories}, in the file's order. A broken file fails
    at start (codes twice, an unknown tariff category), not at a customer's upload."""
    data = json.loads(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
    types: dict[str, dict[str, Any]] = {}
    for item in data["types"]:
        code = item["code"]
        if code in types:
            raise ValueError(f"document type {code!r} listed twice")
        unknown = set(item["tariff_categories"]) - set(TARIFF_CATEGORIES)
        if unknown:
            raise ValueError(f"document type {code!r}: unknown tariff categories {unknown}")
        types[code] = {"code": code, "title": item["title"],
                       "tariff_categories": list(item["tariff_categories"])}
    return types


def check(code: object) -> dict[str, Any]:
    """The type named by ``code``, or a 422 naming the field."""
    types = load()
    if not isinstance(code, str) or not code:
        raise ValidationFailed("Выберите тип документа", {"doc_type": "required"})
    if code not in types:
        raise ValidationFailed("Такого типа документа нет, выберите из списка",
                               {"doc_type": "unknown document type"})
    return types[code]
