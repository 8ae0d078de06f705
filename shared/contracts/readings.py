"""Events of the readings service (exchange ``readings.events``)."""
from marshmallow import Schema, fields, validate

from shared.contracts.billing import MAX_READING
from shared.contracts.rules import PERIOD, Int
from shared.events import contract


@contract("readings", "reading_submitted")
class ReadingSubmitted(Schema):
    """A customer's reading passed the portal's checks; billing accepts or rejects it
    (billing.reading_accepted / billing.reading_rejected with the same reading_id)."""

    reading_id = fields.Integer(required=True)
    account_id = fields.Integer(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)
    meter_serial = fields.String(required=True)
    period = fields.String(required=True, validate=PERIOD)
    values = fields.List(Int(maximum=MAX_READING), required=True,
                         validate=validate.Length(min=1, max=3),
                         metadata={"description": "Zone readings: 1-эт, 2-эт, 3-эт"})
    rolled_over = fields.Boolean(required=True)
    source = fields.String(required=True, validate=validate.OneOf(
        ("manual", "photo", "automatic", "inspector", "estimated")))
    submitted_at = fields.AwareDateTime(required=True)


@contract("readings", "reading_reminder_due")
class ReadingReminderDue(Schema):
    """The reading window closes soon and this account has a meter without a reading for the
    period; the accounts service turns it into a notice to the account's users."""

    account_id = fields.Integer(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)
    period = fields.String(required=True, validate=PERIOD)
    window_end = fields.Date(required=True)
    meter_serials = fields.List(fields.String(), required=True)


@contract("readings", "photo_job_queued")
class PhotoJobQueued(Schema):
    """A bill photo was uploaded and waits to be read: the readings OCR workers take it from
    their durable work queue (``readings.ocr_jobs``, bound to this event). The photo stays in
    readings' database; the job's owner polls GET /accounts/{id}/readings/photo/{job_id}."""

    job_id = fields.String(required=True)
    account_id = fields.Integer(required=True)
