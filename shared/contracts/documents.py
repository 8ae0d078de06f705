"""Events of the documents service (exchange ``documents.events``): bills formed, and the
documents customers submit for the tariff tiers and exemptions (the social norm's successor).

Each event names the account by its number and branch (as billing knows it) and by the
portal's id, so billing files it and the accounts service turns it into a notice.
"""
from marshmallow import Schema, fields, validate

from shared.contracts.billing import TARIFF_CATEGORIES
from shared.contracts.rules import PERIOD, Money, Pattern
from shared.events import contract

DOCUMENT_STATUSES = ("submitted", "under_review", "accepted", "rejected", "withdrawn")


class AccountRef(Schema):
    account_id = fields.Integer(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)


@contract("documents", "bill_formed")
class BillFormed(AccountRef):
    """A bill (PDF with the payment QR code) was formed for an account and a month; with an
    ``email``, for paperless delivery to that customer (the accounts service sends it)."""

    period = fields.String(required=True, validate=PERIOD)
    content_hash = fields.String(required=True, validate=Pattern(r"^[0-9a-f]{64}$", "64 hex digits"),
                                 metadata={"description": "SHA-256 naming the PDF's content"})
    total_due = Money(required=True, signed=True)
    due_date = fields.Date(required=True)
    user_id = fields.String(allow_none=True, load_default=None,
                            metadata={"description": "The customer it is delivered to"})
    email = fields.Email(allow_none=True, load_default=None)


class DocumentData(AccountRef):
    document_id = fields.Integer(required=True)
    user_id = fields.String(required=True, metadata={"description": "Who submitted it"})
    doc_type = fields.String(required=True, metadata={
        "description": "Code of the document type (services/documents/document_types.json)"})
    doc_type_title = fields.String(required=True, metadata={"description": "Its title"})


@contract("documents", "document_submitted")
class DocumentSubmitted(DocumentData):
    """A customer submitted a document (a scan or photo) for the tariff tiers or an
    exemption; it waits for an operator's review."""

    filename = fields.String(required=True)
    content_type = fields.String(required=True, validate=validate.OneOf(
        ("image/jpeg", "image/png", "application/pdf")))
    size = fields.Integer(required=True, validate=validate.Range(min=1))
    submitted_at = fields.AwareDateTime(required=True)


@contract("documents", "document_status_changed")
class DocumentStatusChanged(DocumentData):
    """A document moved on: opened by an operator (under_review), accepted (maybe with the
    account's new ``tariff_category``), rejected with a reason, or withdrawn by the customer."""

    old_status = fields.String(required=True, validate=validate.OneOf(DOCUMENT_STATUSES))
    status = fields.String(required=True, validate=validate.OneOf(DOCUMENT_STATUSES))
    reason = fields.String(allow_none=True, load_default=None)
    tariff_category = fields.String(allow_none=True, load_default=None,
                                    validate=validate.OneOf(TARIFF_CATEGORIES))
    actor_role = fields.String(required=True, validate=validate.OneOf(("customer", "operator")))
    actor_id = fields.String(required=True)
    changed_at = fields.AwareDateTime(required=True)
