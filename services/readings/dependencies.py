"""Readings' own nameko dependencies, and the OCR work queue they share with the worker."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from kombu import Connection, Queue
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange

log = logging.getLogger(__name__)

OCR_QUEUE = "readings.ocr_jobs"
OCR_JOB_EVENT = "photo_job_queued"


def ocr_queue(config: Mapping[str, Any]) -> Queue:
    """The OCR workers' durable work queue: every ``readings.photo_job_queued`` event the
    outbox relay publishes lands in it, and waits there for a worker."""
    return Queue(OCR_QUEUE, exchange=get_event_exchange("readings", config),
                 routing_key=OCR_JOB_EVENT, durable=True, auto_delete=False)


def declare_ocr_queue(config: Mapping[str, Any]) -> None:
    """Declare the queue and its binding (idempotent): a job published before any worker
    ever started is kept, not dropped as unroutable."""
    with Connection(config["AMQP_URI"], connect_timeout=10) as connection:
        ocr_queue(config)(connection.default_channel).declare()


class OcrQueue(DependencyProvider):
    """Declares the OCR work queue when the service starts, before its first upload. The
    service itself never runs OCR: the OCR worker processes do (services/readings/ocr_worker.py)."""

    def start(self) -> None:
        declare_ocr_queue(self.container.config)

    def get_dependency(self, worker_ctx: object) -> None:
        return None
