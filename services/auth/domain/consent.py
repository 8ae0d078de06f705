"""The personal-data consent a new user accepts (152-ФЗ: since 01.09.2025 a document of its
own): its version (PD_CONSENT_VERSION, the date of the text, YYYY-MM-DD) and its text, a file
shipped with the service (``services/auth/consent/<version>.txt``). The API gives the text
itself, so every front end shows exactly what the user agrees to and what auth records."""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.settings import ConfigurationError

TEXTS = Path(__file__).resolve().parent.parent / "consent"
DOCUMENT = "personal_data_processing"


@lru_cache(maxsize=4)
def document(version: str) -> dict[str, Any]:
    """The consent of ``version``: document, version, date, title and text (paragraphs
    separated by blank lines; a numbered line such as «1. Какие данные» heads a section).
    A version without its text is a configuration error: nobody may be asked to accept it."""
    try:
        effective = date.fromisoformat(version)
    except ValueError:
        raise ConfigurationError(
            f"PD_CONSENT_VERSION must be the date of the text (YYYY-MM-DD), not {version!r}")
    path = TEXTS / f"{version}.txt"
    try:
        title, _, text = path.read_text(encoding="utf-8").strip().partition("\n")
    except FileNotFoundError:
        raise ConfigurationError(f"no consent text for PD_CONSENT_VERSION {version}: {path}")
    return {"document": DOCUMENT, "version": version, "date": effective.isoformat(),
            "title": title.strip(), "text": text.strip()}
