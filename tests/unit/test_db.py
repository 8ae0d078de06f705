"""shared.db: engines and the UTC column type."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from services.auth.models import AuthBase, Captcha
from shared.db import make_engine


def test_file_database_gets_its_folder_and_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'auth.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "sub").is_dir()
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_database(url):
    engine = make_engine(url)
    AuthBase.metadata.create_all(engine)
    engine.dispose()


def test_utc_datetimes_come_back_aware(db):
    moscow = timezone(timedelta(hours=3))
    db.add(Captcha(id="c", answer_hash="h", expires_at=datetime(2026, 3, 2, 12, 30, tzinfo=moscow)))
    db.commit()
    db.expire_all()
    assert db.get(Captcha, "c").expires_at == datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    assert db.get(Captcha, "c").expires_at.tzinfo is not None


def test_naive_datetime_is_refused(db):
    db.add(Captcha(id="c", answer_hash="h", expires_at=datetime(2026, 3, 2, 9, 30)))
    with pytest.raises(Exception, match="naive datetime"):
        db.commit()
