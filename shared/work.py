"""What a service's domain code gets for one worker: the session, settings, the moment it
runs at, and a way to record events in the outbox (in the same transaction)."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session

from shared.errors import ValidationFailed


@dataclass
class Work:
    db: Session
    config: Mapping[str, Any]
    now: datetime
    record: Callable[[str, dict[str, Any]], Any]


def decode_upload(value: object, field: str, missing: str) -> bytes:
    """A file sent as base64 in JSON, or a clear error naming the field."""
    if not isinstance(value, str) or not value:
        raise ValidationFailed(missing, {field: "required"})
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("Файл повреждён", {field: "not base64"}) from None
