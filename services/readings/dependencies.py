"""Readings' own nameko dependencies."""
from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider

from services.readings.ocr import get_engine
from shared.blocking import offload

log = logging.getLogger(__name__)


class OcrPreload(DependencyProvider):
    """Loads the OCR model when the service starts, in a native thread, so the first photo
    a customer sends does not pay the model's load (seconds on a busy machine) inside its
    request's deadline. Off with OCR_PRELOAD=0 (a process that never reads photos)."""

    def start(self) -> None:
        if self.container.config.get("OCR_PRELOAD", True):
            self.container.spawn_managed_thread(self._load)

    def _load(self) -> None:
        try:
            offload(get_engine)
        except Exception:  # noqa: BLE001 - the first photo will try again and say why
            log.exception("OCR model preload failed")

    def get_dependency(self, worker_ctx: object) -> None:
        return None
