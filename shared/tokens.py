"""RS256 access tokens: the auth service signs, everyone else verifies with the public key.

In development, when no key files are configured, a key pair is made once under
$VAR_DIR/keys and shared by every local process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.errors import Unauthorized

ALGORITHM = "RS256"


def _dev_private_key_path(config: Mapping[str, Any]) -> Path:
    return Path(config["VAR_DIR"]) / "keys" / "jwt-private.pem"


def ensure_dev_keys(config: Mapping[str, Any]) -> Path:
    """Create the development private key if missing (atomically: several processes start)."""
    path = _dev_private_key_path(config)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(tmp, path)  # fails if another process got there first; theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path


def load_private_key(config: Mapping[str, Any]) -> bytes:
    configured = config.get("JWT_PRIVATE_KEY_FILE")
    path = Path(configured) if configured else ensure_dev_keys(config)
    return path.read_bytes()


def load_public_key(config: Mapping[str, Any]) -> bytes:
    configured = config.get("JWT_PUBLIC_KEY_FILE")
    if configured:
        return Path(configured).read_bytes()
    private = serialization.load_pem_private_key(load_private_key(config), password=None)
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def signing_key(config: Mapping[str, Any]) -> Any:
    """The private key, parsed once (PyJWT would parse PEM text again on every token: ~30 ms)."""
    return serialization.load_pem_private_key(load_private_key(config), password=None)


def verification_key(config: Mapping[str, Any]) -> Any:
    """The public key, parsed once."""
    return serialization.load_pem_public_key(load_public_key(config))


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the verified access token says."""

    user_id: str
    role: str
    session_id: str
    token_id: str


LEEWAY = 30  # seconds of clock skew tolerated between the pods that sign and verify


def verify_access_token(token: str, public_key: Any, issuer: str, now: datetime) -> Principal:
    """Check signature (RS256 only: 'none' and HS256 tricks are refused), expiry, issuer, type.

    Expiry is checked against ``now`` (the injected clock), not the wall clock."""
    try:
        claims = jwt.decode(token, public_key, algorithms=[ALGORITHM], issuer=issuer,
                            options={"require": ["exp", "iat", "sub", "jti", "sid", "role"],
                                     "verify_exp": False, "verify_iat": False})
    except jwt.InvalidAlgorithmError:
        raise Unauthorized("Недопустимый алгоритм подписи токена",
                           {"authorization": "algorithm not allowed"})
    except jwt.PyJWTError as exc:
        raise Unauthorized("Недействительный токен", {"authorization": f"invalid token: {exc}"})
    timestamp = now.timestamp()
    if claims["exp"] <= timestamp - LEEWAY:
        raise Unauthorized("Срок действия токена истёк", {"authorization": "token expired"})
    if claims["iat"] > timestamp + LEEWAY:
        raise Unauthorized("Недействительный токен", {"authorization": "issued in the future"})
    if claims.get("typ") != "access":
        raise Unauthorized("Недействительный токен", {"authorization": "not an access token"})
    return Principal(user_id=claims["sub"], role=claims["role"], session_id=claims["sid"],
                     token_id=claims["jti"])
