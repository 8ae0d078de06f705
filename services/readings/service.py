"""The readings service's nameko entrypoints."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from nameko.dependency_providers import Config
from nameko.timer import timer

from services.readings.dependencies import OcrQueue
from services.readings.domain import photo_jobs, photos, reminders, rules
from services.readings.domain.submissions import Readings, require_int
from services.readings.models import AccountGrant, AccountGrantsLoad, Outbox, ProcessedEvent
from services.readings.models import IdempotencyKey
from shared.clock import ClockProvider
from shared.consumers import reliable_event_handler
from shared.context import RequestContext
from shared.db import Database
from shared.deadlines import RpcProxy
from shared.errors import NotFound, ValidationFailed
from shared.events import parse_envelope
from shared.grants import GrantsMixin
from shared.idempotency import Idempotency, idempotent
from shared.service import OutboxProvider, ServiceBase, optional_call, rpc

MIGRATIONS = Path(__file__).parent / "migrations"
REMINDER_INTERVAL = 3600  # seconds; the reminder itself goes out once per account and period
PHOTO_PURGE_INTERVAL = 600  # seconds: attempts outlive PHOTO_RETENTION_HOURS by at most this


class ReadingsService(GrantsMixin, ServiceBase):
    """Meter readings: submission rules, billing's decisions, history."""

    name = "readings"
    processed_events = ProcessedEvent
    grant_model = AccountGrant
    grants_load_model = AccountGrantsLoad

    config = Config()
    db = Database("readings", MIGRATIONS)
    outbox = OutboxProvider(Outbox)
    clock = ClockProvider()
    request = RequestContext()
    idempotency = Idempotency(IdempotencyKey)  # Idempotency-Key of creating calls
    ocr_queue = OcrQueue()  # declared at start: no job is published before it exists
    accounts = RpcProxy("accounts")
    auth = RpcProxy("auth")
    payments = RpcProxy("payments")

    @property
    def readings(self) -> Readings:
        return Readings(self.work())

    def _allowed(self, account_id: Any, need: str, learn_meters: bool = True) -> int:
        """Accounts' ownership rule, decided on readings' copy of the grants
        (shared/grants.py). An account whose meters never came by event (a CSV-loaded
        registry) gets them now, from accounts (unless ``learn_meters`` is False: the caller
        does it when a meter is not found)."""
        self.request.principal()
        account_id = require_int(account_id)
        self.allowed(account_id, need)
        if learn_meters:
            self._learn_meters(account_id)
        return account_id

    def _learn_meters(self, account_id: int) -> None:
        self._know_account(account_id,
                           lambda: self.accounts.account_meters(account_id=account_id))

    def _know_account(self, account_id: int,
                      meters: Callable[[], list[dict[str, Any]]]) -> None:
        """Readings' copy of meters comes from accounts' events; an account none came for (a
        registry loaded from CSV) gets its meters now, from accounts' answer ``meters()``.
        Committed at once: the copy stands whatever the caller does next."""
        readings = self.readings
        if not readings.knows_account(account_id):
            self.db.rollback()  # hold no transaction (on SQLite: the write lock) across the call
            readings.register_meters(meters())
            self.db.commit()

    @rpc
    def meters(self, account_id: Any) -> list[dict[str, Any]]:
        """The account's meters with their last reading and verification date."""
        return self.readings.meters(self._allowed(account_id, "read"))

    @rpc
    def window(self) -> dict[str, Any]:
        """When readings are taken: open today or not, and this (or the next) window's dates
        (the cabinet's home shows them next to «Передать показания»)."""
        window = rules.window_from(self.config)
        return window.view(window.today(self.clock.now()))

    def _estimate(self, account_id: int, preview: dict[str, Any]) -> dict[str, Any]:
        """``estimate``: the charge for this consumption at the account's tariff, from
        payments; None when there is no consumption yet or payments cannot tell (not running,
        no tariff), and then ``estimate_unavailable`` says why if payments said (no zone
        prices for a multi-zone meter)."""
        if preview["consumption"] is None:
            return {"estimate": None, "estimate_unavailable": None}
        why: list[str] = []
        estimate = optional_call(
            self.payments.estimate, account_id=account_id, period=preview["period"],
            consumption=preview["consumption"], refused=lambda error: why.append(error.message))
        return {"estimate": estimate, "estimate_unavailable": why[0] if why else None}

    @rpc
    def preview(self, account_id: Any, meter_serial: Any, values: Any) -> dict[str, Any]:
        """Before confirming: consumption per zone, a warning when it is far above the usual,
        and an estimate of the charge for it. Nothing is stored."""
        account_id = self._allowed(account_id, "full")
        preview = self.readings.preview(account_id, meter_serial, values)
        return {**preview, **self._estimate(account_id, preview)}

    @rpc
    @idempotent(one_commit=True)  # the reading, its event and the key's answer: one commit
    def submit(self, account_id: Any, meter_serial: Any, values: Any, confirm: Any = False,
               photo_id: Any = None) -> dict[str, Any]:
        """ПЕРЕДАЧА ПОКАЗАНИЙ: one value per zone of one meter, for this period (with the
        ``photo_id`` of read_photo when the values came from a photo)."""
        account_id = self._allowed(account_id, "full", learn_meters=False)
        user_id = self.request.principal().user_id
        # The meters of an account none came for by event (a CSV-loaded registry) are asked
        # of accounts only when the meter is not found: not a query on every call.
        try:
            return self.readings.submit(user_id, account_id, meter_serial, values, confirm,
                                        photo_id)
        except NotFound:
            if self.readings.knows_account(account_id):
                raise
        self._learn_meters(account_id)
        return self.readings.submit(user_id, account_id, meter_serial, values, confirm, photo_id)

    @rpc
    @idempotent(ignore=("captcha_id", "captcha_answer"), one_commit=True)
    def quick_submit(self, number: Any, branch: Any, proof: Any, captcha_id: Any,
                     captcha_answer: Any, meter_serial: Any, values: Any, confirm: Any = False,
                     photo_id: Any = None) -> dict[str, Any]:
        """Submission without signing in: account number, branch and the bill's proof, with a
        captcha; rate-limited per client address by accounts. ``photo_id`` is taken as in
        ``submit`` (a photo of this account, else 404): the route shares the signed-in form."""
        self.db.rollback()  # the key lookup's transaction: not held across the calls
        self.auth.solve_captcha(captcha_id=captcha_id, captcha_answer=captcha_answer)
        account = self.accounts.account_by_proof(number=number, branch=branch, proof=proof)
        self._know_account(account["account_id"], lambda: account["meters"])
        return self.readings.submit(None, account["account_id"], meter_serial, values, confirm,
                                    photo_id)

    @rpc
    @idempotent
    def read_photo(self, account_id: Any, image_base64: Any) -> dict[str, Any]:
        """A photo of a filled-in bill (or of the meter), taken at once as a job: the image
        is checked (type, size), stored with its job (queued) and put on the OCR workers'
        queue; the answer is the job (``job_id``, ``status``). Its result (the account number,
        each meter's serial and zone readings, each with a confidence and a state) comes with
        ``photo_job``. Nothing is submitted: the customer checks the values and sends them
        with ``submit``."""
        account_id = self._allowed(account_id, "full")
        return photo_jobs.queue_photo(self.work(), account_id,
                                      self.request.principal().user_id, image_base64)

    @rpc
    def photo_job(self, account_id: Any, job_id: Any) -> dict[str, Any]:
        """A photo job of the caller's for this account: queued / running / done (with the
        fields read) / failed (with the reason); 404 for anyone else's."""
        account_id = self._allowed(account_id, "full")
        return photo_jobs.owned_job(self.work(), account_id,
                                    self.request.principal().user_id, job_id)

    @rpc
    def history(self, account_id: Any, cursor: Any = None, limit: Any = None
                ) -> dict[str, Any]:
        """The Показания tab: the readings of every meter, newest period first, with
        consumption; a page at a time (shared/paging.py)."""
        return self.readings.history(self._allowed(account_id, "read"), cursor, limit)

    @rpc
    def bill_readings(self, account_id: Any, period: Any) -> list[dict[str, Any]]:
        """Internal, for the documents service only (the gateway never routes it; documents
        has checked the caller's access first): per meter in service during ``period``
        (YYYY-MM), its serial, zones, the initial and the final reading of the bill's meter
        table (values, date, type: КО inspector, ПА customer, see BILL_KINDS) and the
        consumption between them."""
        account_id = require_int(account_id)
        if not isinstance(period, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
            raise ValidationFailed("Период в формате ГГГГ-ММ", {"period": "YYYY-MM"})
        return self.readings.for_bill(account_id, period,
                                      ZoneInfo(self.config["SUPPLIER_TIMEZONE"]))

    @reliable_event_handler("accounts", "meter_registered")
    def on_meter_registered(self, body: dict[str, Any]) -> None:
        self.handle_event(body, self.readings.meter_registered)

    @reliable_event_handler("accounts", "meter_unregistered")
    def on_meter_unregistered(self, body: dict[str, Any]) -> None:
        self.handle_event(body, self.readings.meter_unregistered)

    @reliable_event_handler("billing", "reading_accepted")
    def on_reading_accepted(self, body: dict[str, Any]) -> None:
        self.handle_event(body, lambda p: self.readings.decided(p, accepted=True))

    @reliable_event_handler("billing", "inspector_reading_taken")
    def on_inspector_reading(self, body: dict[str, Any]) -> None:
        """The reading goes to the meter's account; a meter the copy lacks (no event came
        for it: a CSV-loaded registry) is asked of accounts first. An account or meter the
        registry lacks too is refused (the message is dead-lettered with the reason); accounts
        being down is transient (retried)."""
        payload = parse_envelope(body)["payload"]
        number, branch, serial = payload["number"], payload["branch"], payload["serial"]
        readings = self.readings
        if not readings.knows_meter(number, branch, serial):
            # Before the event's transaction, so no write lock waits on the call.
            try:
                meters = self.accounts.registry_meters(number=number, branch=branch)
            except NotFound:
                raise NotFound(f"Unknown account {number} ({branch}): not in the registry",
                               {"number": "not in the accounts registry"}) from None
            readings.register_meters(meters)
            self.db.commit()
        self.handle_event(body, self.readings.inspector_reading)

    @timer(interval=REMINDER_INTERVAL)
    def remind_missing_readings(self) -> int:
        """Before the window closes: an event per account still without a reading."""
        return reminders.remind_missing(self.work(), rules.window_from(self.config),
                                        self.config["READING_REMINDER_DAYS"])

    @timer(interval=PHOTO_PURGE_INTERVAL)
    def purge_photo_attempts(self) -> int:
        """Bill photos that did not become a reading, and every photo job (its result
        included), are deleted after PHOTO_RETENTION_HOURS."""
        return photos.purge_attempts(self.db, self.config, self.clock.now())

    @reliable_event_handler("auth", "user_deleted")
    def forget_user_photos(self, body: dict[str, Any]) -> None:
        """152-ФЗ: the deleted user's photos and photo jobs go, their readings stay without
        their user id.
        Not claimed by event id (one claim per id serves one handler of an event): doing it
        again changes nothing."""
        photos.forget_user(self.db, parse_envelope(body)["payload"]["user_id"])

    @reliable_event_handler("billing", "reading_rejected")
    def on_reading_rejected(self, body: dict[str, Any]) -> None:
        self.handle_event(body, lambda p: self.readings.decided(p, accepted=False))
