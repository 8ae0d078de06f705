"""One-time secrets: codes, opaque tokens and their keyed hashes."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def new_code(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def keyed_hash(secret_key: str, *parts: str) -> str:
    """HMAC-SHA256: codes and captcha answers are stored only as this (useless without the key)."""
    return hmac.new(secret_key.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)
