"""Unit-test fixtures: an in-memory auth database, a fixed clock, an RSA key pair."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from services.auth.models import AuthBase

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def now() -> datetime:
    """A fixed, timezone-aware UTC instant: tests move time by adding timedeltas to it."""
    return NOW


@pytest.fixture
def db() -> Iterator[Session]:
    """A Session on a fresh in-memory SQLite database with the auth tables."""
    # shared.db.make_engine("sqlite://") raises TypeError (see test_db.py), so build it here.
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _foreign_keys(dbapi_conn, _record) -> None:  # as make_engine does for files
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    AuthBase.metadata.create_all(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public
