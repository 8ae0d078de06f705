"""Readings from a bill photo, off the request path: the upload is a job.

The request only checks the image cheaply (type, size, that it decodes), stores the photo and a
job row (``queued``) and records ``photo_job_queued`` in the outbox, all in one commit: the
relay then puts the job on the OCR workers' durable queue, so a committed job is never lost.
An OCR worker process (services/readings/ocr_worker.py) takes it, reads the photo and stores
the result on the row; the owner (the uploading user, for that account) polls it.

A job that a worker took twice without finishing (the process died mid-job, or the
recognition raised) is ``failed`` with a reason, not retried for ever (MAX_ATTEMPTS).
"""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.readings.domain import photos
from services.readings.models import Meter, PhotoJob, Reading, ReadingPhoto
from services.readings.ocr.preprocess import PhotoRejected, load
from shared.blocking import offload
from shared.errors import NotFound, ValidationFailed
from shared.work import Work, decode_upload

log = logging.getLogger(__name__)

JOB_EVENT = "photo_job_queued"  # the work queue is bound to this event of readings.events
MAX_ATTEMPTS = 2  # a job taken this many times without an end fails
PHOTO_UNREADABLE = "Не удалось прочитать фото: загрузите JPEG, PNG или HEIC"
INTERRUPTED = "Распознавание прервалось дважды: введите показания сами или загрузите фото ещё раз"
ENGINE_FAILED = "Не удалось распознать фото: введите показания сами или загрузите фото ещё раз"
PHOTO_GONE = "Фото больше не хранится: загрузите его ещё раз"


def job_view(job: PhotoJob) -> dict[str, Any]:
    """What the owner sees of a job: its state, and the fields read once it is done."""
    return {"job_id": job.id, "status": job.status, "photo_id": job.photo_id,
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "reason": job.reason,
            "result": json.loads(job.result) if job.result else None}


def check_image(raw: bytes) -> str:
    """The cheap check of the request: a JPEG, PNG or HEIC that decodes, within the limits
    (no OCR). Its format, or a 422 naming the field."""
    try:
        _, kind = offload(load, raw)  # decoding is CPU work: off the eventlet hub
    except PhotoRejected as exc:
        raise ValidationFailed(PHOTO_UNREADABLE, {"image_base64": exc.reason}) from None
    return kind


def queue_photo(work: Work, account_id: int, user_id: str, image_base64: object
                ) -> dict[str, Any]:
    """Store the photo and its job (queued) and queue it, in one commit."""
    raw = decode_upload(image_base64, "image_base64", "Прикрепите фото квитанции")
    kind = check_image(raw)
    photo = ReadingPhoto(id=str(uuid.uuid4()), account_id=account_id, uploaded_by=user_id,
                         uploaded_at=work.now, image_format=kind, data=raw)
    job = PhotoJob(id=str(uuid.uuid4()), account_id=account_id, user_id=user_id,
                   photo_id=photo.id, status="queued", attempts=0, created_at=work.now)
    work.db.add_all([photo, job])
    work.record(JOB_EVENT, {"job_id": job.id, "account_id": account_id})
    work.db.commit()
    return job_view(job)


def owned_job(work: Work, account_id: int, user_id: str, job_id: object) -> dict[str, Any]:
    """The caller's job on this account; 404 for anyone else's, or one past the photos'
    retention (it is deleted then, as its photo)."""
    job = work.db.get(PhotoJob, job_id) if isinstance(job_id, str) and len(job_id) <= 36 \
        else None
    if (job is None or job.account_id != account_id or job.user_id != user_id
            or job.created_at + photos.retention(work.config) <= work.now):
        raise NotFound("Фото не найдено, прикрепите его снова", {"job_id": "unknown"})
    return job_view(job)


# ---- the worker's side (no nameko: a plain process) ------------------------------------------

@dataclass(frozen=True)
class Taken:
    """A job a worker runs now: the photo and what the portal knows of the account."""

    job_id: str
    account_id: int
    photo: bytes
    attempt: int


def take(db: Session, job_id: str, now: datetime) -> Taken | None:
    """Mark the job running and count the attempt (committed before the work starts, so a
    crash mid-job is counted). None when there is nothing to do: unknown (deleted), already
    ended (a redelivered message), or taken MAX_ATTEMPTS times already (then failed)."""
    job = db.get(PhotoJob, job_id, with_for_update=True)
    if job is None or job.status in ("done", "failed"):
        db.rollback()
        return None
    photo = db.get(ReadingPhoto, job.photo_id)
    if photo is None:  # deleted meanwhile (retention, the user deleted)
        _end(job, "failed", now, reason=PHOTO_GONE)
        db.commit()
        return None
    if job.attempts >= MAX_ATTEMPTS:
        _end(job, "failed", now, reason=INTERRUPTED)
        db.commit()
        return None
    job.status, job.attempts, job.started_at = "running", job.attempts + 1, now
    taken = Taken(job.id, job.account_id, photo.data, job.attempts)
    db.commit()
    return taken


def _end(job: PhotoJob, status: str, now: datetime, reason: str | None = None,
         result: dict[str, Any] | None = None) -> None:
    job.status, job.finished_at, job.reason = status, now, reason
    job.result = json.dumps(result, ensure_ascii=False) if result is not None else None


def finish(db: Session, job_id: str, now: datetime, result: dict[str, Any]) -> None:
    """Store the result (done). A job deleted meanwhile stays deleted."""
    job = db.get(PhotoJob, job_id, with_for_update=True)
    if job is not None:
        _end(job, "done", now, result=result)
    db.commit()


def fail(db: Session, job_id: str, now: datetime, reason: str, final: bool) -> None:
    """The run failed: ``final`` ends the job with ``reason``; else it waits for another try."""
    job = db.get(PhotoJob, job_id, with_for_update=True)
    if job is not None:
        if final:
            _end(job, "failed", now, reason=reason)
        else:
            job.status = "queued"
    db.commit()


def known_meters(db: Session, account_id: int) -> tuple[str | None, list[dict[str, Any]]]:
    """The account's number and its meters in service: serial, zones, digits and the last
    accepted reading per zone (what the recognition checks its reading against)."""
    meters = list(db.scalars(select(Meter).where(
        Meter.account_id == account_id, Meter.removed_on.is_(None)).order_by(Meter.id)))
    out = []
    for meter in meters:
        last = db.scalar(select(Reading).where(
            Reading.account_id == account_id, Reading.meter_serial == meter.serial,
            Reading.status == "accepted").order_by(Reading.period.desc(), Reading.id.desc())
            .limit(1))
        out.append({"serial": meter.serial, "zones": meter.zones, "digits": meter.digits,
                    "previous": last.values if last else None})
    return (meters[0].number if meters else None), out


def run(db_factory: Callable[[], Session], job_id: str, clock: Callable[[], datetime],
        recognise: Callable[[bytes, str | None, list[dict[str, Any]]], dict[str, Any]]) -> str:
    """One delivery of a job: take it, recognise, store the outcome. Returns what to do with
    the message: ``"ack"`` (ended, or nothing to do) or ``"retry"`` (back on the queue)."""
    with db_factory() as db:
        taken = take(db, job_id, clock())
        if taken is None:
            return "ack"
        number, meters = known_meters(db, taken.account_id)
        db.rollback()  # hold no transaction while the recognition runs
    try:
        result = recognise(taken.photo, number, meters)
    except PhotoRejected:
        with db_factory() as db:
            fail(db, job_id, clock(), PHOTO_UNREADABLE, final=True)
        return "ack"
    except Exception:  # noqa: BLE001 - the engine's own failure: once more, then failed
        log.exception("recognising the photo of job %s failed", job_id,
                      extra={"attempt": taken.attempt})
        final = taken.attempt >= MAX_ATTEMPTS
        with db_factory() as db:
            fail(db, job_id, clock(), ENGINE_FAILED, final=final)
        return "ack" if final else "retry"
    with db_factory() as db:
        finish(db, job_id, clock(), result)
    return "ack"
