"""What readings keeps of the bill photos customers send for OCR, and for how long.

A photo shows the holder's name, address and account: personal data. Only the photo that
became a reading stays (with the reading: the customer's evidence, source "photo"); every
other one — an attempt the customer re-took, or never submitted — is deleted once it is
PHOTO_RETENTION_HOURS old, by the service's timer. When a user deletes their account
(auth.user_deleted) their photos go at once, and their readings stay without their user id:
the reading is the meter's and the account's, billing has already taken it into a bill.

A photo job (domain/photo_jobs.py) holds what OCR read off the photo: it lives as long as an
attempt does (PHOTO_RETENTION_HOURS, whatever became of its photo) and goes with its user.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from services.readings.models import PhotoJob, Reading, ReadingPhoto
from shared.errors import Gone


def retention(config: Mapping[str, Any]) -> timedelta:
    return timedelta(hours=float(config["PHOTO_RETENTION_HOURS"]))


def check_fresh(photo: ReadingPhoto, config: Mapping[str, Any], now: datetime) -> None:
    """An unsubmitted photo past its retention counts as deleted, even before the timer
    ran: the customer attaches it again."""
    if photo.reading_id is None and photo.uploaded_at + retention(config) <= now:
        raise Gone("Фото больше не хранится, прикрепите его снова", {"photo_id": "expired"})


def purge_attempts(db: Session, config: Mapping[str, Any], now: datetime) -> int:
    """Delete the photos that did not become a reading within the retention, and the photo
    jobs as old; how many photos."""
    deleted = db.execute(delete(ReadingPhoto).where(
        ReadingPhoto.reading_id.is_(None),
        ReadingPhoto.uploaded_at <= now - retention(config))).rowcount
    db.execute(delete(PhotoJob).where(PhotoJob.created_at <= now - retention(config)))
    db.commit()
    return deleted or 0


def forget_user(db: Session, user_id: str) -> None:
    """152-ФЗ: the user's photos are deleted and their readings no longer name them. Doing
    it twice changes nothing (a redelivered event is harmless without a claim)."""
    db.execute(delete(ReadingPhoto).where(ReadingPhoto.uploaded_by == user_id))
    db.execute(delete(PhotoJob).where(PhotoJob.user_id == user_id))
    db.execute(update(Reading).where(Reading.submitted_by == user_id).values(submitted_by=None))
    db.commit()
